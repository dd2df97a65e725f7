"""An in-memory `IntakeStore` for handler tests (cosmicpython's FakeUnitOfWork), held to the same
store suite as the MongoDB adapter (store_suite.py) so the two cannot drift."""

from __future__ import annotations

import itertools
from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any, cast
from uuid import UUID

from contracts.ledger import CoCDocument
from contracts.plant import MaterialReceived, PlantEventCancelled
from contracts.registry import Certificate, Member, Site
from libs.messaging import Tx
from services.intake.domain.model import DocumentState, EventRecord, Status, World
from services.intake.domain.outcomes import PlantEvent


class FakeStore:
    """The whole database in dicts; `load` hands out copies, so only `save` changes the store."""

    def __init__(self) -> None:
        self.sites: dict[str, Site] = {}
        self.members: dict[str, Member] = {}
        self.certificates: dict[str, Certificate] = {}
        self.documents: dict[str, tuple[CoCDocument, Decimal]] = {}
        self.events: dict[UUID, EventRecord] = {}
        self.held: dict[UUID, EventRecord] = {}
        self._order = itertools.count()

    def __call__(self, tx: Tx) -> FakeStore:
        """The `StoreFor` port: one store, whatever the transaction."""
        return self

    async def load(self, events: Sequence[PlantEvent], *, fresh: bool) -> World:
        world = World()
        ids = set() if fresh else {e.event_id for e in events}
        ids |= {t for t in (_target(e) for e in events) if t is not None}
        for event_id in ids:
            record = self.held.get(event_id) or self.events.get(event_id)
            if record is not None:
                world.events[event_id] = replace(record, waits=list(record.waits))
        receipts = [e for e in events if isinstance(e, MaterialReceived) and e.coc_document_id]
        cited = {e.coc_document_id for e in receipts} | {
            r.document_id for r in world.events.values()
        }
        for document_id in cited & set(self.documents):
            document, received = self.documents[document_id]
            world.documents[document_id] = DocumentState(document, received)
        issuers = {d.document.issuer_organisation_id for d in world.documents.values()}
        for certificate in self.certificates.values():
            if certificate.organisation_id in issuers:
                world.certificates.setdefault(certificate.organisation_id, []).append(certificate)
        world.members = {e.supplier_organisation_id for e in receipts} & set(self.members)
        world.sites = {e.site_id: self.sites[e.site_id] for e in events if e.site_id in self.sites}
        return world

    async def save(self, world: World) -> None:
        for record in world.events.values():
            if record.dirty:
                self._write(record)
        for document_id, state in world.documents.items():
            if state.dirty and document_id in self.documents:
                self.documents[document_id] = (state.document, state.received_kg)
                state.dirty = False

    def _write(self, record: EventRecord) -> None:
        record.stored_as, record.dirty = record.status, False
        if record.status is Status.HELD:
            if record.order is None:
                record.order = next(self._order)
            self.held[record.event_id] = replace(record, waits=list(record.waits))
            return
        self.held.pop(record.event_id, None)
        self.events[record.event_id] = replace(
            record,
            event=None,
            waits=[],
            held_since=None,
            retry_until=None,
            next_check_at=None,
            order=None,
        )

    async def held_waiting_for(self, keys: Collection[str], limit: int) -> list[PlantEvent]:
        wanted = set(keys)
        return self._held(lambda r: any(w.key in wanted for w in r.waits), limit)

    async def held_due(self, now: datetime, limit: int) -> list[PlantEvent]:
        return self._held(
            lambda r: _reached(r.next_check_at, now) or _reached(r.retry_until, now), limit
        )

    def _held(self, selected: Any, limit: int) -> list[PlantEvent]:
        records = sorted(
            (r for r in self.held.values() if selected(r)), key=lambda r: cast(int, r.order)
        )
        return [cast(PlantEvent, r.event) for r in records[:limit]]

    async def save_members(self, members: Sequence[Member]) -> None:
        self.members.update((m.organisation_id, m) for m in members)

    async def save_sites(self, sites: Sequence[Site]) -> None:
        self.sites.update((s.site_id, s) for s in sites)

    async def save_certificates(self, certificates: Sequence[Certificate]) -> list[Certificate]:
        changed: dict[str, Certificate] = {}
        for certificate in certificates:
            stored = self.certificates.get(certificate.certificate_id)
            if stored is None or certificate.revision > stored.revision:
                self.certificates[certificate.certificate_id] = changed[
                    certificate.certificate_id
                ] = certificate
        return list(changed.values())

    async def save_documents(self, documents: Sequence[CoCDocument]) -> None:
        for document in documents:
            self.documents.setdefault(document.document_id, (document, Decimal(0)))


def _target(event: PlantEvent) -> UUID | None:
    return (
        event.cancels_event_id
        if isinstance(event, PlantEventCancelled)
        else event.corrects_event_id
    )


def _reached(moment: datetime | None, now: datetime) -> bool:
    return moment is not None and moment <= now
