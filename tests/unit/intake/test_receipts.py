"""Receipts: site and actor, quantities and dates, CoC Documents, scrap and due diligence."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from contracts.common import Actor, Classification, DueDiligenceStatus, Role
from contracts.intake import IntakeReason as R
from contracts.movements import MaterialReceivedRecorded, Verification
from contracts.registry import CertificateStatus
from services.intake.adapters import messages
from services.intake.domain.outcomes import Accepted, Held, Refused
from services.intake.domain.units import to_kg
from tests.unit.intake.builders import (
    NOW,
    REMELTER,
    ROLLER,
    SMELTER,
    certificate,
    document,
    intake,
    later,
    received,
    scrap,
    shipped,
    world,
)


def codes(outcome) -> list[str]:
    assert isinstance(outcome, Refused), outcome
    return [r.code for r in outcome.reasons]


def movement(outcome) -> MaterialReceivedRecorded:
    """The movement intake publishes for an accepted receipt (built by the messages adapter)."""
    assert isinstance(outcome, Accepted), outcome
    message = messages.movement(outcome, NOW)
    assert isinstance(message, MaterialReceivedRecorded)
    return message


def test_a_coc_receipt_against_a_matching_document_is_accepted_verified():
    event = received()
    m = movement(intake().apply(event, NOW))
    assert (
        m.movement_id == event.event_id and m.site_id == "site-roll" and m.organisation_id == ROLLER
    )
    assert (
        m.classification is Classification.COC_MATERIAL and m.verification is Verification.VERIFIED
    )
    assert m.quantity_kg == m.coc_quantity_kg == Decimal(4000)
    assert m.recycled_content_share == Decimal(
        "0.25"
    ) and m.carbon_footprint_kg_co2e_per_kg == Decimal("4.1")
    assert m.causation_id == event.event_id


def test_quantities_are_normalised_to_kilograms():
    m = movement(intake().apply(received(quantity="2.5", unit="t"), NOW))
    assert m.quantity_kg == Decimal(2500)
    m = movement(intake().apply(received(quantity="1000", unit="lb"), NOW))
    assert m.quantity_kg == Decimal("453.59237000")


def test_the_site_must_belong_to_the_actor():
    event = received(org=REMELTER, coc_document_id=None, due_diligence_status="passed")
    assert codes(intake().apply(event, NOW)) == [R.SITE_NOT_OWNED]


def test_producers_report_everything_and_brand_owners_only_what_their_sites_receive():
    brand_owner = Actor(organisation_id=ROLLER, role=Role.BRAND_OWNER)
    assert isinstance(intake().apply(received(actor=brand_owner), NOW), Accepted)
    assert R.ACTOR_NOT_PRODUCER in codes(intake().apply(shipped(actor=brand_owner), NOW))
    certification_body = Actor(organisation_id=ROLLER, role=Role.CERTIFICATION_BODY)
    assert R.ACTOR_NOT_PRODUCER in codes(intake().apply(received(actor=certification_body), NOW))


def test_an_unknown_site_is_held_until_it_is_registered():
    outcome = intake().apply(received(site_id="site-new"), NOW)
    assert isinstance(outcome, Held) and outcome.first
    assert [r.code for r in outcome.waiting_for] == [R.UNKNOWN_SITE]


def test_an_absurd_quantity_is_refused_by_the_configured_ceiling():
    assert codes(
        intake(max_quantity_kg=Decimal(1000)).apply(received(quantity="1.001", unit="t"), NOW)
    ) == [R.QUANTITY_ABSURD]
    assert isinstance(
        intake(max_quantity_kg=Decimal(1001)).apply(received(quantity="1.001", unit="t"), NOW),
        Accepted,
    )


def test_a_quantity_that_rounds_to_nothing_is_refused():
    assert R.QUANTITY_NOT_POSITIVE in codes(
        intake().apply(received(quantity="0.000000001", unit="lb"), NOW)
    )


def test_a_date_in_the_future_beyond_the_skew_is_refused():
    tomorrow = (NOW + timedelta(days=1)).date()
    assert isinstance(intake().apply(received(received_on=tomorrow), NOW), Accepted)
    assert codes(intake().apply(received(received_on=tomorrow + timedelta(days=1)), NOW)) == [
        R.DATE_IN_FUTURE
    ]
    assert codes(intake(future_skew=timedelta(0)).apply(received(received_on=tomorrow), NOW)) == [
        R.DATE_IN_FUTURE
    ]


def test_an_unknown_document_is_held_then_refused_after_the_deadline():
    gate = intake(world(), hold_for=timedelta(minutes=10))
    event = received()
    first = gate.apply(event, NOW)
    assert isinstance(first, Held) and first.first
    assert first.retry_until == NOW + timedelta(minutes=10)
    assert [r.code for r in first.waiting_for] == [R.UNKNOWN_DOCUMENT]
    again = gate.apply(event, later(0.1))
    assert isinstance(again, Held) and not again.first
    assert codes(gate.apply(event, later(0.2))) == [R.DEPENDENCY_TIMEOUT, R.UNKNOWN_DOCUMENT]


def test_a_held_receipt_is_accepted_once_its_document_arrives():
    w = world()
    gate = intake(w)
    event = received()
    assert isinstance(gate.apply(event, NOW), Held)
    from services.intake.domain.model import DocumentState

    w.documents["DOC-1"] = DocumentState(document())
    assert movement(gate.apply(event, later(0.01))).coc_quantity_kg == Decimal(4000)


def test_a_document_from_a_supplier_not_on_the_platform_is_refused_after_the_hold():
    w = world()
    w.members.discard(SMELTER)
    gate = intake(w)
    event = received()
    held = gate.apply(event, NOW)
    assert isinstance(held, Held) and held.first
    assert {r.code for r in held.waiting_for} == {R.UNKNOWN_DOCUMENT, R.SUPPLIER_NOT_ON_PLATFORM}
    assert R.SUPPLIER_NOT_ON_PLATFORM in codes(gate.apply(event, later(1)))


def test_the_document_must_be_issued_to_the_receiving_organisation_and_site():
    assert codes(intake(world(document(recipient=REMELTER))).apply(received(), NOW)) == [
        R.DOCUMENT_NOT_FOR_RECIPIENT
    ]
    assert codes(intake(world(document(recipient_site="site-roll-2"))).apply(received(), NOW)) == [
        R.DOCUMENT_NOT_FOR_RECIPIENT
    ]
    assert isinstance(
        intake(world(document(recipient_site="site-roll"))).apply(received(), NOW), Accepted
    )


def test_the_document_must_be_for_the_material_received():
    w = world(document(category="alumina"))
    assert R.DOCUMENT_MATERIAL_MISMATCH in codes(intake(w).apply(received(), NOW))


def test_the_document_must_come_from_the_named_supplier_and_site():
    assert R.DOCUMENT_SUPPLIER_MISMATCH in codes(
        intake().apply(received(supplier_organisation_id=REMELTER), NOW)
    )
    assert R.DOCUMENT_SUPPLIER_MISMATCH in codes(
        intake().apply(received(supplier_site_id="site-other"), NOW)
    )


def test_the_supplier_certificate_must_cover_the_shipping_site_on_the_shipment_date():
    expired = certificate(
        valid_from=date(2023, 1, 1), valid_until=date(2026, 5, 1), status=CertificateStatus.EXPIRED
    )
    assert codes(intake(world(document(), certificates=[expired])).apply(received(), NOW)) == [
        R.SUPPLIER_NOT_CERTIFIED
    ]
    other_site = certificate(sites=("site-elsewhere",))
    assert codes(intake(world(document(), certificates=[other_site])).apply(received(), NOW)) == [
        R.SUPPLIER_NOT_CERTIFIED
    ]
    performance_only = certificate(standard="performance_standard")
    assert isinstance(
        intake(world(document(), certificates=[performance_only])).apply(received(), NOW), Held
    )


def test_a_suspension_counts_from_the_day_it_happened():
    suspended_before = certificate(
        status=CertificateStatus.SUSPENDED, updated_at=NOW.replace(month=5, day=10)
    )
    assert codes(
        intake(world(document(), certificates=[suspended_before])).apply(received(), NOW)
    ) == [R.SUPPLIER_NOT_CERTIFIED]
    suspended_after = certificate(
        status=CertificateStatus.SUSPENDED, updated_at=NOW.replace(month=5, day=30)
    )
    assert isinstance(
        intake(world(document(), certificates=[suspended_after])).apply(received(), NOW), Accepted
    )


def test_no_known_certificate_of_the_supplier_holds_the_receipt():
    outcome = intake(world(document(), certificates=[])).apply(received(), NOW)
    assert isinstance(outcome, Held) and outcome.first
    assert [r.code for r in outcome.waiting_for] == [R.SUPPLIER_NOT_CERTIFIED]


def test_receipts_may_be_partial_and_never_exceed_the_document():
    gate = intake(world(document(mass="10000")))
    assert movement(gate.apply(received(quantity="6000"), NOW)).coc_quantity_kg == Decimal(6000)
    capped = movement(gate.apply(received(quantity="6000"), NOW))
    assert capped.quantity_kg == Decimal(6000) and capped.coc_quantity_kg == Decimal(4000)
    assert codes(gate.apply(received(quantity="1"), NOW)) == [R.DOCUMENT_OVER_RECEIVED]
    assert gate.world.documents["DOC-1"].received_kg == Decimal(10000)


def test_eligible_scrap_is_classified_at_a_remelter_with_its_due_diligence():
    m = movement(intake().apply(scrap(quantity="20", unit="t"), NOW))
    assert m.classification is Classification.ELIGIBLE_SCRAP
    assert m.coc_quantity_kg == Decimal(20000) and m.recycled_content_share == Decimal(1)
    assert m.due_diligence_reference == "DD-7" and m.verification is Verification.NOT_APPLICABLE


def test_scrap_is_not_classified_at_a_site_that_does_not_remelt_or_refine():
    event = scrap(site_id="site-roll", actor=None)
    event = received(
        **{
            **event.model_dump(
                exclude={
                    "event_id",
                    "occurred_at",
                    "correlation_id",
                    "causation_id",
                    "actor",
                    "type",
                    "schema_version",
                }
            ),
            "site_id": "site-roll",
        }
    )
    assert codes(intake().apply(event, NOW)) == [R.SCRAP_NOT_ALLOWED_AT_SITE]


def test_eligible_scrap_needs_its_due_diligence_reference_and_status():
    assert codes(intake().apply(scrap(due_diligence_reference=None), NOW)) == [
        R.DUE_DILIGENCE_MISSING
    ]
    assert codes(intake().apply(scrap(due_diligence_status=None), NOW)) == [R.DUE_DILIGENCE_MISSING]


def test_scrap_with_due_diligence_in_progress_is_accepted_as_non_coc():
    m = movement(intake().apply(scrap(due_diligence_status="in_progress"), NOW))
    assert m.classification is Classification.NON_COC_MATERIAL and m.coc_quantity_kg == 0


def test_material_that_failed_due_diligence_is_passed_on_as_non_coc_input():
    """Issue 15 item 4: it was physically received, so it counts in the period's input totals, but
    it can never become CoC output."""
    for event in (
        scrap(due_diligence_status="failed"),
        received(coc_document_id=None, due_diligence_status="failed"),
    ):
        m = movement(intake().apply(event, NOW))
        assert m.classification is Classification.NON_COC_MATERIAL and m.coc_quantity_kg == 0
        assert m.due_diligence_status is DueDiligenceStatus.FAILED and m.quantity_kg == to_kg(
            event.quantity, event.unit
        )
        assert m.recycled_content_share is None


def test_a_coc_receipt_that_failed_due_diligence_uses_up_its_document_but_earns_no_coc_mass():
    gate = intake(world(document(mass="6000")))
    m = movement(gate.apply(received(due_diligence_status="failed"), NOW))
    assert m.classification is Classification.NON_COC_MATERIAL and m.coc_quantity_kg == 0
    assert m.verification is Verification.NOT_APPLICABLE and m.recycled_content_share is None
    assert m.carbon_footprint_kg_co2e_per_kg is None
    assert gate.world.documents["DOC-1"].received_kg == Decimal(
        4000
    )  # the same tonnes cannot come again as CoC
    assert movement(gate.apply(received(), NOW)).coc_quantity_kg == Decimal(2000)


def test_non_coc_material_needs_a_due_diligence_status():
    assert codes(intake().apply(received(coc_document_id=None), NOW)) == [R.DUE_DILIGENCE_MISSING]
    m = movement(intake().apply(received(coc_document_id=None, due_diligence_status="passed"), NOW))
    assert m.classification is Classification.NON_COC_MATERIAL and m.coc_quantity_kg == 0
    assert m.coc_document_id is None


def test_a_category_the_site_cannot_receive_is_refused():
    event = received(
        coc_document_id=None, due_diligence_status="passed", material_category="bauxite"
    )
    assert codes(intake().apply(event, NOW)) == [R.CATEGORY_NOT_ALLOWED]


def test_an_absurd_transformation_line_is_refused_with_a_reason_not_raised():
    from contracts.plant import PlantLine
    from tests.unit.intake.builders import transformed

    huge = PlantLine(
        material_category="aluminium", product_form="coil", quantity="734434793331629824", unit="t"
    )
    event = transformed(
        [huge],
        [PlantLine(material_category="aluminium", product_form="coil", quantity="1", unit="t")],
    )
    assert R.QUANTITY_ABSURD in codes(intake().apply(event, NOW))
