"""Intake's own database: projections of the registry, certificates and CoC Documents, and the record
of every plant event it answered. Every call runs in the batch's transaction (`session=tx.session`)."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any
from uuid import UUID

from pymongo import ASCENDING, DeleteOne, InsertOne, ReplaceOne, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from contracts import topics
from contracts.common import Reason
from contracts.ledger import CoCDocument
from contracts.plant import MaterialReceived, PlantEventCancelled
from contracts.registry import Certificate, Member, Site
from libs.messaging import Tx
from libs.mongo import from_document, to_document
from services.intake.domain.intake import PlantEvent
from services.intake.domain.model import DocumentState, EventRecord, Status, Wait, World

SITES, MEMBERS, CERTIFICATES, DOCUMENTS = "sites", "members", "certificates", "coc_documents"
EVENTS, HELD = "plant_events", "held_events"
"""Decided events (only the `_id` index: the hot path) and held events with what they wait for."""
_seq = itertools.count(time.time_ns())


async def ensure_indexes(db: AsyncDatabase[dict[str, Any]]) -> None:
    await db[CERTIFICATES].create_index("organisation_id")
    await db[HELD].create_index("waiting")
    await db[HELD].create_index("next_check_at")
    await db[HELD].create_index("retry_until")


# ---- plant events: load the world a batch needs, write back what changed -------------------------


async def load_world(tx: Tx, events: Sequence[PlantEvent], *, fresh: bool = False) -> World:
    """Everything the batch reads, in at most six `$in` queries. `fresh`: the events come straight
    from the topic, past the runtime's inbox, so none has a record yet (the inbox and the records are
    written in the same transaction): only the events they correct or cancel are looked up."""
    world = World()
    event_ids = set() if fresh else {str(e.event_id) for e in events}
    for e in events:
        target = e.cancels_event_id if isinstance(e, PlantEventCancelled) else e.corrects_event_id
        if target is not None:
            event_ids.add(str(target))
    for collection in (EVENTS, HELD) if event_ids else ():
        async for doc in tx.db[collection].find({"_id": {"$in": list(event_ids)}}, session=tx.session):
            record = _record(doc)
            world.events[record.event_id] = record
    document_ids = {e.coc_document_id for e in events if isinstance(e, MaterialReceived) and e.coc_document_id}
    document_ids |= {r.document_id for r in world.events.values() if r.document_id}
    if document_ids:
        async for doc in tx.db[DOCUMENTS].find({"_id": {"$in": list(document_ids)}}, session=tx.session):
            received = doc.pop("received_kg", Decimal(0))
            world.documents[doc["_id"]] = DocumentState(from_document(CoCDocument, doc), received)  # type: ignore[arg-type]
    suppliers = {e.supplier_organisation_id for e in events if isinstance(e, MaterialReceived) and e.coc_document_id}
    issuers = {d.document.issuer_organisation_id for d in world.documents.values()}
    if issuers:
        async for doc in tx.db[CERTIFICATES].find({"organisation_id": {"$in": list(issuers)}}, session=tx.session):
            certificate = from_document(Certificate, doc)
            assert certificate is not None
            world.certificates.setdefault(certificate.organisation_id, []).append(certificate)
    if suppliers:
        world.members = {
            doc["_id"] async for doc in tx.db[MEMBERS].find({"_id": {"$in": list(suppliers)}}, {"_id": 1},
                                                             session=tx.session)
        }
    site_ids = list({e.site_id for e in events})
    async for doc in tx.db[SITES].find({"_id": {"$in": site_ids}}, session=tx.session):
        site = from_document(Site, doc)
        assert site is not None
        world.sites[site.site_id] = site
    return world


async def save_world(tx: Tx, world: World) -> None:
    inserts: list[dict[str, Any]] = []
    events: list[Any] = []
    held: list[Any] = []
    for record in world.events.values():
        if not record.dirty:
            continue
        doc = _record_document(record)
        was, now_held = record.stored_as, record.status is Status.HELD
        if was is Status.HELD and not now_held:
            held.append(DeleteOne({"_id": doc["_id"]}))
        if now_held:
            held.append(ReplaceOne({"_id": doc["_id"]}, doc) if was is Status.HELD else InsertOne(doc))
        elif was is None or was is Status.HELD:
            inserts.append(doc)
        else:
            events.append(ReplaceOne({"_id": doc["_id"]}, doc))
        record.stored_as, record.dirty = record.status, False
    if inserts:
        await tx.db[EVENTS].insert_many(inserts, ordered=False, session=tx.session)
    if events:
        await tx.db[EVENTS].bulk_write(events, ordered=False, session=tx.session)
    if held:
        await tx.db[HELD].bulk_write(held, ordered=True, session=tx.session)
    documents = [
        UpdateOne({"_id": document_id}, {"$set": {"received_kg": state.received_kg}})
        for document_id, state in world.documents.items() if state.dirty
    ]
    if documents:
        await tx.db[DOCUMENTS].bulk_write(documents, ordered=False, session=tx.session)
        for state in world.documents.values():
            state.dirty = False


def _record_document(record: EventRecord) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "_id": str(record.event_id), "site_id": record.site_id, "type": record.type, "status": record.status.value,
    }
    if record.document_id:
        doc["document_id"], doc["coc_kg"] = record.document_id, record.coc_kg
    if record.closed_by:
        doc["closed_by"] = str(record.closed_by)
    if record.status is Status.HELD and record.event is not None:
        doc |= {
            "event": topics.PLANT_EVENTS.encode(record.event).decode(),
            "waiting": [w.key for w in record.waits],
            "waits": [{"key": w.key, **w.reason.model_dump(mode="json")} for w in record.waits],
            "held_since": record.held_since, "retry_until": record.retry_until,
            "next_check_at": record.next_check_at,
        }
        if record.order is None:
            record.order = next(_seq)
        doc["seq"] = record.order
    return doc


def _record(doc: dict[str, Any]) -> EventRecord:
    held = doc["status"] == Status.HELD.value
    return EventRecord(
        event_id=UUID(doc["_id"]), site_id=doc["site_id"], type=doc["type"], status=Status(doc["status"]),
        document_id=doc.get("document_id"), coc_kg=doc.get("coc_kg", Decimal(0)),
        closed_by=UUID(doc["closed_by"]) if doc.get("closed_by") else None,
        event=topics.PLANT_EVENTS.parse(doc["event"]) if held else None,
        waits=[Wait(w["key"], Reason(code=w["code"], message=w["message"], field=w.get("field")))
               for w in doc.get("waits", [])],
        held_since=doc.get("held_since"), retry_until=doc.get("retry_until"), next_check_at=doc.get("next_check_at"),
        order=doc.get("seq"), stored_as=Status(doc["status"]), dirty=False,
    )


async def held_waiting_for(tx: Tx, keys: Iterable[str], limit: int) -> list[PlantEvent]:
    """Held events waiting for any of these dependency keys, oldest first."""
    keys = list(set(keys))
    if not keys:
        return []
    cursor = tx.db[HELD].find({"waiting": {"$in": keys}}, {"event": 1}, session=tx.session)
    return await _events(cursor.sort([("seq", ASCENDING)]).limit(limit))


async def held_due(tx: Tx, limit: int) -> list[PlantEvent]:
    """Held events due for a re-check or past their deadline, oldest first."""
    query = {"$or": [{"next_check_at": {"$lte": tx.now}}, {"retry_until": {"$lte": tx.now}}]}
    cursor = tx.db[HELD].find(query, {"event": 1}, session=tx.session)
    return await _events(cursor.sort([("seq", ASCENDING)]).limit(limit))


async def _events(cursor: Any) -> list[PlantEvent]:
    return [topics.PLANT_EVENTS.parse(doc["event"]) async for doc in cursor]  # type: ignore[misc]


# ---- projections ---------------------------------------------------------------------------------


async def project_members(tx: Tx, members: Sequence[Member]) -> None:
    if members:
        await tx.db[MEMBERS].bulk_write(
            [ReplaceOne({"_id": m.organisation_id}, to_document(m, _id=m.organisation_id), upsert=True)
             for m in members], ordered=True, session=tx.session)


async def project_sites(tx: Tx, sites: Sequence[Site]) -> None:
    if sites:
        await tx.db[SITES].bulk_write(
            [ReplaceOne({"_id": s.site_id}, to_document(s, _id=s.site_id), upsert=True) for s in sites],
            ordered=True, session=tx.session)


async def project_certificates(tx: Tx, certificates: Sequence[Certificate]) -> list[Certificate]:
    """Keep the highest revision of each certificate; return those that changed."""
    latest: dict[str, Certificate] = {}
    for c in certificates:
        if c.certificate_id not in latest or c.revision > latest[c.certificate_id].revision:
            latest[c.certificate_id] = c
    stored = {
        doc["_id"]: doc["revision"]
        async for doc in tx.db[CERTIFICATES].find({"_id": {"$in": list(latest)}}, {"revision": 1}, session=tx.session)
    }
    changed = [c for c in latest.values() if c.revision > stored.get(c.certificate_id, 0)]
    if changed:
        await tx.db[CERTIFICATES].bulk_write(
            [ReplaceOne({"_id": c.certificate_id}, to_document(c, _id=c.certificate_id), upsert=True)
             for c in changed], ordered=False, session=tx.session)
    return changed


async def project_documents(tx: Tx, documents: Sequence[CoCDocument]) -> None:
    """A document is immutable once issued: the first copy is kept, with its received mass."""
    if documents:
        await tx.db[DOCUMENTS].bulk_write(
            [UpdateOne({"_id": d.document_id},
                       {"$setOnInsert": to_document(d, received_kg=Decimal(0))}, upsert=True)
             for d in documents], ordered=False, session=tx.session)
