"""Corrections and cancellations: which earlier event a plant event replaces or withdraws."""

from __future__ import annotations

from uuid import UUID

from contracts.intake import IntakeReason as R
from contracts.plant import PlantEventCancelled
from services.intake.domain.checks import Check
from services.intake.domain.keys import event_key
from services.intake.domain.model import EventRecord, Status
from services.intake.domain.outcomes import PlantEvent


def referenced(
    event: PlantEvent, events: dict[UUID, EventRecord], check: Check
) -> EventRecord | None:
    """The accepted event this one corrects or cancels (None: it refers to none, or to a refused
    event it is a fresh version of). A correction has the same type and site and replaces the event
    whole; an event stands until it is corrected or cancelled once; a reference to a held event
    waits for it."""
    cancelling = isinstance(event, PlantEventCancelled)
    if cancelling and event.corrects_event_id is not None:
        check.refuse(
            R.CORRECTION_TYPE_MISMATCH,
            "a cancellation cannot correct another event; cancel it instead",
            "corrects_event_id",
        )
    target_id = (
        event.cancels_event_id
        if isinstance(event, PlantEventCancelled)
        else event.corrects_event_id
    )
    if target_id is None:
        return None
    field = "cancels_event_id" if cancelling else "corrects_event_id"
    target = events.get(target_id)
    if target is None or target.site_id != event.site_id:
        check.refuse(
            R.UNKNOWN_EVENT_REFERENCE,
            f"no event {target_id} of site {event.site_id} is known",
            field,
        )
        return None
    if target.event_id == event.event_id:
        check.refuse(R.UNKNOWN_EVENT_REFERENCE, "an event cannot refer to itself", field)
        return None
    return _standing(event, target, field, check)


def _standing(
    event: PlantEvent, target: EventRecord, field: str, check: Check
) -> EventRecord | None:
    cancelling = isinstance(event, PlantEventCancelled)
    if not cancelling and target.type != event.type:
        check.refuse(
            R.CORRECTION_TYPE_MISMATCH,
            f"event {target.event_id} is a {target.type}; "
            f"a correction must have the same type, not {event.type}",
            field,
        )
        return None
    if target.status is Status.HELD:
        check.wait(
            event_key(target.event_id),
            R.REFERENCED_EVENT_NOT_ACCEPTED,
            f"event {target.event_id} is itself held; this one waits for its outcome",
            field,
        )
        return None
    if target.status is Status.REFUSED and not cancelling:
        return None  # correcting a refused event: evaluated as a fresh event
    if target.status is not Status.ACCEPTED:
        by = f" by {target.closed_by}" if target.closed_by else ""
        check.refuse(
            R.REFERENCED_EVENT_NOT_ACCEPTED,
            f"event {target.event_id} is {target.status.value}{by}; refer to the event that stands",
            field,
        )
        return None
    return target
