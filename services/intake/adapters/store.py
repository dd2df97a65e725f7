"""Intake's own database: projections of the registry, certificates and CoC Documents, and the
record of every plant event it answered. `MongoStore` implements the `IntakeStore` port inside one
batch's transaction (every call passes `session=tx.session`)."""

from __future__ import annotations

import itertools
import time
from collections.abc import Collection, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, cast
from uuid import UUID

from pymongo import ASCENDING, DeleteOne, InsertOne, ReplaceOne, UpdateOne
from pymongo.asynchronous.cursor import AsyncCursor
from pymongo.asynchronous.database import AsyncDatabase

from contracts import topics
from contracts.common import Reason
from contracts.ledger import CoCDocument
from contracts.plant import MaterialReceived, PlantEventCancelled
from contracts.registry import Certificate, Member, Site
from libs.messaging import Tx
from libs.mongo import from_document, to_document
from services.intake.domain.model import DocumentState, EventRecord, Status, Wait, World
from services.intake.domain.outcomes import PlantEvent

SITES, MEMBERS, CERTIFICATES, DOCUMENTS = "sites", "members", "certificates", "coc_documents"
EVENTS, HELD = "plant_events", "held_events"
"""Decided events (only the `_id` index: the hot path) and held events with what they wait for."""
_seq = itertools.count(time.time_ns())
Doc = dict[str, Any]


async def ensure_indexes(db: AsyncDatabase[Doc]) -> None:
    await db[CERTIFICATES].create_index("organisation_id")
    await db[HELD].create_index("waiting")
    await db[HELD].create_index("next_check_at")
    await db[HELD].create_index("retry_until")


class MongoStore:
    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    def _find(self, collection: str, query: Doc, projection: Doc | None = None) -> AsyncCursor[Doc]:
        return self.tx.db[collection].find(query, projection, session=self.tx.session)

    # ---- plant events: load the world a batch needs, write back what changed ---------------------

    async def load(self, events: Sequence[PlantEvent], *, fresh: bool) -> World:
        """At most six `$in` queries."""
        world = World()
        await self._load_records(world, events, fresh=fresh)
        await self._load_documents(world, events)
        await self._load_members(world, events)
        async for doc in self._find(SITES, {"_id": {"$in": list({e.site_id for e in events})}}):
            site = cast(Site, from_document(Site, doc))
            world.sites[site.site_id] = site
        return world

    async def _load_records(
        self, world: World, events: Sequence[PlantEvent], *, fresh: bool
    ) -> None:
        event_ids = set() if fresh else {str(e.event_id) for e in events}
        event_ids |= {str(target) for target in map(_target, events) if target is not None}
        for collection in (EVENTS, HELD) if event_ids else ():
            async for doc in self._find(collection, {"_id": {"$in": list(event_ids)}}):
                record = _record(doc)
                world.events[record.event_id] = record

    async def _load_documents(self, world: World, events: Sequence[PlantEvent]) -> None:
        """The documents cited or matched by earlier records, and their issuers' certificates."""
        document_ids = {
            e.coc_document_id
            for e in events
            if isinstance(e, MaterialReceived) and e.coc_document_id
        }
        document_ids |= {r.document_id for r in world.events.values() if r.document_id}
        if document_ids:
            async for doc in self._find(DOCUMENTS, {"_id": {"$in": list(document_ids)}}):
                received = doc.pop("received_kg", Decimal(0))
                world.documents[doc["_id"]] = DocumentState(
                    cast(CoCDocument, from_document(CoCDocument, doc)), received
                )
        await self._load_certificates(world)

    async def _load_certificates(self, world: World) -> None:
        issuers = list({d.document.issuer_organisation_id for d in world.documents.values()})
        if issuers:
            async for doc in self._find(CERTIFICATES, {"organisation_id": {"$in": issuers}}):
                certificate = cast(Certificate, from_document(Certificate, doc))
                world.certificates.setdefault(certificate.organisation_id, []).append(certificate)

    async def _load_members(self, world: World, events: Sequence[PlantEvent]) -> None:
        suppliers = {
            e.supplier_organisation_id
            for e in events
            if isinstance(e, MaterialReceived) and e.coc_document_id
        }
        if suppliers:
            world.members = {
                doc["_id"]
                async for doc in self._find(MEMBERS, {"_id": {"$in": list(suppliers)}}, {"_id": 1})
            }

    async def save(self, world: World) -> None:
        inserts: list[Doc] = []
        replaces: list[Any] = []
        held: list[Any] = []
        for record in world.events.values():
            if record.dirty:
                _write(record, inserts, replaces, held)
        session = self.tx.session
        if inserts:
            await self.tx.db[EVENTS].insert_many(inserts, ordered=False, session=session)
        if replaces:
            await self.tx.db[EVENTS].bulk_write(replaces, ordered=False, session=session)
        if held:
            await self.tx.db[HELD].bulk_write(held, ordered=True, session=session)
        documents = [
            UpdateOne({"_id": document_id}, {"$set": {"received_kg": state.received_kg}})
            for document_id, state in world.documents.items()
            if state.dirty
        ]
        if documents:
            await self.tx.db[DOCUMENTS].bulk_write(documents, ordered=False, session=session)
            for state in world.documents.values():
                state.dirty = False

    async def held_waiting_for(self, keys: Collection[str], limit: int) -> list[PlantEvent]:
        if not keys:
            return []
        return await self._held({"waiting": {"$in": list(set(keys))}}, limit)

    async def held_due(self, now: datetime, limit: int) -> list[PlantEvent]:
        return await self._held(
            {"$or": [{"next_check_at": {"$lte": now}}, {"retry_until": {"$lte": now}}]}, limit
        )

    async def _held(self, query: Doc, limit: int) -> list[PlantEvent]:
        cursor = self._find(HELD, query, {"event": 1}).sort([("seq", ASCENDING)]).limit(limit)
        return [_plant_event(doc["event"]) async for doc in cursor]

    # ---- projections -----------------------------------------------------------------------------

    async def save_members(self, members: Sequence[Member]) -> None:
        if members:
            await self.tx.db[MEMBERS].bulk_write(
                [
                    ReplaceOne(
                        {"_id": m.organisation_id},
                        to_document(m, _id=m.organisation_id),
                        upsert=True,
                    )
                    for m in members
                ],
                ordered=True,
                session=self.tx.session,
            )

    async def save_sites(self, sites: Sequence[Site]) -> None:
        if sites:
            await self.tx.db[SITES].bulk_write(
                [
                    ReplaceOne({"_id": s.site_id}, to_document(s, _id=s.site_id), upsert=True)
                    for s in sites
                ],
                ordered=True,
                session=self.tx.session,
            )

    async def save_certificates(self, certificates: Sequence[Certificate]) -> list[Certificate]:
        latest = highest_revisions(certificates)
        stored = {
            doc["_id"]: doc["revision"]
            async for doc in self._find(
                CERTIFICATES, {"_id": {"$in": list(latest)}}, {"revision": 1}
            )
        }
        changed = [c for c in latest.values() if c.revision > stored.get(c.certificate_id, 0)]
        if changed:
            await self.tx.db[CERTIFICATES].bulk_write(
                [
                    ReplaceOne(
                        {"_id": c.certificate_id}, to_document(c, _id=c.certificate_id), upsert=True
                    )
                    for c in changed
                ],
                ordered=False,
                session=self.tx.session,
            )
        return changed

    async def save_documents(self, documents: Sequence[CoCDocument]) -> None:
        if documents:
            await self.tx.db[DOCUMENTS].bulk_write(
                [
                    UpdateOne(
                        {"_id": d.document_id},
                        {"$setOnInsert": to_document(d, received_kg=Decimal(0))},
                        upsert=True,
                    )
                    for d in documents
                ],
                ordered=False,
                session=self.tx.session,
            )


def highest_revisions(certificates: Sequence[Certificate]) -> dict[str, Certificate]:
    latest: dict[str, Certificate] = {}
    for c in certificates:
        if c.certificate_id not in latest or c.revision > latest[c.certificate_id].revision:
            latest[c.certificate_id] = c
    return latest


def _target(event: PlantEvent) -> UUID | None:
    return (
        event.cancels_event_id
        if isinstance(event, PlantEventCancelled)
        else event.corrects_event_id
    )


def _plant_event(raw: str) -> PlantEvent:
    return cast(PlantEvent, topics.PLANT_EVENTS.parse(raw))


def _write(record: EventRecord, inserts: list[Doc], replaces: list[Any], held: list[Any]) -> None:
    """Decided events live in `plant_events`, held ones in `held_events` until they are decided."""
    doc = _record_document(record)
    was, now_held = record.stored_as, record.status is Status.HELD
    if was is Status.HELD and not now_held:
        held.append(DeleteOne({"_id": doc["_id"]}))
    if now_held:
        held.append(ReplaceOne({"_id": doc["_id"]}, doc) if was is Status.HELD else InsertOne(doc))
    elif was is None or was is Status.HELD:
        inserts.append(doc)
    else:
        replaces.append(ReplaceOne({"_id": doc["_id"]}, doc))
    record.stored_as, record.dirty = record.status, False


def _record_document(record: EventRecord) -> Doc:
    doc: Doc = {
        "_id": str(record.event_id),
        "site_id": record.site_id,
        "type": record.type,
        "status": record.status.value,
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
            "held_since": record.held_since,
            "retry_until": record.retry_until,
            "next_check_at": record.next_check_at,
        }
        if record.order is None:
            record.order = next(_seq)
        doc["seq"] = record.order
    return doc


def _record(doc: Doc) -> EventRecord:
    held = doc["status"] == Status.HELD.value
    return EventRecord(
        event_id=UUID(doc["_id"]),
        site_id=doc["site_id"],
        type=doc["type"],
        status=Status(doc["status"]),
        document_id=doc.get("document_id"),
        coc_kg=doc.get("coc_kg", Decimal(0)),
        closed_by=UUID(doc["closed_by"]) if doc.get("closed_by") else None,
        event=_plant_event(doc["event"]) if held else None,
        waits=[
            Wait(w["key"], Reason(code=w["code"], message=w["message"], field=w.get("field")))
            for w in doc.get("waits", [])
        ],
        held_since=doc.get("held_since"),
        retry_until=doc.get("retry_until"),
        next_check_at=doc.get("next_check_at"),
        order=doc.get("seq"),
        stored_as=Status(doc["status"]),
        dirty=False,
    )
