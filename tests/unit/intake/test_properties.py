"""Property-based tests: unit normalisation, and the two-party match whatever the order and
duplication."""

from __future__ import annotations

import uuid
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.common import MassUnit
from services.intake.domain.model import Status
from services.intake.domain.outcomes import ReceiptAccepted
from services.intake.domain.units import KG_RESOLUTION, to_kg
from tests.unit.intake.builders import NOW, cancelled, document, intake, received, world

quantities = st.decimals(
    min_value=Decimal("0.000000001"),
    max_value=Decimal("999999999"),
    places=9,
    allow_nan=False,
    allow_infinity=False,
)


@settings(max_examples=300, deadline=None)
@given(quantities)
def test_kilograms_and_tonnes_are_exact(q):
    assert to_kg(q, MassUnit.KG) == q
    assert to_kg(q, MassUnit.TONNE) == q * 1000
    assert to_kg(q, MassUnit.TONNE) / 1000 == q


@settings(max_examples=300, deadline=None)
@given(quantities)
def test_pounds_are_exact_to_the_microgram(q):
    kg = to_kg(q, MassUnit.POUND)
    exact = q * Decimal(
        "0.45359237"
    )  # Decimal's 28 digits hold this product exactly for these inputs
    assert abs(kg - exact) <= KG_RESOLUTION / 2
    assert kg.as_tuple().exponent >= -9
    if exact.as_tuple().exponent >= -9:
        assert kg == exact


@settings(max_examples=200, deadline=None)
@given(quantities, quantities)
def test_normalisation_is_monotonic_across_units(a, b):
    for unit in MassUnit:
        if a <= b:
            assert to_kg(a, unit) <= to_kg(b, unit)
    assert to_kg(a, MassUnit.POUND) <= to_kg(a, MassUnit.KG) <= to_kg(a, MassUnit.TONNE)


masses = st.integers(min_value=1, max_value=5000).map(Decimal)
operation = st.one_of(
    st.tuples(st.just("receive"), st.sampled_from(["DOC-1", "DOC-2"]), masses),
    st.tuples(st.just("correct"), st.integers(0, 30), masses),
    st.tuples(st.just("cancel"), st.integers(0, 30), st.just(Decimal(0))),
    st.tuples(st.just("redeliver"), st.integers(0, 30), st.just(Decimal(0))),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(operation, min_size=1, max_size=30), st.randoms(use_true_random=False))
def test_receipts_against_a_document_never_exceed_its_mass(operations, rnd):
    """Receipts, corrections, cancellations and redeliveries in any order: what stands against a
    document is exactly what its counter says, and never more than its mass."""
    gate = intake(world(document("DOC-1", mass="6000"), document("DOC-2", mass="2500")))
    inbox: set[uuid.UUID] = set()
    sent: list = []
    rnd.shuffle(operations)
    for kind, ref, mass in operations:
        if kind == "receive":
            event = received(coc_document_id=ref, quantity=str(mass))
        elif not sent:
            continue
        elif kind == "correct":
            target = sent[ref % len(sent)]
            event = received(
                coc_document_id=target.coc_document_id or "DOC-1",
                quantity=str(mass),
                corrects_event_id=target.event_id,
            )
        elif kind == "cancel":
            event = cancelled(sent[ref % len(sent)].event_id)
        else:
            event = sent[ref % len(sent)]  # the broker delivers it again
        if event.event_id in inbox:
            continue  # the runtime's inbox
        inbox.add(event.event_id)
        outcome = gate.apply(event, NOW)
        if hasattr(event, "coc_document_id"):
            sent.append(event)
        if isinstance(outcome, ReceiptAccepted):
            assert outcome.coc_kg <= outcome.matched_kg <= outcome.quantity_kg
    for document_id, state in gate.world.documents.items():
        standing = sum(
            (
                r.coc_kg
                for r in gate.world.events.values()
                if r.status is Status.ACCEPTED and r.document_id == document_id
            ),
            Decimal(0),
        )
        assert standing == state.received_kg
        assert 0 <= state.received_kg <= state.document.coc_mass_kg
