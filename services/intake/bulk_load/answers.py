"""Intake's answer to a row: accepted (a movement), refused (`PlantEventRejected`) or held
(`PlantEventHeld`), recorded on the row's result."""

from __future__ import annotations

from pydantic import ValidationError

from contracts import topics
from contracts.common import Envelope, Reason
from contracts.intake import PlantEventHeld, PlantEventRejected
from services.intake.bulk_load.report import FINAL, RowResult


def record_answer(topic: str, raw: bytes | None, by_id: dict[str, RowResult]) -> str | None:
    """Record intake's answer on the event's row; the event id it answered, if one of ours (and
    not already accepted or refused)."""
    try:
        message = topics.BY_NAME[topic].parse(raw or b"")
    except ValidationError:
        return None
    result = _open_row(by_id, _answered_event_id(message))
    if result is None:
        return None
    if isinstance(message, PlantEventHeld):
        _held(result, message)
    elif isinstance(message, PlantEventRejected):
        _refused(result, message.reasons)
    else:
        result.status, result.reasons, result.codes = "accepted", "", ()
    return result.event_id


def _answered_event_id(message: Envelope) -> str:
    """The plant event a message answers: the held or refused event, or the accepted movement's."""
    if isinstance(message, PlantEventHeld):
        return str(message.held_event_id)
    if isinstance(message, PlantEventRejected):
        return str(message.rejected_event_id)
    return str(getattr(message, "movement_id", ""))


def _open_row(by_id: dict[str, RowResult], event_id: str) -> RowResult | None:
    """The row of one of our events still open to an answer (not accepted or refused yet)."""
    result = by_id.get(event_id)
    return None if result is None or result.status in FINAL else result


def _held(result: RowResult, message: PlantEventHeld) -> None:
    result.status, result.codes = "held", tuple(r.code for r in message.waiting_for)
    result.reasons = _reasons(message.waiting_for)
    result.reasons += f" (intake decides by {message.retry_until.isoformat()})"


def _refused(result: RowResult, reasons: list[Reason]) -> None:
    result.status, result.codes = "refused", tuple(r.code for r in reasons)
    result.reasons = _reasons(reasons)


def _reasons(reasons: list[Reason]) -> str:
    return "; ".join(f"{r.code}: {r.message}" for r in reasons)
