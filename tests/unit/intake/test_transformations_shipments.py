"""Transformations against the declared yield, shipments, and what a site may produce."""

from __future__ import annotations

from decimal import Decimal

from contracts.intake import IntakeReason as R
from contracts.movements import MaterialShippedRecorded, MaterialTransformedRecorded
from services.intake.adapters import messages
from services.intake.domain.outcomes import Accepted
from tests.unit.intake.builders import NOW, intake, line, shipped, transformed
from tests.unit.intake.test_receipts import codes


def test_a_transformation_within_the_declared_yield_carries_the_factor():
    event = transformed(
        [line("aluminium", "20", "t", "slab")],
        [line("aluminium", "17", "t"), line("pre_consumer_scrap", "2.5", "t", "trim")],
    )
    outcome = intake().apply(event, NOW)
    assert isinstance(outcome, Accepted)
    m = messages.movement(outcome, NOW)
    assert isinstance(m, MaterialTransformedRecorded) and m.conversion_factor == Decimal("0.85")
    assert [o.quantity_kg for o in m.outputs] == [Decimal(17000), Decimal(2500)]


def test_product_beyond_the_declared_yield_is_refused():
    event = transformed([line("aluminium", "20000", form="slab")], [line("aluminium", "17000.001")])
    assert codes(intake().apply(event, NOW)) == [R.YIELD_EXCEEDED]


def test_outputs_with_scrap_may_not_create_mass():
    event = transformed(
        [line("aluminium", "20000", form="slab")],
        [line("aluminium", "17000"), line("pre_consumer_scrap", "3000.5")],
    )
    assert codes(intake().apply(event, NOW)) == [R.YIELD_EXCEEDED]


def test_a_step_without_a_declared_factor_is_refused():
    event = transformed(
        [line("aluminium", "100")], [line("aluminium", "90")], process_step="extrusion"
    )
    assert codes(intake().apply(event, NOW)) == [R.NO_DECLARED_YIELD]


def test_a_transformation_may_not_consume_or_produce_what_the_site_cannot():
    event = transformed([line("bauxite", "100")], [line("alumina", "40")])
    assert codes(intake().apply(event, NOW)) == [R.CATEGORY_NOT_ALLOWED, R.CATEGORY_NOT_ALLOWED]


def test_a_shipment_is_normalised_and_keeps_its_designation():
    outcome = intake().apply(shipped(quantity="11", coc_quantity="5", unit="t"), NOW)
    assert isinstance(outcome, Accepted)
    m = messages.movement(outcome, NOW)
    assert isinstance(m, MaterialShippedRecorded)
    assert m.quantity_kg == Decimal(11000) and m.coc_quantity_kg == Decimal(5000)


def test_a_designation_above_the_shipment_is_refused():
    assert codes(intake().apply(shipped(quantity="11", coc_quantity="11.5"), NOW)) == [
        R.COC_QUANTITY_EXCEEDS_SHIPMENT
    ]


def test_a_site_cannot_ship_what_it_cannot_produce():
    assert codes(intake().apply(shipped(material_category="alumina"), NOW)) == [
        R.CATEGORY_NOT_ALLOWED
    ]
