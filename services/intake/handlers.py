"""Intake's use cases: one function per incoming message type, chosen by a dispatch table.

The runtime hands each topic's batch to `IntakeHandlers.handle`, which groups the messages by use
case (plant events together, in arrival order) and calls each with the batch's store and messages
ports. Nothing here does I/O of its own: the store port reads and writes, the messages port builds
what is published after commit."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from contracts.certificates import CertificateChanged, MemberRegistered, SiteRegistered
from contracts.common import Envelope, Standard
from contracts.ledger import CoCDocumentIssued
from contracts.plant import (
    MaterialReceived,
    MaterialShipped,
    MaterialTransformed,
    PlantEventCancelled,
)
from libs.messaging import Incoming, Outgoing, Tx, paced
from services.intake.domain.intake import Intake
from services.intake.domain.keys import (
    certificates_key,
    document_key,
    event_key,
    member_key,
    site_key,
)
from services.intake.domain.outcomes import Held, PlantEvent
from services.intake.domain.rules import IntakeRules
from services.intake.ports import IntakeStore, Messages, StoreFor

MAX_RELEASE_ROUNDS = 20
"""Releasing held events can release others (a correction waiting for its held original): rounds per
batch."""


@dataclass
class Batch:
    """What one transaction's use cases share: its store, what they publish, what they released."""

    tx: Tx
    store: IntakeStore
    out: list[Outgoing] = field(default_factory=list)
    released: list[str] = field(default_factory=list)


UseCase = Callable[["IntakeHandlers", list[Any], Batch], Awaitable[None]]


class IntakeHandlers:
    """The batch handlers the runtime calls, with the rules they apply and the ports they use."""

    def __init__(
        self, rules: IntakeRules, store: StoreFor, messages: Messages, held_per_round: int = 500
    ) -> None:
        self.rules = rules
        self.store = store
        self.messages = messages
        self.held_per_round = held_per_round

    async def handle(self, batch: Sequence[Incoming], tx: Tx) -> list[Outgoing]:
        """Every consumed topic: messages grouped by use case in `DISPATCH` order, then what waited
        for the projected registry entries and documents is re-evaluated."""
        work = Batch(tx, self.store(tx))
        groups: dict[UseCase, list[Envelope]] = {use_case: [] for use_case in DISPATCH.values()}
        for item in batch:
            use_case = DISPATCH.get(type(item.message))
            if use_case is not None:
                groups[use_case].append(item.message)
        for use_case, messages in groups.items():
            if messages:
                await use_case(self, messages, work)
        await self.release(work.released, work)
        return work.out

    async def recheck_held(self, tx: Tx) -> list[Outgoing]:
        """Tick: re-evaluate held events that are due, and refuse those past their deadline."""
        work = Batch(tx, self.store(tx))
        await self.decide(await work.store.held_due(tx.now, self.held_per_round), work)
        return work.out

    def on_conflict(self, item: Incoming, now: datetime) -> list[Outgoing]:
        """The same event id came back with other content: refuse it, the first version stands."""
        event = cast(PlantEvent, item.message)
        return [self.messages.conflict(event, item.digest, now)]

    # ---- use cases ------------------------------------------------------------------------------

    async def plant_events_reported(self, events: list[PlantEvent], work: Batch) -> None:
        """First delivery of each (past the runtime's inbox): none has a record yet."""
        await self.decide(events, work, fresh=True)

    async def members_registered(self, messages: list[MemberRegistered], work: Batch) -> None:
        await work.store.save_members([m.member for m in messages])
        work.released += [member_key(m.member.organisation_id) for m in messages]

    async def sites_registered(self, messages: list[SiteRegistered], work: Batch) -> None:
        await work.store.save_sites([m.site for m in messages])
        work.released += [site_key(m.site.site_id) for m in messages]

    async def certificates_changed(self, messages: list[CertificateChanged], work: Batch) -> None:
        changed = await work.store.save_certificates([m.certificate for m in messages])
        work.released += [
            certificates_key(c.organisation_id)
            for c in changed
            if c.standard is Standard.CHAIN_OF_CUSTODY
        ]

    async def coc_documents_issued(self, messages: list[CoCDocumentIssued], work: Batch) -> None:
        await work.store.save_documents([m.document for m in messages])
        work.released += [document_key(m.document.document_id) for m in messages]

    # ---- deciding -------------------------------------------------------------------------------

    async def release(self, keys: Sequence[str], work: Batch) -> None:
        """Re-evaluate the held events waiting for what just arrived."""
        if keys:
            await self.decide(await work.store.held_waiting_for(keys, self.held_per_round), work)

    async def decide(
        self, events: Sequence[PlantEvent], work: Batch, *, fresh: bool = False
    ) -> None:
        """Apply events in order against state loaded in one go; then release what they held up."""
        pending = list(events)
        for round_ in range(MAX_RELEASE_ROUNDS):
            if not pending:
                break
            resolved = await self._round(pending, work, fresh=fresh and round_ == 0)
            pending = (
                await work.store.held_waiting_for(resolved, self.held_per_round) if resolved else []
            )

    async def _round(self, events: Sequence[PlantEvent], work: Batch, *, fresh: bool) -> list[str]:
        """One load, the decisions (while the runtime writes the batch's inbox records), one save.
        Returns the keys of held events that were decided."""
        world = await work.store.load(events, fresh=fresh)
        gate = Intake(world, self.rules)
        now = work.tx.now
        resolved: list[str] = []
        async with work.tx.computing():
            async for event in paced(events):
                was_held = gate.is_held(event.event_id)
                outcome = gate.apply(event, now)
                answer = self.messages.answer(outcome, now)
                if answer is not None:
                    work.out.append(answer)
                if was_held and not isinstance(outcome, Held):
                    resolved.append(event_key(event.event_id))
        await work.store.save(world)
        return resolved


DISPATCH: dict[type[Envelope], UseCase] = {
    # What plant events depend on comes first, so a mixed batch decides against it.
    MemberRegistered: IntakeHandlers.members_registered,
    SiteRegistered: IntakeHandlers.sites_registered,
    CertificateChanged: IntakeHandlers.certificates_changed,
    CoCDocumentIssued: IntakeHandlers.coc_documents_issued,
    MaterialReceived: IntakeHandlers.plant_events_reported,
    MaterialTransformed: IntakeHandlers.plant_events_reported,
    MaterialShipped: IntakeHandlers.plant_events_reported,
    PlantEventCancelled: IntakeHandlers.plant_events_reported,
}
"""Incoming message type -> use case. Types not listed (other ledger and certificate events) are
ignored."""
