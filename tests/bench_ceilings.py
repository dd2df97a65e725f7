"""The two ceilings every service figure is compared with, measured on the same stack in the same run."""

from __future__ import annotations

import asyncio
import time
import uuid
from decimal import Decimal
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from libs.embedded import ensure_topics
from libs.mongo import database, mongo_client

SAMPLE_VALUE = (
    b'{"event_id":"7c0d1f6e-3a63-4b7e-9a55-0e1b3c2d4f5a","schema_version":1,"occurred_at":"2026-06-01T12:00:00Z",'
    b'"correlation_id":"0b5e2c3a-1d4f-4e6a-8b7c-9d0e1f2a3b4c","causation_id":null,"actor":{"organisation_id":'
    b'"org-smelter","role":"producer"},"site_id":"site-smelter","corrects_event_id":null,"type":"material_received",'
    b'"received_on":"2026-05-30","supplier_organisation_id":"org-refinery","supplier_site_id":"site-refinery",'
    b'"material_category":"alumina","product_form":"powder","quantity":"25000","unit":"kg","coc_document_id":null,'
    b'"due_diligence_reference":"dd-1","due_diligence_status":"passed"}'
)


async def broker_ceiling(bootstrap: str, messages: int = 50_000) -> dict[str, float]:
    """Raw produce rate (acks=all) and consume rate (one consumer group) of plant-event-sized records."""
    topic = f"bench.ceiling.{uuid.uuid4().hex[:6]}"
    await ensure_topics(bootstrap, [topic], partitions=4)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False, acks="all", linger_ms=5)
    await producer.start()
    started = time.perf_counter()
    futures = [await producer.send(topic, SAMPLE_VALUE, key=f"site-{i % 40}".encode()) for i in range(messages)]
    await asyncio.gather(*futures)
    produce_s = time.perf_counter() - started
    await producer.stop()
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=f"ceiling-{topic}",
                                auto_offset_reset="earliest", enable_auto_commit=False,
                                session_timeout_ms=2000, heartbeat_interval_ms=300)
    await consumer.start()
    seen, first = 0, None
    while seen < messages:
        batch = await consumer.getmany(timeout_ms=500, max_records=2000)
        if batch and first is None:
            first = time.perf_counter()
        seen += sum(len(records) for records in batch.values())
        if batch:
            await consumer.commit()
    consume_s = time.perf_counter() - (first or time.perf_counter())
    await consumer.stop()
    return {"produce_per_s": messages / produce_s, "consume_per_s": messages / max(consume_s, 1e-9)}


async def database_ceiling(mongodb_uri: str, documents_per_event: list[dict[str, Any]], *, events: int = 20_000,
                           batch: int = 500) -> dict[str, float]:
    """Batched-transaction write rate for the documents a service writes per event, with no logic:
    `documents_per_event` is a template list of (collection name, document) shapes."""
    client = mongo_client(mongodb_uri, "bench-ceiling")
    db = database(client, f"bench_ceiling_{uuid.uuid4().hex[:6]}")
    for template in documents_per_event:
        for field in template.get("unique", []):
            await db[template["collection"]].create_index(field, unique=True)
    started = time.perf_counter()
    for first in range(0, events, batch):
        async with client.start_session() as session:
            async with await session.start_transaction():
                ids = [uuid.uuid4().hex for _ in range(first, min(first + batch, events))]
                for template in documents_per_event:
                    if template.get("per_batch"):
                        await db[template["collection"]].insert_one(
                            {**template["document"], "items": [{"id": i, **template.get("item", {})} for i in ids]},
                            session=session)
                    else:
                        await db[template["collection"]].insert_many(
                            [{"_id": f"{template['collection']}:{i}", **template["document"]} for i in ids],
                            session=session, ordered=False)
    elapsed = time.perf_counter() - started
    await client.drop_database(db.name)
    await client.close()
    return {"events_per_s": events / elapsed}


INTAKE_DOCUMENTS: list[dict[str, Any]] = [
    # What intake writes per accepted plant event: its inbox record, its own event record, and its
    # share of the batch's outbox document (one movement per event).
    {"collection": "inbox", "document": {"h": "0" * 64, "t": "plant.events.v1"}},
    {"collection": "events", "document": {"site_id": "site-smelter", "quantity_kg": Decimal("25000"),
                                          "status": "accepted", "hash": "0" * 64}},
    {"collection": "outbox", "per_batch": True, "document": {"owner": "bench", "seq": 1},
     "item": {"topic": "material.movements.v1", "key": b"site-smelter", "value": SAMPLE_VALUE}},
]
