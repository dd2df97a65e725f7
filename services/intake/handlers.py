"""Use cases of the intake service: thin functions that load state, let the domain decide, write back."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from contracts.certificates import CertificateChanged, MemberRegistered, SiteRegistered
from contracts.common import Reason, Standard, derived_event_id
from contracts.intake import IntakeReason, PlantEventRejected
from contracts.ledger import CoCDocumentIssued
from libs.messaging import Incoming, Outgoing, Tx, content_hash, paced
from services.intake.adapters import store
from services.intake.domain.intake import (
    ACTOR,
    Accepted,
    Held,
    Intake,
    PlantEvent,
    certificates_key,
    document_key,
    event_key,
    member_key,
    site_key,
)
from services.intake.domain.model import Status
from services.intake.domain.rules import IntakeRules

MAX_RELEASE_ROUNDS = 20


class IntakeHandlers:
    """The batch handlers the runtime calls, with the rules they apply."""

    def __init__(self, rules: IntakeRules, held_per_round: int = 500) -> None:
        self.rules = rules
        self.held_per_round = held_per_round

    async def handle_plant_events(self, batch: Sequence[Incoming], tx: Tx) -> list[Outgoing]:
        return await self.decide([item.message for item in batch], tx, fresh=True)  # type: ignore[misc]

    async def handle_certificates_events(self, batch: Sequence[Incoming], tx: Tx) -> list[Outgoing]:
        members, sites, certificates = [], [], []
        for item in batch:
            message = item.message
            if isinstance(message, MemberRegistered):
                members.append(message.member)
            elif isinstance(message, SiteRegistered):
                sites.append(message.site)
            elif isinstance(message, CertificateChanged):
                certificates.append(message.certificate)
        await store.project_members(tx, members)
        await store.project_sites(tx, sites)
        changed = await store.project_certificates(tx, certificates)
        keys = [member_key(m.organisation_id) for m in members] + [site_key(s.site_id) for s in sites]
        keys += [certificates_key(c.organisation_id) for c in changed if c.standard is Standard.CHAIN_OF_CUSTODY]
        return await self.release(keys, tx)

    async def handle_ledger_events(self, batch: Sequence[Incoming], tx: Tx) -> list[Outgoing]:
        documents = [item.message.document for item in batch if isinstance(item.message, CoCDocumentIssued)]
        await store.project_documents(tx, documents)
        return await self.release([document_key(d.document_id) for d in documents], tx)

    async def recheck_held(self, tx: Tx) -> list[Outgoing]:
        """Tick: re-evaluate held events that are due, and refuse those past their deadline."""
        return await self.decide(await store.held_due(tx, self.held_per_round), tx)

    async def release(self, keys: Sequence[str], tx: Tx) -> list[Outgoing]:
        """Re-evaluate the held events waiting for what just arrived."""
        if not keys:
            return []
        return await self.decide(await store.held_waiting_for(tx, keys, self.held_per_round), tx)

    async def decide(self, events: Sequence[PlantEvent], tx: Tx, *, fresh: bool = False) -> list[Outgoing]:
        """Apply events in order against state loaded in one go; then release what waited for them.
        `fresh`: first delivery of each event (past the inbox), so none has a record yet."""
        out: list[Outgoing] = []
        pending = list(events)
        for round_ in range(MAX_RELEASE_ROUNDS):
            if not pending:
                break
            world = await store.load_world(tx, pending, fresh=fresh and round_ == 0)
            intake = Intake(world, self.rules)
            resolved: list[str] = []
            async with tx.computing():  # the batch's inbox records are written meanwhile
                async for event in paced(pending):
                    before = world.events.get(event.event_id)
                    was_held = before is not None and before.status is Status.HELD
                    outcome = intake.apply(event, tx.now)
                    if isinstance(outcome, Held):
                        if outcome.notice is not None:
                            out.append(Outgoing(outcome.notice))
                        continue
                    out.append(Outgoing(outcome.movement if isinstance(outcome, Accepted) else outcome.rejection))
                    if was_held:
                        resolved.append(event_key(event.event_id))
            await store.save_world(tx, world)
            pending = await store.held_waiting_for(tx, resolved, self.held_per_round) if resolved else []
        return out


def on_conflict(item: Incoming, now: Any) -> list[Outgoing]:
    """The same event id came back with other content: refuse it, the first version stands."""
    event: Any = item.message
    reason = Reason(code=IntakeReason.EVENT_ID_CONFLICT,
                    message=f"event id {event.event_id} was already used with different content; the first stands")
    return [Outgoing(PlantEventRejected.create(
        actor=ACTOR, occurred_at=now, cause=event,
        event_id=derived_event_id(event.event_id, "conflict", content_hash(event)),
        site_id=event.site_id, rejected_event_id=event.event_id, rejected_event_type=event.type,
        reasons=[reason], message=reason.message,
    ))]
