"""Corrections and cancellations, and how they free a document's matched mass."""

from __future__ import annotations

from decimal import Decimal

from contracts.intake import IntakeReason as R
from contracts.movements import MaterialReceivedRecorded, MovementCancelled
from services.intake.adapters import messages
from services.intake.domain.model import Status
from services.intake.domain.outcomes import Accepted, Held
from tests.unit.intake.builders import (
    NOW,
    cancelled,
    document,
    intake,
    later,
    received,
    shipped,
    world,
)
from tests.unit.intake.test_receipts import codes, movement


def test_a_correction_replaces_the_receipt_and_frees_its_document_mass():
    gate = intake(world(document(mass="10000")))
    first = received(quantity="10000")
    movement(gate.apply(first, NOW))
    fix = received(quantity="9000", corrects_event_id=first.event_id)
    m = movement(gate.apply(fix, NOW))
    assert m.corrects_movement_id == first.event_id and m.coc_quantity_kg == Decimal(9000)
    assert gate.world.documents["DOC-1"].received_kg == Decimal(9000)
    assert gate.world.events[first.event_id].status is Status.SUPERSEDED


def test_a_refused_correction_leaves_the_original_standing():
    gate = intake()
    first = received(quantity="4000")
    gate.apply(first, NOW)
    assert R.DATE_IN_FUTURE in codes(
        gate.apply(received(corrects_event_id=first.event_id, received_on=later(72).date()), NOW)
    )
    assert gate.world.events[first.event_id].status is Status.ACCEPTED
    assert gate.world.documents["DOC-1"].received_kg == Decimal(4000)


def test_an_event_can_be_corrected_only_once_and_only_by_its_own_type():
    gate = intake()
    first = received()
    gate.apply(first, NOW)
    assert codes(gate.apply(shipped(corrects_event_id=first.event_id), NOW)) == [
        R.CORRECTION_TYPE_MISMATCH
    ]
    gate.apply(received(corrects_event_id=first.event_id), NOW)
    assert codes(gate.apply(received(corrects_event_id=first.event_id), NOW)) == [
        R.REFERENCED_EVENT_NOT_ACCEPTED
    ]


def test_a_correction_of_an_unknown_event_or_another_sites_event_is_refused():
    import uuid

    assert codes(intake().apply(received(corrects_event_id=uuid.uuid4()), NOW)) == [
        R.UNKNOWN_EVENT_REFERENCE
    ]
    gate = intake()
    first = received()
    gate.apply(first, NOW)
    assert R.UNKNOWN_EVENT_REFERENCE in codes(
        gate.apply(received(site_id="site-roll-2", corrects_event_id=first.event_id), NOW)
    )


def test_correcting_a_refused_event_is_evaluated_as_a_fresh_event():
    gate = intake()
    wrong = received(coc_document_id=None)
    gate.apply(wrong, NOW)
    m = movement(gate.apply(received(corrects_event_id=wrong.event_id), NOW))
    assert m.corrects_movement_id is None


def test_a_correction_of_a_held_event_waits_for_its_outcome():
    gate = intake(world())
    held = received()
    assert isinstance(gate.apply(held, NOW), Held)
    outcome = gate.apply(
        received(
            corrects_event_id=held.event_id, coc_document_id=None, due_diligence_status="passed"
        ),
        NOW,
    )
    assert isinstance(outcome, Held) and outcome.first
    assert outcome.waiting_for[0].code == R.REFERENCED_EVENT_NOT_ACCEPTED


def test_a_cancellation_withdraws_the_movement_and_frees_the_document():
    gate = intake(world(document(mass="10000")))
    first = received(quantity="10000")
    gate.apply(first, NOW)
    outcome = gate.apply(cancelled(first.event_id), NOW)
    assert isinstance(outcome, Accepted)
    cancellation = messages.movement(outcome, NOW)
    assert (
        isinstance(cancellation, MovementCancelled)
        and cancellation.cancelled_movement_id == first.event_id
    )
    assert gate.world.documents["DOC-1"].received_kg == 0
    assert codes(gate.apply(cancelled(first.event_id), NOW)) == [R.REFERENCED_EVENT_NOT_ACCEPTED]
    assert isinstance(gate.apply(received(quantity="10000"), NOW), Accepted)


def test_a_refused_event_cannot_be_cancelled_and_a_cancellation_corrects_nothing():
    gate = intake()
    wrong = received(coc_document_id=None)
    gate.apply(wrong, NOW)
    assert codes(gate.apply(cancelled(wrong.event_id), NOW)) == [R.REFERENCED_EVENT_NOT_ACCEPTED]
    ok = received()
    gate.apply(ok, NOW)
    assert R.CORRECTION_TYPE_MISMATCH in codes(
        gate.apply(cancelled(ok.event_id, corrects_event_id=ok.event_id), NOW)
    )


def test_a_correction_can_move_a_receipt_to_another_document():
    gate = intake(world(document("DOC-1", mass="5000"), document("DOC-2", mass="5000")))
    first = received(quantity="5000")
    gate.apply(first, NOW)
    m = movement(
        gate.apply(
            received(quantity="5000", coc_document_id="DOC-2", corrects_event_id=first.event_id),
            NOW,
        )
    )
    assert isinstance(m, MaterialReceivedRecorded) and m.coc_document_id == "DOC-2"
    assert gate.world.documents["DOC-1"].received_kg == 0
    assert gate.world.documents["DOC-2"].received_kg == Decimal(5000)
