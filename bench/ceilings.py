"""The two ceilings every service figure is compared with, measured on the same stack in the same run.

The database ceiling writes, in one transaction per batch of 500 (the services' batch size) and with
no logic and no reads, the documents a service writes per event. A template is one of:

* `{"collection", "document"}`: one document per event (`every: k`: one per k events);
* `{"collection", "outbox": items_of}`: one outbox document per batch holding `items_of(i)` for each event i;
* `{"collection", "replace_per_batch": n, "document"}`: n documents replaced per batch with a
  version check (accounting's balance documents: one per account the batch touched).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from pymongo import InsertOne, ReplaceOne

from devstack.embedded import ensure_topics
from libs.mongo import database, mongo_client

SAMPLE_VALUE = (
    b'{"event_id":"7c0d1f6e-3a63-4b7e-9a55-0e1b3c2d4f5a","schema_version":1,"occurred_at":"2026-06-01T12:00:00Z",'
    b'"correlation_id":"0b5e2c3a-1d4f-4e6a-8b7c-9d0e1f2a3b4c","causation_id":null,"actor":{"organisation_id":'
    b'"org-smelter","role":"producer"},"site_id":"site-smelter","corrects_event_id":null,"type":"material_received",'
    b'"received_on":"2026-05-30","supplier_organisation_id":"org-refinery","supplier_site_id":"site-refinery",'
    b'"material_category":"alumina","product_form":"powder","quantity":"25000","unit":"kg","coc_document_id":null,'
    b'"due_diligence_reference":"dd-1","due_diligence_status":"passed"}'
)
BATCH = 500


async def broker_ceiling(bootstrap: str, messages: int = 50_000) -> dict[str, float]:
    """Raw produce rate (acks=all) and consume rate (one consumer group) of plant-event-sized records."""
    topic = f"bench.ceiling.{uuid.uuid4().hex[:6]}"
    await ensure_topics(bootstrap, [topic], partitions=4)
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, enable_idempotence=False, acks="all", linger_ms=5
    )
    await producer.start()
    started = time.perf_counter()
    futures = [
        await producer.send(topic, SAMPLE_VALUE, key=f"site-{i % 40}".encode())
        for i in range(messages)
    ]
    await asyncio.gather(*futures)
    produce_s = time.perf_counter() - started
    await producer.stop()
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"ceiling-{topic}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        session_timeout_ms=2000,
        heartbeat_interval_ms=300,
    )
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


async def database_ceiling(
    mongodb_uri: str,
    documents_per_event: list[dict[str, Any]],
    *,
    events: int = 20_000,
    batch: int = BATCH,
) -> dict[str, float]:
    """Batched-transaction write rate for the documents a service writes per event, with no logic."""
    client = mongo_client(mongodb_uri, "bench-ceiling")
    db = database(client, f"bench_ceiling_{uuid.uuid4().hex[:6]}")
    versions: dict[str, int] = {}
    started = time.perf_counter()
    for first in range(0, events, batch):
        numbers = range(first, min(first + batch, events))
        async with client.start_session() as session, await session.start_transaction():
            for template in documents_per_event:
                collection = db[template["collection"]]
                if "outbox" in template:
                    items = [item for i in numbers for item in template["outbox"](i)]
                    await collection.insert_one(
                        {
                            "_id": uuid.uuid4().hex,
                            "owner": "bench",
                            "seq": first,
                            "created": time.time(),
                            "messages": items,
                        },
                        session=session,
                    )
                elif "replace_per_batch" in template:
                    writes: list[Any] = []
                    for k in range(min(template["replace_per_batch"], len(numbers))):
                        key = f"{template['collection']}:{k}"
                        version = versions.get(key, 0)
                        doc = {**template["document"], "_id": key, "version": version + 1}
                        writes.append(
                            ReplaceOne({"_id": key, "version": version}, doc)
                            if version
                            else InsertOne(doc)
                        )
                        versions[key] = version + 1
                    await collection.bulk_write(writes, ordered=True, session=session)
                else:
                    docs = [
                        {
                            "_id": f"{template['collection']}:{uuid.uuid4().hex}",
                            **template["document"],
                        }
                        for i in numbers
                        if i % template.get("every", 1) == 0
                    ]
                    if docs:
                        await collection.insert_many(docs, session=session, ordered=False)
    elapsed = time.perf_counter() - started
    await client.drop_database(db.name)
    await client.close()
    return {"events_per_s": events / elapsed}


INTAKE_DOCUMENTS: list[dict[str, Any]] = [
    # What intake writes per accepted plant event: its inbox record, its own event record, and its
    # share of the batch's outbox document (one movement per event).
    {"collection": "inbox", "document": {"h": "0" * 64, "t": "plant.events.v1"}},
    {
        "collection": "events",
        "document": {"site_id": "site-smelter", "type": "material_received", "status": "accepted"},
    },
    {
        "collection": "outbox",
        "outbox": lambda i: [
            {"topic": "material.movements.v1", "key": b"site-smelter", "value": SAMPLE_VALUE}
        ],
    },
]


def accounting_documents(accounts: int, designation_every: int) -> tuple[list[dict[str, Any]], str]:
    """What accounting writes per movement, as its own code builds it: the documents come from the
    domain (`Ledger.apply` of a receipt and of a designation) encoded by its store and its publisher.

    Per movement: the inbox record, the entry (`encoding.entry_doc`), the movement record
    (`encoding.movement_doc`), and its share of the batch's outbox (`LedgerEntryPosted`, plus a signed
    `CoCDocumentIssued` for one movement in `designation_every`); per batch: one balance document
    replaced (`encoding.account_doc`, version-checked) per account the batch touched, at most `accounts`.
    Lots are written only for CoC receipts that cite a document; the bench mix has none.
    """
    from contracts.common import Actor, Classification, MaterialCategory, ProcessStep, Role
    from contracts.movements import (
        MaterialReceivedRecorded,
        MaterialShippedRecorded,
        MaterialTransformedRecorded,
        MovementLine,
        Verification,
    )
    from libs.messaging import content_hash
    from services.accounting.adapters import encoding
    from services.accounting.adapters.messages import KafkaMessages
    from services.accounting.domain.ledger import Ledger
    from services.accounting.signing import Signer

    now = datetime.now(UTC)
    day = now.date() - timedelta(days=1)
    actor = Actor(organisation_id="intake", role=Role.SERVICE)
    common = {
        "actor": actor,
        "occurred_at": now,
        "site_id": "bench-site-remelter-0001",
        "organisation_id": "bench-org-remelter-0001",
    }
    receipt = MaterialReceivedRecorded.create(
        movement_id=uuid.uuid4(),
        received_on=day,
        supplier_organisation_id="uk-ubc-collectors",
        material_category=MaterialCategory.POST_CONSUMER_SCRAP,
        product_form="ubc-bales",
        quantity_kg=Decimal(20000),
        classification=Classification.ELIGIBLE_SCRAP,
        coc_quantity_kg=Decimal(20000),
        verification=Verification.NOT_APPLICABLE,
        due_diligence_reference="dd-1",
        due_diligence_status="passed",
        recycled_content_share=Decimal(1),
        **common,
    )
    shipment = MaterialShippedRecorded.create(
        movement_id=uuid.uuid4(),
        shipped_on=day,
        customer_organisation_id="bench-customer",
        material_category=MaterialCategory.ALUMINIUM,
        product_form="ingot",
        quantity_kg=Decimal(10000),
        coc_quantity_kg=Decimal(5000),
        shipment_reference="DN-1",
        **common,
    )
    # credits carry their material: the scrap credits become ingot credits through the reported remelt
    remelt = MaterialTransformedRecorded.create(
        movement_id=uuid.uuid4(),
        transformed_on=day,
        process_step=ProcessStep.REMELTING,
        inputs=[
            MovementLine(
                material_category=MaterialCategory.POST_CONSUMER_SCRAP,
                product_form="ubc-bales",
                quantity_kg=Decimal(20000),
            )
        ],
        outputs=[
            MovementLine(
                material_category=MaterialCategory.ALUMINIUM,
                product_form="ingot",
                quantity_kg=Decimal(19400),
            )
        ],
        conversion_factor=Decimal("0.97"),
        **common,
    )
    service = KafkaMessages(Signer.generate())
    ledger = Ledger(check_certificates=False)
    received = service.publish(ledger.apply(receipt, now), receipt, now)
    ledger.apply(remelt, now)
    shipped = service.publish(ledger.apply(shipment, now), shipment, now)
    assert type(shipped[-1].message).__name__ == "CoCDocumentIssued", shipped

    def encoded(outgoing: Any) -> dict[str, Any]:
        topic = outgoing.resolved_topic()
        return {
            "topic": topic.name,
            "key": topic.key_of(outgoing.message).encode(),
            "value": topic.encode(outgoing.message),
        }

    entry_posted = encoded(received[0])
    designation = [encoded(o) for o in shipped]

    def without_id(doc: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in doc.items() if k != "_id"}

    templates = [
        {
            "collection": "inbox",
            "document": {"h": content_hash(receipt), "t": "material.movements.v1"},
        },
        {"collection": "entries", "document": without_id(encoding.entry_doc(ledger.entries[0]))},
        {
            "collection": "movements",
            "document": without_id(
                encoding.movement_doc(ledger.movements[str(receipt.movement_id)])
            ),
        },
        {
            "collection": "accounts",
            "replace_per_batch": accounts,
            "document": without_id(encoding.account_doc(next(iter(ledger.accounts.values())), 1)),
        },
        {
            "collection": "outbox",
            "outbox": lambda i: (
                designation if i % designation_every == designation_every - 1 else [entry_posted]
            ),
        },
    ]
    what = (
        f"inbox + entry + movement record + outbox share per movement (1 in {designation_every} a signed "
        f"designation), {accounts} balance documents replaced per batch"
    )
    return templates, what


async def chain_ceiling(
    mongodb_uri: str,
    intake_templates: list[dict[str, Any]],
    accounting_templates: list[dict[str, Any]],
    *,
    events: int = 20_000,
) -> dict[str, float]:
    """The database's rate for the chain's documents: for the same `events`, intake's documents and
    accounting's documents written at the same time by two writers (one per service database, as
    the two services do) on the one server. Events per second until both are done."""
    started = time.perf_counter()
    await asyncio.gather(
        database_ceiling(mongodb_uri, intake_templates, events=events),
        database_ceiling(mongodb_uri, accounting_templates, events=events),
    )
    return {"events_per_s": events / (time.perf_counter() - started)}


def database_figures(intake_per_s: float, accounting_per_s: float) -> dict[str, float]:
    """Bounds the chain would have if the two services' documents were written by separate servers
    (the lower ceiling, optimistic here: the embedded stack and infra/ run one server) or one after
    the other on one server (series: no overlap at all); shown beside the measured chain ceiling."""
    return {
        "lower": min(intake_per_s, accounting_per_s),
        "series": 1 / (1 / intake_per_s + 1 / accounting_per_s),
    }
