"""The gate: decide one plant event at a time against the batch's state, in arrival order.

`Intake.apply` runs the checks of the event's kind (receipts.py, transformations.py, shipments.py;
references.py for corrections and cancellations), then changes the in-memory state (document
matches, superseded and cancelled events, held records) and returns the decision (outcomes.py)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from contracts.common import Reason
from contracts.intake import IntakeReason as R
from contracts.plant import MaterialReceived, MaterialShipped, MaterialTransformed
from contracts.registry import Site
from services.intake.domain.checks import Check, reporting_site
from services.intake.domain.model import EventRecord, Status, Wait, World
from services.intake.domain.outcomes import (
    Accepted,
    CancellationAccepted,
    Held,
    Outcome,
    PlantEvent,
    ReceiptAccepted,
    Refused,
)
from services.intake.domain.receipts import receipt
from services.intake.domain.references import referenced
from services.intake.domain.rules import IntakeRules
from services.intake.domain.shipments import shipment
from services.intake.domain.transformations import transformation


class Intake:
    def __init__(self, world: World, rules: IntakeRules) -> None:
        self.world = world
        self.rules = rules

    def apply(self, event: PlantEvent, now: datetime) -> Outcome:
        """Decide one event (new, or held and re-evaluated); a held event past its deadline is
        refused. Refusal beats waiting: what it waited for is listed among the reasons."""
        check = Check()
        site = reporting_site(event, self.world.sites, self.rules, check)
        replacing = referenced(event, self.world.events, check)
        accepted = self._checked(event, site, replacing, check, now)
        if check.reasons:
            return self._refuse(event, check.reasons + [w.reason for w in check.waits])
        if check.waits or accepted is None:
            return self._wait(event, check.waits, now)
        self._accept(accepted, replacing)
        return accepted

    def is_held(self, event_id: UUID) -> bool:
        return self._held(event_id) is not None

    def _checked(
        self,
        event: PlantEvent,
        site: Site | None,
        replacing: EventRecord | None,
        check: Check,
        now: datetime,
    ) -> Accepted | None:
        if isinstance(event, MaterialReceived):
            return receipt(event, site, replacing, self.world, self.rules, check, now)
        if isinstance(event, MaterialTransformed):
            return transformation(event, site, replacing, self.rules, check, now)
        if isinstance(event, MaterialShipped):
            return shipment(event, site, replacing, self.rules, check, now)
        if site is None or replacing is None:
            return None  # a cancellation refers to an accepted event, or the check refused or waits
        return CancellationAccepted(event=event, organisation_id=site.organisation_id)

    # ---- state changes ----------------------------------------------------------------------

    def _accept(self, accepted: Accepted, replacing: EventRecord | None) -> None:
        event = accepted.event
        cancelling = isinstance(accepted, CancellationAccepted)
        self._close(
            replacing, event.event_id, Status.CANCELLED if cancelling else Status.SUPERSEDED
        )
        if isinstance(accepted, ReceiptAccepted) and accepted.document_id is not None:
            self.world.documents[accepted.document_id].receive(accepted.matched_kg)
            self._record(
                event, Status.ACCEPTED, document_id=accepted.document_id, coc_kg=accepted.matched_kg
            )
        else:
            self._record(event, Status.ACCEPTED)

    def _close(self, target: EventRecord | None, by: UUID, status: Status) -> None:
        """What a correction replaces or a cancellation withdraws gives back its document mass."""
        if target is None:
            return
        if target.document_id is not None and target.coc_kg:
            self.world.documents[target.document_id].receive(-target.coc_kg)
        target.status, target.closed_by, target.dirty = status, by, True

    def _record(self, event: PlantEvent, status: Status, **values: object) -> EventRecord:
        record = self.world.events.get(event.event_id)
        if record is None:
            record = EventRecord(event.event_id, event.site_id, event.type, status)
            self.world.events[event.event_id] = record
        record.status, record.dirty = status, True
        record.event, record.waits = None, []
        record.held_since = record.retry_until = record.next_check_at = None
        for name, value in values.items():
            setattr(record, name, value)
        return record

    def _refuse(self, event: PlantEvent, reasons: list[Reason]) -> Refused:
        self._record(event, Status.REFUSED)
        return Refused(event, tuple(reasons))

    def _wait(self, event: PlantEvent, waits: list[Wait], now: datetime) -> Outcome:
        """Hold the event (announced the first time only); past its deadline it is refused."""
        held = self._held(event.event_id)
        if held is not None and held.retry_until is not None and now >= held.retry_until:
            timeout = Reason(
                code=R.DEPENDENCY_TIMEOUT,
                message="what the event depends on did not arrive by "
                f"{held.retry_until.isoformat()}",
            )
            return self._refuse(event, [timeout, *(w.reason for w in waits)])
        record = held or self._record(
            event, Status.HELD, held_since=now, retry_until=now + self.rules.hold_for
        )
        record.event, record.waits, record.dirty = event, waits, True
        record.next_check_at = now + self.rules.recheck_every
        retry_until = record.retry_until or now + self.rules.hold_for
        return Held(event, tuple(w.reason for w in waits), retry_until, first=held is None)

    def _held(self, event_id: UUID) -> EventRecord | None:
        record = self.world.events.get(event_id)
        return record if record is not None and record.status is Status.HELD else None
