"""The edges of the intake rules (issue 24): each refusal's reason code, the field it names and what
it says, both sides of every date and quantity boundary, and what a held event waits for."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal

import pytest

from contracts.common import Activity, Actor, MassUnit, MaterialCategory, ProcessStep, Role
from contracts.intake import IntakeReason as R
from contracts.registry import CertificateStatus
from services.intake.domain.documents import covered_on
from services.intake.domain.model import Status
from services.intake.domain.outcomes import (
    Accepted,
    Held,
    ReceiptAccepted,
    Refused,
    ShipmentAccepted,
    TransformationAccepted,
)
from services.intake.domain.rules import IntakeRules
from services.intake.domain.units import exponent, to_kg
from tests.unit.intake.builders import (
    NOW,
    REMELTER,
    ROLLER,
    SMELTER,
    cancelled,
    certificate,
    document,
    intake,
    line,
    received,
    scrap,
    shipped,
    site,
    transformed,
    world,
)


def refusals(outcome) -> list[tuple[str, str | None, str]]:
    assert isinstance(outcome, Refused), outcome
    return [(r.code, r.field, r.message) for r in outcome.reasons]


def waits(outcome) -> list[tuple[str, str | None, str]]:
    assert isinstance(outcome, Held), outcome
    return [(r.code, r.field, r.message) for r in outcome.waiting_for]


# ---- who reports, about which site ----


def test_a_brand_owner_may_not_report_a_shipment_and_is_told_on_the_actors_role():
    owner = Actor(organisation_id=ROLLER, role=Role.BRAND_OWNER)
    assert refusals(intake().apply(shipped(actor=owner), NOW)) == [
        (R.ACTOR_NOT_PRODUCER, "actor.role", "a brand_owner may not report material_shipped")
    ]


def test_an_event_type_the_rules_name_no_senders_for_is_reported_by_producers_only():
    rules = {"senders": {}}
    assert isinstance(intake(**rules).apply(shipped(), NOW), Accepted)
    owner = Actor(organisation_id=ROLLER, role=Role.BRAND_OWNER)
    assert [r[:2] for r in refusals(intake(**rules).apply(shipped(actor=owner), NOW))] == [
        (R.ACTOR_NOT_PRODUCER, "actor.role")
    ]


def test_an_event_of_an_unregistered_site_waits_for_the_site_on_its_id():
    gate = intake()
    event = shipped(site_id="site-new")
    assert waits(gate.apply(event, NOW)) == [
        (R.UNKNOWN_SITE, "site_id", "site site-new is not registered")
    ]
    assert [w.key for w in gate.world.events[event.event_id].waits] == ["site:site-new"]


def test_an_event_about_another_members_site_is_refused_on_the_site_id():
    assert refusals(intake().apply(shipped(site_id="site-smelt"), NOW)) == [
        (R.SITE_NOT_OWNED, "site_id", f"site site-smelt belongs to {SMELTER}, not to {ROLLER}")
    ]


# ---- quantities: positive, under the ceiling, the CoC designation within the shipment ----


NOTHING = {"quantity": "0.000000001", "unit": "lb", "coc_quantity": "0"}
"""A shipment the contract takes (its quantity is positive) that is no kilogram at nine places."""


def test_a_shipment_of_less_than_a_microgram_is_refused_on_its_quantity():
    assert refusals(intake().apply(shipped(**NOTHING), NOW)) == [
        (R.QUANTITY_NOT_POSITIVE, "quantity", "1E-9 lb is 0E-9 kg once normalised")
    ]


def test_a_shipment_may_designate_no_coc_mass_or_all_of_it_but_not_more():
    none = intake().apply(shipped(coc_quantity="0"), NOW)
    assert isinstance(none, ShipmentAccepted) and none.coc_kg == 0
    whole = intake().apply(shipped(quantity="11", coc_quantity="11"), NOW)
    assert isinstance(whole, ShipmentAccepted) and whole.coc_kg == whole.quantity_kg == 11000
    assert refusals(intake().apply(shipped(quantity="11", coc_quantity="11.001"), NOW)) == [
        (
            R.COC_QUANTITY_EXCEEDS_SHIPMENT,
            "coc_quantity",
            "11001.000 kg designated as CoC out of 11000 kg shipped",
        )
    ]


def test_the_line_ceiling_takes_the_line_at_it_and_refuses_the_line_above_on_its_field():
    at = intake(max_quantity_kg=Decimal(11000)).apply(shipped(quantity="11"), NOW)
    assert isinstance(at, ShipmentAccepted) and at.quantity_kg == 11000
    above = intake(max_quantity_kg=Decimal(11000)).apply(
        shipped(quantity="11.001", coc_quantity="11.001"), NOW
    )
    ceiling = "kg is above the ceiling of 11000 kg for one event line"
    assert refusals(above) == [
        (R.QUANTITY_ABSURD, "quantity", f"11001.000 {ceiling}"),
        (R.QUANTITY_ABSURD, "coc_quantity", f"11001.000 {ceiling}"),
    ]


# ---- dates ----


def test_a_shipment_dated_up_to_the_allowed_skew_is_taken_and_a_day_later_is_refused():
    latest = (NOW + timedelta(days=1)).date()
    assert isinstance(intake().apply(shipped(shipped_on=latest), NOW), ShipmentAccepted)
    too_late = latest + timedelta(days=1)
    assert refusals(intake().apply(shipped(shipped_on=too_late), NOW)) == [
        (
            R.DATE_IN_FUTURE,
            "shipped_on",
            f"{too_late.isoformat()} is in the future (latest accepted: {latest})",
        )
    ]


# ---- the activity table ----


def test_a_site_cannot_ship_what_none_of_its_activities_produces_and_is_told_which_they_are():
    event = shipped(
        actor=Actor(organisation_id=SMELTER, role=Role.PRODUCER),
        site_id="site-smelt",
        material_category="bauxite",
        coc_quantity="0",
    )
    assert refusals(intake().apply(event, NOW)) == [
        (
            R.CATEGORY_NOT_ALLOWED,
            "material_category",
            "a site doing smelting, casting cannot ship bauxite",
        )
    ]


def test_an_activity_the_rules_do_not_list_receives_and_produces_nothing():
    rules = IntakeRules(
        receives={Activity.SMELTING: frozenset({MaterialCategory.ALUMINA})},
        produces={Activity.SMELTING: frozenset({MaterialCategory.ALUMINIUM})},
    )
    activities = [Activity.SMELTING, Activity.CASTING]
    assert rules.receivable(activities) == {MaterialCategory.ALUMINA}
    assert rules.producible(activities) == {MaterialCategory.ALUMINIUM}
    assert rules.receivable([Activity.CASTING]) == rules.producible([]) == frozenset()


# ---- corrections and cancellations: the field each refusal names ----


def test_a_correction_carries_the_event_it_replaces():
    gate = intake()
    first = shipped()
    gate.apply(first, NOW)
    fix = gate.apply(shipped(coc_quantity="4", corrects_event_id=first.event_id), NOW)
    assert isinstance(fix, ShipmentAccepted) and fix.replaces == first.event_id
    assert intake().apply(shipped(), NOW).replaces is None


def test_a_cancellation_that_also_corrects_is_refused_on_corrects_event_id():
    gate = intake()
    first = shipped()
    gate.apply(first, NOW)
    both = cancelled(first.event_id, corrects_event_id=first.event_id)
    assert refusals(gate.apply(both, NOW)) == [
        (
            R.CORRECTION_TYPE_MISMATCH,
            "corrects_event_id",
            "a cancellation cannot correct another event; cancel it instead",
        )
    ]


@pytest.mark.parametrize("cancelling", [False, True])
def test_a_reference_to_an_unknown_event_is_refused_on_the_referring_field(cancelling):
    unknown = uuid.uuid4()
    event = cancelled(unknown) if cancelling else shipped(corrects_event_id=unknown)
    field = "cancels_event_id" if cancelling else "corrects_event_id"
    assert refusals(intake().apply(event, NOW)) == [
        (R.UNKNOWN_EVENT_REFERENCE, field, f"no event {unknown} of site site-roll is known")
    ]


def test_an_event_referring_to_itself_is_refused_on_corrects_event_id():
    gate = intake()
    first = shipped()
    gate.apply(first, NOW)
    itself = first.model_copy(update={"corrects_event_id": first.event_id})
    assert refusals(gate.apply(itself, NOW)) == [
        (R.UNKNOWN_EVENT_REFERENCE, "corrects_event_id", "an event cannot refer to itself")
    ]


def test_a_correction_of_another_type_is_refused_saying_both_types():
    gate = intake()
    first = received()
    gate.apply(first, NOW)
    assert refusals(gate.apply(shipped(corrects_event_id=first.event_id), NOW)) == [
        (
            R.CORRECTION_TYPE_MISMATCH,
            "corrects_event_id",
            f"event {first.event_id} is a material_received; "
            "a correction must have the same type, not material_shipped",
        )
    ]


def test_a_correction_of_a_held_event_waits_for_that_event():
    gate = intake()
    first = shipped(site_id="site-new")
    gate.apply(first, NOW)
    fix = shipped(site_id="site-new", corrects_event_id=first.event_id)
    assert waits(gate.apply(fix, NOW)) == [
        (R.UNKNOWN_SITE, "site_id", "site site-new is not registered"),
        (
            R.REFERENCED_EVENT_NOT_ACCEPTED,
            "corrects_event_id",
            f"event {first.event_id} is itself held; this one waits for its outcome",
        ),
    ]
    assert [w.key for w in gate.world.events[fix.event_id].waits] == [
        "site:site-new",
        f"event:{first.event_id}",
    ]


def test_a_reference_to_an_event_that_no_longer_stands_says_what_closed_it():
    gate = intake()
    first = shipped()
    gate.apply(first, NOW)
    fix = shipped(coc_quantity="4", corrects_event_id=first.event_id)
    gate.apply(fix, NOW)
    assert refusals(gate.apply(cancelled(first.event_id), NOW)) == [
        (
            R.REFERENCED_EVENT_NOT_ACCEPTED,
            "cancels_event_id",
            f"event {first.event_id} is superseded by {fix.event_id}; "
            "refer to the event that stands",
        )
    ]
    refused = shipped(**NOTHING)
    gate.apply(refused, NOW)
    assert refusals(gate.apply(cancelled(refused.event_id), NOW)) == [
        (
            R.REFERENCED_EVENT_NOT_ACCEPTED,
            "cancels_event_id",
            f"event {refused.event_id} is refused; refer to the event that stands",
        )
    ]


# ---- units ----


def test_kilograms_are_exact_and_only_finer_than_a_microgram_is_rounded_half_to_even():
    assert to_kg(Decimal("1.5"), MassUnit.TONNE) == Decimal("1500.0")
    assert to_kg(Decimal("1"), MassUnit.POUND) == Decimal("0.45359237")
    # 0.5 lb is 0.226796185 kg: nine places, kept; 0.05 lb needs ten, rounded half to even.
    assert str(to_kg(Decimal("0.5"), MassUnit.POUND)) == "0.226796185"
    assert str(to_kg(Decimal("0.05"), MassUnit.POUND)) == "0.022679618"


def test_a_quantity_that_is_not_a_finite_number_has_no_exponent():
    with pytest.raises(ValueError, match=r"^NaN is not a finite quantity$"):
        exponent(Decimal("NaN"))
    assert exponent(Decimal("1.250")) == -3


def test_a_date_on_a_receipt_is_checked_against_the_same_skew():
    latest = (NOW + timedelta(days=1)).date()
    assert not isinstance(intake().apply(received(received_on=latest), NOW), Refused)
    late = received(received_on=latest + timedelta(days=1))
    assert (R.DATE_IN_FUTURE, "received_on") in [r[:2] for r in refusals(intake().apply(late, NOW))]


# ---- receipts: where material may be received, due diligence, what a receipt carries ----

NON_COC = {"coc_document_id": None, "due_diligence_status": "passed"}


def test_a_receipt_of_less_than_a_microgram_is_refused_on_its_quantity():
    event = received(quantity="0.000000001", unit="lb", **NON_COC)
    assert refusals(intake().apply(event, NOW)) == [
        (R.QUANTITY_NOT_POSITIVE, "quantity", "1E-9 lb is 0E-9 kg once normalised")
    ]


def test_a_site_cannot_receive_what_none_of_its_activities_takes_in():
    event = received(material_category="bauxite", **NON_COC)
    assert refusals(intake().apply(event, NOW)) == [
        (R.CATEGORY_NOT_ALLOWED, "material_category", "a site doing rolling cannot receive bauxite")
    ]


def test_scrap_is_received_only_where_it_is_remelted_or_refined():
    event = received(
        material_category="post_consumer_scrap",
        due_diligence_reference="DD-7",
        **NON_COC,
    )
    assert refusals(intake().apply(event, NOW)) == [
        (
            R.SCRAP_NOT_ALLOWED_AT_SITE,
            "material_category",
            "only remelting or refining sites receive and classify scrap; "
            "site-roll does not remelt or refine",
        )
    ]


def test_each_missing_due_diligence_element_is_refused_on_its_own_field():
    assert refusals(intake().apply(scrap(due_diligence_reference=None), NOW)) == [
        (
            R.DUE_DILIGENCE_MISSING,
            "due_diligence_reference",
            "eligible scrap needs its due-diligence reference",
        )
    ]
    assert refusals(intake().apply(scrap(due_diligence_status=None), NOW)) == [
        (R.DUE_DILIGENCE_MISSING, "due_diligence_status", "scrap needs its due-diligence status")
    ]
    assert refusals(intake().apply(received(coc_document_id=None), NOW)) == [
        (
            R.DUE_DILIGENCE_MISSING,
            "due_diligence_status",
            "non-CoC material needs its due-diligence status",
        )
    ]


@pytest.mark.parametrize(
    ("category", "pre", "post"),
    [("pre_consumer_scrap", 1, 0), ("post_consumer_scrap", 0, 1)],
)
def test_eligible_scrap_is_all_recycled_pre_or_post_consumer_by_its_category(category, pre, post):
    accepted = intake().apply(scrap(material_category=category), NOW)
    assert isinstance(accepted, ReceiptAccepted)
    assert (
        accepted.recycled_content_share,
        accepted.recycled_pre_consumer_share,
        accepted.recycled_post_consumer_share,
    ) == (1, pre, post)


def test_a_coc_receipt_carries_its_documents_pre_and_post_consumer_split():
    split = document().model_copy(
        update={
            "recycled_pre_consumer_share": Decimal("0.10"),
            "recycled_post_consumer_share": Decimal("0.15"),
        }
    )
    accepted = intake(world(split)).apply(received(), NOW)
    assert isinstance(accepted, ReceiptAccepted)
    assert (
        accepted.recycled_content_share,
        accepted.recycled_pre_consumer_share,
        accepted.recycled_post_consumer_share,
    ) == (Decimal("0.25"), Decimal("0.10"), Decimal("0.15"))


def test_a_receipt_refused_already_is_not_also_refused_for_its_documents_mass():
    gate = intake(world(document(mass="4000")))
    gate.apply(received(), NOW)
    late = received(received_on=(NOW + timedelta(days=2)).date())
    assert [r[:2] for r in refusals(gate.apply(late, NOW))] == [(R.DATE_IN_FUTURE, "received_on")]


# ---- CoC Documents: each refusal on its field, what a held receipt waits for ----


def test_an_unknown_document_from_a_supplier_not_on_the_platform_waits_for_both():
    gate = intake()
    event = received(coc_document_id="DOC-9", supplier_organisation_id="org-new")
    assert waits(gate.apply(event, NOW)) == [
        (R.UNKNOWN_DOCUMENT, "coc_document_id", "CoC Document DOC-9 is not known (yet)"),
        (
            R.SUPPLIER_NOT_ON_PLATFORM,
            "supplier_organisation_id",
            "supplier org-new is not on the platform: "
            "only CoC Documents issued on the platform are accepted",
        ),
    ]
    assert [w.key for w in gate.world.events[event.event_id].waits] == [
        "document:DOC-9",
        "member:org-new",
    ]


def test_a_document_issued_to_another_recipient_names_it_with_its_site_when_it_has_one():
    to_org = intake(world(document(recipient=REMELTER))).apply(received(), NOW)
    assert refusals(to_org) == [
        (
            R.DOCUMENT_NOT_FOR_RECIPIENT,
            "coc_document_id",
            f"CoC Document DOC-1 was issued to {REMELTER}, not to {ROLLER}/site-roll",
        )
    ]
    to_site = intake(world(document(recipient_site="site-roll-2"))).apply(received(), NOW)
    assert refusals(to_site) == [
        (
            R.DOCUMENT_NOT_FOR_RECIPIENT,
            "coc_document_id",
            f"CoC Document DOC-1 was issued to {ROLLER}/site-roll-2, not to {ROLLER}/site-roll",
        )
    ]


def test_a_document_for_other_material_or_from_another_supplier_is_refused_on_that_field():
    alumina = intake(world(document(category=MaterialCategory.ALUMINA))).apply(received(), NOW)
    assert refusals(alumina) == [
        (
            R.DOCUMENT_MATERIAL_MISMATCH,
            "material_category",
            "CoC Document DOC-1 is for alumina, not aluminium",
        )
    ]
    other_site = intake().apply(received(supplier_site_id="site-other"), NOW)
    assert refusals(other_site) == [
        (
            R.DOCUMENT_SUPPLIER_MISMATCH,
            "supplier_organisation_id",
            f"CoC Document DOC-1 was issued by {SMELTER}/site-smelt",
        )
    ]


def test_a_supplier_without_a_known_coc_certificate_is_waited_for_and_an_uncovered_one_refused():
    gate = intake(world(document(), certificates=[]))
    event = received()
    assert waits(gate.apply(event, NOW)) == [
        (
            R.SUPPLIER_NOT_CERTIFIED,
            "coc_document_id",
            f"no CoC certificate of {SMELTER} is known (yet)",
        )
    ]
    assert [w.key for w in gate.world.events[event.event_id].waits] == [f"certificates:{SMELTER}"]
    uncovered = certificate(sites=("site-elsewhere",))
    assert refusals(intake(world(document(), certificates=[uncovered])).apply(received(), NOW)) == [
        (
            R.SUPPLIER_NOT_CERTIFIED,
            "coc_document_id",
            f"no CoC certificate of {SMELTER} covered site site-smelt on 2026-05-20",
        )
    ]


def test_the_last_kilogram_of_a_document_is_received_and_then_nothing_more():
    gate = intake(world(document(mass="4001")))
    gate.apply(received(), NOW)
    last = gate.apply(received(quantity="5"), NOW)
    assert isinstance(last, ReceiptAccepted) and last.matched_kg == 1
    assert refusals(gate.apply(received(quantity="5"), NOW)) == [
        (
            R.DOCUMENT_OVER_RECEIVED,
            "coc_document_id",
            "CoC Document DOC-1 (4001 kg) is already fully received",
        )
    ]


def test_a_certificate_covers_its_site_from_its_first_to_its_last_valid_day():
    cert = certificate(valid_from=date(2026, 1, 1), valid_until=date(2026, 12, 31))
    assert covered_on(cert, "site-smelt", date(2026, 1, 1))
    assert not covered_on(cert, "site-smelt", date(2025, 12, 31))
    assert covered_on(cert, "site-smelt", date(2026, 12, 31))
    assert not covered_on(cert, "site-smelt", date(2027, 1, 1))
    assert not covered_on(cert, "site-other", date(2026, 6, 1))


def test_a_suspended_certificate_covers_up_to_the_day_before_its_suspension():
    suspended = certificate(
        status=CertificateStatus.SUSPENDED, updated_at=NOW.replace(month=5, day=20)
    )
    assert covered_on(suspended, "site-smelt", date(2026, 5, 19))
    assert not covered_on(suspended, "site-smelt", date(2026, 5, 20))


# ---- transformations: each line on its own field, the declared yield on both sides ----


def test_a_transformation_dated_after_the_skew_is_refused_on_transformed_on():
    late = (NOW + timedelta(days=2)).date()
    event = transformed([line("aluminium", "100")], [line("aluminium", "80")], transformed_on=late)
    assert [r[:2] for r in refusals(intake().apply(event, NOW))] == [
        (R.DATE_IN_FUTURE, "transformed_on")
    ]


def test_each_transformation_line_is_refused_on_its_own_index():
    event = transformed(
        [line("aluminium", "100"), line("aluminium", "0.000000001", "lb")],
        [line("aluminium", "80"), line("aluminium", "0.000000001", "lb")],
    )
    assert [r[:2] for r in refusals(intake().apply(event, NOW))] == [
        (R.QUANTITY_NOT_POSITIVE, "inputs[1].quantity"),
        (R.QUANTITY_NOT_POSITIVE, "outputs[1].quantity"),
    ]


def test_lines_at_the_ceiling_and_under_a_kilogram_are_kept_whole():
    event = transformed(
        [line("aluminium", "11000"), line("aluminium", "0.5")],
        [line("aluminium", "9000")],
    )
    accepted = intake(max_quantity_kg=Decimal(11000)).apply(event, NOW)
    assert isinstance(accepted, TransformationAccepted)
    assert [x.quantity_kg for x in accepted.inputs] == [Decimal(11000), Decimal("0.5")]
    assert [x.quantity_kg for x in accepted.outputs] == [Decimal(9000)]


def test_a_site_may_consume_what_it_produces_and_is_told_on_the_line_what_it_cannot_handle():
    own_scrap = transformed(
        [line("aluminium", "100"), line("pre_consumer_scrap", "10")], [line("aluminium", "90")]
    )
    assert isinstance(intake().apply(own_scrap, NOW), TransformationAccepted)
    wrong = transformed(
        [line("aluminium", "100"), line("bauxite", "100")],
        [line("aluminium", "80"), line("alumina", "40")],
    )
    assert refusals(intake().apply(wrong, NOW)) == [
        (
            R.CATEGORY_NOT_ALLOWED,
            "inputs[1].material_category",
            "a site doing rolling cannot consume bauxite",
        ),
        (
            R.CATEGORY_NOT_ALLOWED,
            "outputs[1].material_category",
            "a site doing rolling cannot produce alumina",
        ),
    ]


def test_a_step_without_a_declared_factor_is_refused_on_process_step():
    event = transformed(
        [line("aluminium", "100")], [line("aluminium", "90")], process_step="extrusion"
    )
    assert refusals(intake().apply(event, NOW)) == [
        (
            R.NO_DECLARED_YIELD,
            "process_step",
            "site site-roll declared no conversion factor for extrusion",
        )
    ]


def test_product_up_to_the_declared_yield_is_taken_and_above_it_refused_on_outputs():
    at = transformed([line("aluminium", "20000")], [line("aluminium", "17000")])
    assert isinstance(intake().apply(at, NOW), TransformationAccepted)
    above = transformed([line("aluminium", "20000")], [line("aluminium", "17000.001")])
    assert refusals(intake().apply(above, NOW)) == [
        (
            R.YIELD_EXCEEDED,
            "outputs",
            "17000.001 kg of product from 20000 kg of input exceeds the declared yield 0.85 "
            "for rolling",
        )
    ]


def test_outputs_with_scrap_up_to_the_input_are_taken_and_above_it_refused_on_outputs():
    at = transformed(
        [line("aluminium", "20000")],
        [line("aluminium", "17000"), line("pre_consumer_scrap", "3000")],
    )
    assert isinstance(intake().apply(at, NOW), TransformationAccepted)
    above = transformed(
        [line("aluminium", "20000")],
        [line("aluminium", "17000"), line("pre_consumer_scrap", "3000.001")],
    )
    assert refusals(intake().apply(above, NOW)) == [
        (
            R.YIELD_EXCEEDED,
            "outputs",
            "20000.001 kg of output (with scrap) from 20000 kg of input creates mass",
        )
    ]


def test_a_declared_factor_above_one_bounds_all_outputs_by_inputs_times_the_factor():
    w = world(document())
    w.sites["site-roll"] = site("site-roll", ROLLER, [Activity.ROLLING], {ProcessStep.ROLLING: "2"})
    within = transformed(
        [line("aluminium", "1000")],
        [line("aluminium", "1500"), line("pre_consumer_scrap", "500")],
    )
    assert isinstance(intake(w).apply(within, NOW), TransformationAccepted)
    beyond = transformed(
        [line("aluminium", "1000")],
        [line("aluminium", "1500"), line("pre_consumer_scrap", "500.001")],
    )
    assert [r[:2] for r in refusals(intake(w).apply(beyond, NOW))] == [
        (R.YIELD_EXCEEDED, "outputs")
    ]


def test_a_corrected_transformation_carries_the_event_it_replaces():
    gate = intake()
    first = transformed([line("aluminium", "100")], [line("aluminium", "80")])
    gate.apply(first, NOW)
    fix = transformed(
        [line("aluminium", "100")], [line("aluminium", "85")], corrects_event_id=first.event_id
    )
    accepted = gate.apply(fix, NOW)
    assert isinstance(accepted, TransformationAccepted) and accepted.replaces == first.event_id


# ---- the gate's record: held events and their deadline, what an accepted event keeps ----


def test_a_held_event_keeps_its_first_deadline_and_is_refused_at_it_not_before():
    gate = intake()
    event = received(coc_document_id="DOC-9")
    deadline = NOW + timedelta(minutes=10)
    first = gate.apply(event, NOW)
    assert isinstance(first, Held) and first.first and first.retry_until == deadline
    record = gate.world.events[event.event_id]
    assert (record.held_since, record.retry_until) == (NOW, deadline)
    assert gate.is_held(event.event_id)
    again = gate.apply(event, deadline - timedelta(seconds=1))
    assert isinstance(again, Held) and not again.first and again.retry_until == deadline
    assert refusals(gate.apply(event, deadline)) == [
        (
            R.DEPENDENCY_TIMEOUT,
            None,
            f"what the event depends on did not arrive by {deadline.isoformat()}",
        ),
        (R.UNKNOWN_DOCUMENT, "coc_document_id", "CoC Document DOC-9 is not known (yet)"),
    ]
    assert not gate.is_held(event.event_id)


def test_a_held_event_accepted_later_keeps_no_hold_and_an_accepted_one_is_not_held():
    gate = intake(world())
    event = received()
    assert isinstance(gate.apply(event, NOW), Held)
    gate.world.documents.update(intake().world.documents)
    assert isinstance(gate.apply(event, NOW + timedelta(minutes=1)), ReceiptAccepted)
    record = gate.world.events[event.event_id]
    assert record.status is Status.ACCEPTED and not gate.is_held(event.event_id)
    assert (record.held_since, record.retry_until, record.next_check_at) == (None, None, None)
    shipment = shipped()
    gate.apply(shipment, NOW)
    assert gate.world.events[shipment.event_id].status is Status.ACCEPTED
    assert not gate.is_held(shipment.event_id)
