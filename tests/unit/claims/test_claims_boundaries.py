"""The edges of the claims rules (issue 24): each refusal's reason code and the field it names, both
sides of every date and count boundary, and the saga's record of the allocation it holds."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest

from contracts.claims import ClaimProduct, ClaimReason, ClaimRequested, ClaimType
from contracts.common import Actor, Reason, Role
from contracts.ledger import (
    AllocationGranted,
    AllocationRefused,
    DocumentShare,
    LedgerCommandRejected,
)
from contracts.registry import CertificateStatus
from services.claims.domain import (
    answers,
    certification,
    checks,
    membership,
    plausibility,
    requests,
    revocation,
    saga,
    texts,
)
from services.claims.domain import review as review_rules
from services.claims.domain.evidence import evidence_of
from services.claims.domain.rule_sets import wording_rules
from services.claims.domain.saga import Claim, Status
from services.claims.domain.texts import ApprovedText
from services.claims.domain.usage import Usage, report_reasons, returnable_kg
from services.claims.domain.wording import check_wording
from tests.unit.claims.builders import (
    BRAND,
    COC_NUMBER,
    NOW,
    TODAY,
    allocation,
    coc,
    ps,
    registry,
    request,
    review,
    usage,
)

RULES = wording_rules()
TIMEOUT = timedelta(seconds=30)


def refusals(req=None, reg=None, today=TODAY) -> list[tuple[str, str | None]]:
    result = checks.static_checks(req or request(), reg or registry(), RULES, today)
    return [(r.code, r.field) for r in result.reasons]


# ---- certificates current from their first to their last valid day ----


@pytest.mark.parametrize(
    ("valid_from", "valid_until", "current"),
    [
        (TODAY, TODAY + timedelta(days=30), True),  # first valid day
        (TODAY + timedelta(days=1), TODAY + timedelta(days=30), False),  # the day before it
        (TODAY - timedelta(days=30), TODAY, True),  # last valid day
        (TODAY - timedelta(days=30), TODAY - timedelta(days=1), False),  # the day after it
    ],
)
def test_a_certificate_is_current_from_its_first_to_its_last_valid_day(
    valid_from, valid_until, current
):
    cert = coc(valid_from=valid_from, valid_until=valid_until)
    assert checks.is_current(cert, TODAY) is current
    expected = [] if current else [(ClaimReason.NO_CURRENT_COC, "claimant_organisation_id")]
    assert refusals(reg=registry(ps(), cert)) == expected


def test_a_supplier_certificate_on_its_first_valid_day_is_current_the_day_before_it_is_not():
    def reg(valid_from: date):
        return registry(
            ps(),
            coc(),
            coc(
                org="supplier",
                number="ASI-COC-2026-00001",
                certificate_id="s",
                valid_from=valid_from,
            ),
            members=(BRAND, "supplier"),
        )

    product_with_supplier = request().product.model_copy(
        update={"supplier_organisation_ids": ["supplier"]}
    )
    req = request(product=product_with_supplier)
    assert refusals(req, reg(TODAY)) == []
    assert refusals(req, reg(TODAY + timedelta(days=1))) == [
        (ClaimReason.SUPPLIER_NOT_CERTIFIED, "product.supplier_organisation_ids")
    ]


# ---- quoted certificate numbers: every one is checked ----


def test_every_quoted_number_is_checked_not_only_those_before_the_first_valid_one():
    req = request(
        ClaimType.CERTIFIED_TEXT,
        certificate_number=COC_NUMBER,
        wording=f"ASI certified company, certificates {COC_NUMBER} and ASI-COC-2099-00001",
    )
    result = checks.static_checks(req, registry(), RULES, TODAY)
    assert [(r.code, r.field) for r in result.reasons] == [
        (ClaimReason.CERTIFICATE_NUMBER_INVALID, "certificate_number")
    ]
    assert "ASI-COC-2099-00001 is not a known ASI certificate" in result.reasons[0].message


# ---- mass: units times aluminium per unit ----


def test_units_and_a_total_mass_that_agree_pass_and_give_units_times_mass_per_unit():
    req = request(units=200, per_unit="2.5", total_mass_kg="500")
    assert refusals(req) == []
    assert checks.claimed_mass(req) == Decimal("500")


def test_units_and_a_total_mass_that_disagree_are_refused_on_the_total_mass():
    req = request(units=200, per_unit="2.5", total_mass_kg="499.999")
    assert refusals(req) == [(ClaimReason.INVALID_REQUEST, "product.total_mass_kg")]


def test_neither_units_nor_a_total_mass_is_refused_on_the_product():
    product = request().product.model_copy(update={"units": None, "total_mass_kg": None})
    assert (ClaimReason.INVALID_REQUEST, "product") in refusals(request(product=product))


@pytest.mark.parametrize(
    ("allocated", "refused"), [("500", False), ("499.999", True), ("500.001", False)]
)
def test_an_allocation_covers_the_claimed_mass_exactly_or_is_refused_on_the_product(
    allocated, refused
):
    req = request(units=200, per_unit="2.5")
    reasons = checks.allocation_reasons(req, allocation(allocated))
    expected = [(ClaimReason.MASS_NOT_COVERED, "product")] if refused else []
    assert [(r.code, r.field) for r in reasons] == expected


# ---- the request's period and requester ----


@pytest.mark.parametrize(
    ("start", "end", "today", "expected"),
    [
        (date(2026, 7, 1), date(2026, 7, 1), TODAY, []),  # a one-day period
        (date(2026, 7, 2), date(2026, 7, 1), TODAY, [(ClaimReason.INVALID_REQUEST, "period_end")]),
        (date(2026, 5, 1), TODAY, TODAY, []),  # ends today: still open
        (
            date(2026, 5, 1),
            TODAY - timedelta(days=1),
            TODAY,
            [(ClaimReason.INVALID_REQUEST, "period_end")],
        ),
    ],
)
def test_the_claim_period_boundaries(start, end, today, expected):
    assert refusals(request(period_start=start, period_end=end), today=today) == expected


def test_only_the_claimant_or_the_secretariat_requests_a_claim():
    other = Actor(organisation_id="someone-else", role=Role.BRAND_OWNER)
    secretariat = Actor(organisation_id="asi", role=Role.SECRETARIAT)
    assert refusals(request(actor=other)) == [
        (ClaimReason.REQUESTER_NOT_CLAIMANT, "actor.organisation_id")
    ]
    assert refusals(request(actor=secretariat)) == []


# ---- recycled content and carbon footprint: both sides of the documented figure ----


@pytest.mark.parametrize(("documented", "refused"), [("0.35", False), ("0.34", True), (None, True)])
def test_a_recycled_share_up_to_the_documented_one_passes(documented, refused):
    reasons = checks.allocation_reasons(
        request(ClaimType.RECYCLED_CONTENT), allocation(recycled=documented)
    )
    expected = [(ClaimReason.RECYCLED_CONTENT_UNSUPPORTED, "recycled_content_share")]
    assert [(r.code, r.field) for r in reasons] == (expected if refused else [])


@pytest.mark.parametrize(("documented", "refused"), [("4.5", False), ("4.6", True), (None, True)])
def test_a_carbon_footprint_down_to_the_documented_one_passes(documented, refused):
    reasons = checks.allocation_reasons(
        request(ClaimType.CARBON_FOOTPRINT), allocation(footprint=documented)
    )
    expected = [(ClaimReason.CARBON_FOOTPRINT_UNSUPPORTED, "carbon_footprint_kg_co2e_per_kg")]
    assert [(r.code, r.field) for r in reasons] == (expected if refused else [])


# ---- the saga's record of the allocation ----


def _pending(req=None) -> Claim:
    claim, _ = Claim.requested(req or request(), "h1", registry(), RULES, NOW, TIMEOUT)
    return claim


def _approved() -> Claim:
    claim = _pending()
    claim.granted(allocation(), registry(), RULES, NOW)
    if claim.status is Status.AWAITING_REVIEW:
        claim.reviewed(review(), registry(), RULES, NOW)
    assert claim.status is Status.APPROVED
    return claim


def test_an_approved_claim_keeps_the_allocation_it_rests_on_and_holds_it():
    claim = _approved()
    assert claim.allocation == allocation()
    assert claim.allocation_held is True
    assert claim.approved_kg == Decimal("13000")


def test_a_pending_claim_holds_nothing_until_the_allocation_is_granted():
    claim = _pending()
    assert claim.allocation_held is False and claim.allocation is None
    assert claim.approved_kg is None


@pytest.mark.parametrize("when", ["pending", "awaiting", "approved"])
def test_a_withdrawn_claim_no_longer_holds_its_allocation(when):
    if when == "approved":
        claim = _approved()
    else:
        claim = _pending()
        if when == "awaiting":
            claim.granted(allocation(), registry(), RULES, NOW)
            assert claim.status is Status.AWAITING_REVIEW
    claim.withdrawn(BRAND, "no longer sold")
    assert claim.status is Status.WITHDRAWN
    assert claim.allocation_held is False and claim.decide_by is None


def test_a_claim_rejected_after_its_allocation_releases_it_and_says_why():
    claim = _pending()
    effects = claim.granted(allocation("12999.999"), registry(), RULES, NOW)
    rejected, release = effects
    assert isinstance(rejected, saga.Rejected) and isinstance(release, saga.Release)
    assert [(r.code, r.field) for r in rejected.reasons] == [
        (ClaimReason.MASS_NOT_COVERED, "product")
    ]
    assert release.reason == "claim rejected after allocation: mass_not_covered"
    assert claim.status is Status.REJECTED and claim.allocation_held is False


def test_the_clock_rejects_a_pending_claim_at_its_decide_by_not_a_moment_before():
    claim = _pending()
    assert claim.clock(NOW + TIMEOUT - timedelta(microseconds=1)) == []
    assert claim.status is Status.PENDING
    [rejected, release] = claim.clock(NOW + TIMEOUT)
    assert isinstance(rejected, saga.Rejected) and isinstance(release, saga.Release)
    assert claim.status is Status.REJECTED and claim.decide_by is None


# ---- every refusal the claims service sends: its code, the field it names, what it says ----


def _r(reason) -> tuple[str, str | None, str]:
    return (reason.code, reason.field, reason.message)


def test_the_request_and_conflict_refusals_name_their_field():
    assert _r(requests.event_id_reused_reason()) == (
        ClaimReason.REQUEST_CONFLICT,
        "event_id",
        "this event id was already used with different content; the first one stands",
    )
    assert _r(requests.secretariat_only_reason("decides reviews")) == (
        ClaimReason.REVIEWER_NOT_SECRETARIAT,
        "actor",
        "only the secretariat decides reviews",
    )
    assert _r(requests.text_version_conflict_reason("text-1", 2)) == (
        ClaimReason.REQUEST_CONFLICT,
        "version",
        "version 2 of text text-1 was published with other content; "
        "the first stands (publish a new version)",
    )
    assert _r(requests.changed_request_reason("claim-1", "approved")) == (
        ClaimReason.REQUEST_CONFLICT,
        "claim_id",
        "claim claim-1 was already requested with other content; it stands as approved",
    )
    assert _r(requests.not_claimant_reason(BRAND, "withdraw claim claim-1")) == (
        ClaimReason.REQUESTER_NOT_CLAIMANT,
        "claimant_organisation_id",
        f"only {BRAND} may withdraw claim claim-1",
    )
    assert _r(requests.already_withdrawn_reason("claim-1")) == (
        ClaimReason.CLAIM_ALREADY_CLOSED,
        "claim_id",
        "claim claim-1 was withdrawn; its unused mass was settled then",
    )
    assert _r(requests.never_approved_reason("claim-1", "rejected")) == (
        ClaimReason.CLAIM_NOT_APPROVED,
        "claim_id",
        "claim claim-1 is rejected: it was never approved",
    )


@pytest.mark.parametrize(
    ("message", "what"),
    [(usage(10), "to report usage of"), (review(), "to review")],
)
def test_an_unknown_claim_is_refused_on_the_claim_id_saying_what_was_asked(message, what):
    assert _r(requests.unknown_claim_reason(message)) == (
        ClaimReason.UNKNOWN_CLAIM,
        "claim_id",
        f"no claim claim-1 {what}",
    )


def test_the_request_hash_ignores_the_envelope_and_the_order_of_keys():
    first, second = request(), request()
    assert first.event_id != second.event_id
    assert requests.request_hash(first) == requests.request_hash(second)
    assert requests.request_hash(first) != requests.request_hash(request(units=999))
    assert len(requests.request_hash(first)) == 64


def test_the_request_hash_is_pinned_because_stored_hashes_are_compared_with_later_ones():
    """Each claim's request hash is stored with it and compared, when the same claim is requested
    again, with the hash the running release computes: its form (the request without the envelope's
    ids and time, keys sorted, SHA-256) must not change between releases, or a redelivered request
    reads as a changed one. If this value changes on purpose, migrate the stored hashes."""
    content = {
        "claim_id": "claim-1",
        "claimant_organisation_id": BRAND,
        "product": ClaimProduct(
            product_id="GTIN-05000112637922",
            name="Cola 330 ml can",
            aluminium_mass_per_unit_kg=Decimal("0.013"),
            units=1_000_000,
        ),
        "claim_type": ClaimType.ON_PACK_LOGO,
        "wording": "ASI Responsible Aluminium Sourcing",
        "artwork_reference": "artwork-2026-01",
        "link": "https://aluminium-stewardship.org/claims/brand-1",
        "markets": ["DE", "FR"],
        "period_start": date(2026, 7, 1),
        "period_end": date(2027, 6, 30),
    }
    actor = Actor(organisation_id=BRAND, role=Role.BRAND_OWNER)
    first = ClaimRequested.create(actor=actor, occurred_at=NOW, **content)
    again = ClaimRequested.create(actor=actor, occurred_at=NOW + timedelta(days=1), **content)
    pinned = "4dff5354ad11c79747d48a40019a135202f7ea1a4977a6954ca670972f1bbb7f"
    assert requests.request_hash(first) == requests.request_hash(again) == pinned


def test_the_allocation_answers_name_the_product():
    assert _r(answers.timeout_reason()) == (
        ClaimReason.ALLOCATION_TIMEOUT,
        "product",
        "accounting did not answer the allocation request in time",
    )
    one = answers.not_allocated_reasons("not enough", BRAND, ["claim-0"])
    two = answers.not_allocated_reasons("not enough", BRAND, ["claim-0", "claim-9"])
    assert [_r(r) for r in one] == [
        (ClaimReason.MASS_NOT_COVERED, "product", "not enough"),
        (
            ClaimReason.MASS_ALREADY_CLAIMED,
            "product",
            f"the CoC mass {BRAND} received already backs claim claim-0",
        ),
    ]
    assert two[1].message == f"the CoC mass {BRAND} received already backs claims claim-0, claim-9"
    assert [_r(r) for r in answers.not_allocated_reasons("none", BRAND, [])] == [
        (ClaimReason.MASS_NOT_COVERED, "product", "none")
    ]


# ---- afterwards: revocation, expiry, standing ----


@pytest.mark.parametrize(
    ("valid_until", "lapsed"),
    [(TODAY, False), (TODAY - timedelta(days=1), True), (None, False)],
)
def test_an_approval_lapses_the_day_after_it_was_valid_until(valid_until, lapsed):
    reason = revocation.lapsed(valid_until, TODAY)
    if lapsed:
        assert _r(reason) == (
            ClaimReason.CERTIFICATE_EXPIRED,
            "valid_until",
            f"the approval was valid until {valid_until}",
        )
    else:
        assert reason is None


def test_a_certificate_that_no_longer_covers_the_product_revokes_the_approval_on_certificates():
    cert = coc(products=("other-product",))
    status, reason = revocation.closing(cert, "GTIN-1")
    assert status is Status.REVOKED
    assert _r(reason) == (
        ClaimReason.PRODUCT_NOT_COVERED,
        "certificates",
        f"certificate {COC_NUMBER} no longer covers product GTIN-1",
    )
    assert revocation.closing(coc(products=("GTIN-1",)), "GTIN-1") is None
    suspended = revocation.closing(coc(status=CertificateStatus.SUSPENDED), "GTIN-1")
    assert suspended is not None and suspended[1].field == "certificates"
    assert suspended[1].message.startswith(f"certificate {COC_NUMBER} ")


@pytest.mark.parametrize(
    ("cert", "restores"),
    [
        (ps(), True),
        (ps(status=CertificateStatus.PROVISIONAL), True),
        (ps(status=CertificateStatus.SUSPENDED), False),
        (coc(), False),
    ],
)
def test_only_a_current_performance_standard_certificate_restores_standing(cert, restores):
    assert membership.restores_standing(cert) is restores


# ---- usage reports: both sides of the claim's period and of the approved quantity ----


def _usage(req=None, reported=None) -> Usage:
    return Usage(req or request(units=100, per_unit="2"), reported or {})


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (date(2026, 7, 1), date(2027, 6, 30), []),  # exactly the claim's period
        (date(2026, 7, 1), date(2026, 7, 1), []),  # one day
        (date(2026, 6, 30), date(2026, 9, 30), [(ClaimReason.INVALID_REQUEST, "period_start")]),
        (date(2026, 7, 1), date(2027, 7, 1), [(ClaimReason.INVALID_REQUEST, "period_start")]),
        (
            date(2026, 7, 2),
            date(2026, 7, 1),
            [(ClaimReason.INVALID_REQUEST, "period_end")],
        ),
    ],
)
def test_usage_is_reported_within_the_claims_period(start, end, expected):
    reasons = report_reasons(_usage(), usage(10, start=start, end=end))
    assert [(r.code, r.field) for r in reasons] == expected
    if expected and expected[0][1] == "period_end":
        assert reasons[0].message == "the period ends (2026-07-01) before it starts (2026-07-02)"


def test_usage_up_to_the_approved_units_is_recorded_one_more_is_refused_on_the_units():
    assert report_reasons(_usage(), usage(100)) == []
    [reason] = report_reasons(_usage(), usage(101))
    assert _r(reason) == (
        ClaimReason.USAGE_EXCEEDS_APPROVED,
        "units",
        "101 units (202 kg) reported in all would exceed the 100 units approved",
    )
    by_mass = request(units=None, total_mass_kg="200", per_unit="2")
    [reason] = report_reasons(_usage(by_mass), usage(101))
    assert reason.message.endswith("would exceed the 200 kg approved")


def test_the_unused_mass_returned_is_rounded_down_to_the_gram_and_never_negative():
    assert returnable_kg(Decimal("10"), Decimal("3.0006")) == Decimal("6.999")
    assert returnable_kg(Decimal("10"), Decimal("11")) == Decimal("0.000")


# ---- the saga's refusals name the claim, its status and the claimant ----


def _refusal(effects) -> tuple[str, str | None, str]:
    [refused] = effects
    assert isinstance(refused, saga.Refused)
    [reason] = refused.reasons
    return _r(reason)


def test_the_sagas_refusals_say_which_claim_in_which_status():
    claim = _pending()
    assert _refusal(claim.withdrawn("someone-else", "why")) == (
        ClaimReason.REQUESTER_NOT_CLAIMANT,
        "claimant_organisation_id",
        f"only {BRAND} may withdraw claim claim-1",
    )
    assert _refusal(claim.usage_reported(usage(1), "someone-else")) == (
        ClaimReason.REQUESTER_NOT_CLAIMANT,
        "claimant_organisation_id",
        f"only {BRAND} may report usage of claim claim-1",
    )
    assert _refusal(claim.usage_reported(usage(1), BRAND)) == (
        ClaimReason.CLAIM_NOT_APPROVED,
        "claim_id",
        "claim claim-1 is pending: it was never approved",
    )
    assert _refusal(claim.reviewed(review(), registry(), RULES, NOW)) == (
        ClaimReason.NOT_AWAITING_REVIEW,
        "claim_id",
        "claim claim-1 is pending, not awaiting review",
    )
    assert _refusal(claim.resubmitted(request(units=5), "h2")) == (
        ClaimReason.REQUEST_CONFLICT,
        "claim_id",
        "claim claim-1 was already requested with other content; it stands as pending",
    )
    claim.withdrawn(BRAND, "no longer sold")
    assert _refusal(claim.usage_reported(usage(1), BRAND)) == (
        ClaimReason.CLAIM_ALREADY_CLOSED,
        "claim_id",
        "claim claim-1 was withdrawn; its unused mass was settled then",
    )


def test_withdrawing_an_approval_returns_even_less_than_a_kilogram_unused():
    req = request(ClaimType.CERTIFIED_TEXT, units=1000, per_unit="0.5")
    claim, _ = Claim.requested(req, "h1", registry(), RULES, NOW, TIMEOUT)
    claim.granted(allocation("500"), registry(), RULES, NOW)
    assert claim.status is Status.APPROVED
    claim.usage_reported(usage(999), BRAND)
    returned, confirmed = claim.withdrawn(BRAND, "no longer sold")
    assert returned == saga.ReturnUnused(
        Decimal("0.5"), Decimal("499.5"), "withdrawn by the claimant: no longer sold"
    )
    assert confirmed == saga.WithdrawalConfirmed(
        "no longer sold", used_kg=Decimal("499.5"), returned_kg=Decimal("0.500")
    )


def test_an_approval_expires_the_day_after_its_validity_with_the_reason():
    claim = _approved()
    assert claim.clock(datetime.combine(claim.valid_until, time(23), tzinfo=UTC)) == []
    [expired] = claim.clock(datetime.combine(claim.valid_until + timedelta(days=1), time(), UTC))
    assert isinstance(expired, saga.Expired) and expired.approval_code == claim.approval_code
    assert [_r(r) for r in expired.reasons] == [
        (
            ClaimReason.CERTIFICATE_EXPIRED,
            "valid_until",
            f"the approval was valid until {claim.valid_until}",
        )
    ]
    assert claim.status is Status.EXPIRED


def test_a_refused_allocation_names_the_claims_holding_the_mass_and_keeps_evidence():
    claim = _pending()
    [rejected] = claim.refused("not enough", registry(), RULES, NOW, ("claim-0", "claim-1"))
    assert isinstance(rejected, saga.Rejected) and rejected.evidence is not None
    assert [_r(r) for r in rejected.reasons] == [
        (ClaimReason.MASS_NOT_COVERED, "product", "not enough"),
        (
            ClaimReason.MASS_ALREADY_CLAIMED,
            "product",
            f"the CoC mass {BRAND} received already backs claim claim-0",
        ),
    ]
    assert claim.evidence is rejected.evidence


def test_a_forbidden_phrase_is_found_by_freshly_compiled_rules_too():
    fresh = replace(RULES, _compiled={})
    result = checks.static_checks(
        request(wording="100% traceable to the mine"), registry(), fresh, TODAY
    )
    assert ClaimReason.MISLEADING_WORDING in [r.code for r in result.reasons]
    assert fresh._compiled  # compiled once, then kept


@pytest.mark.parametrize(
    ("status", "flag", "full"),
    [
        (CertificateStatus.ACTIVE, False, True),
        (CertificateStatus.PROVISIONAL, True, False),
        (CertificateStatus.ACTIVE, True, False),  # a suspended provisional one, reinstated
    ],
)
def test_a_full_certificate_is_neither_provisional_in_status_nor_in_flag(status, flag, full):
    cert = coc(status=status).model_copy(update={"provisional": flag})
    assert certification.is_full(cert) is full


def test_an_allocation_hands_on_every_documented_figure_as_evidence():
    evidence = allocation().evidence()
    assert (evidence.recycled_content_share, evidence.carbon_footprint_kg_co2e_per_kg) == (
        Decimal("0.40"),
        Decimal("4.2"),
    )
    assert (evidence.account_ids, evidence.document_ids) == (["group:brand-1"], ["doc-1", "doc-2"])


# ---- plausibility alerts: field, product and message, one and several ----


@pytest.mark.parametrize(
    ("others", "said"),
    [(["claim-2"], "open claim claim-2"), (["claim-3", "claim-2"], "open claims claim-2, claim-3")],
)
def test_an_alert_for_the_same_product_and_artwork_names_the_other_open_claims(others, said):
    req = request()
    own = req.claim_id  # claims are named by `saga.claim_ref`; any unique names do here
    [alert] = plausibility.same_product_and_artwork(req, own, [*others, own])
    assert (alert.reason.code, alert.reason.field) == (
        ClaimReason.SAME_PRODUCT_AND_ARTWORK,
        "artwork_reference",
    )
    assert alert.reason.message == (
        f"product {req.product.product_id} with artwork {req.artwork_reference} is also in {said}"
    )
    assert alert.related_claim_ids == tuple(sorted(others))
    assert plausibility.same_product_and_artwork(req, own, [own]) == []


@pytest.mark.parametrize(
    ("documents", "said"), [(("doc-1",), "1 document"), (("a", "b"), "2 documents")]
)
def test_an_alert_for_a_claim_above_the_documented_supply_says_how_much(documents, said):
    req = request(units=100, per_unit="2")
    supply = replace(allocation("200"), documented_mass_kg=Decimal("150"), document_ids=documents)
    [alert] = plausibility.above_documented_supply(req, supply)
    assert (alert.reason.code, alert.reason.field, alert.product_id) == (
        ClaimReason.CLAIMED_ABOVE_DOCUMENTED_SUPPLY,
        "product",
        req.product.product_id,
    )
    assert alert.reason.message == (
        f"200 kg claimed; the CoC Documents behind the allocation supply 150 kg ({said})"
    )
    enough = replace(supply, documented_mass_kg=Decimal("200"))
    assert plausibility.above_documented_supply(req, enough) == []


# ---- certificates examined and rested on ----


def test_a_product_outside_every_current_scope_is_refused_on_the_product_id():
    reg = registry(ps(), coc(products=("other",)))
    assert refusals(reg=reg) == [(ClaimReason.PRODUCT_NOT_COVERED, "product.product_id")]


def test_a_refusal_shows_the_claimants_and_the_named_suppliers_certificates_examined():
    supplier = coc(org="supplier", number="ASI-COC-2026-00001", certificate_id="s")
    product = request().product.model_copy(update={"supplier_organisation_ids": ["supplier"]})
    result = checks.static_checks(
        request(product=product),
        registry(coc(), supplier, members=(BRAND, "supplier")),
        RULES,
        TODAY,
    )
    assert not result.passed
    assert [e.certificate_id for e in result.certificate_evidence()] == [
        coc().certificate_id,
        "s",
    ]


def test_of_a_suppliers_current_certificates_the_longest_valid_is_kept():
    short = coc(
        org="supplier",
        number="ASI-COC-2026-00001",
        certificate_id="s1",
        valid_until=date(2026, 12, 31),
    )
    long = coc(org="supplier", number="ASI-COC-2026-00002", certificate_id="s2")
    product = request().product.model_copy(update={"supplier_organisation_ids": ["supplier"]})
    for order in ((short, long), (long, short)):
        reg = registry(ps(), coc(), *order, members=(BRAND, "supplier"))
        result = checks.static_checks(request(product=product), reg, RULES, TODAY)
        assert [c.certificate_id for c in result.suppliers] == ["s2"]


def test_a_claim_decided_at_once_waited_zero_seconds_never_less():
    assert review_rules.waited_seconds(NOW, NOW) == 0
    assert review_rules.waited_seconds(NOW, NOW - timedelta(seconds=5)) == 0
    assert review_rules.waited_seconds(NOW, NOW + timedelta(seconds=90)) == 90


def test_the_evidence_of_a_request_stating_no_mass_claims_zero():
    product = request().product.model_copy(update={"units": None, "total_mass_kg": None})
    result = checks.static_checks(request(product=product), registry(), RULES, TODAY)
    assert evidence_of(result, None, RULES, NOW).claimed_mass_kg == 0


# ---- accounting's answers, read in the saga's words ----

ACCOUNTING = Actor(organisation_id="accounting", role=Role.SERVICE)


def granted_allocation(**figures: object) -> AllocationGranted:
    """Accounting's grant of 13,000 kg of brand-1's group account for claim-1, with `figures`."""
    return AllocationGranted.create(
        actor=ACCOUNTING,
        occurred_at=NOW,
        claim_id="claim-1",
        owner_organisation_id=BRAND,
        mass_kg=Decimal("13000"),
        account_ids=["group:brand-1"],
        **figures,
    )


def test_a_granted_allocation_keeps_every_figure_accounting_documented():
    granted = granted_allocation(
        documents=[
            DocumentShare(document_id="doc-1", mass_kg=Decimal("8000")),
            DocumentShare(document_id="doc-2", mass_kg=Decimal("4000.5")),
        ],
        recycled_content_share=Decimal("0.40"),
        carbon_footprint_kg_co2e_per_kg=Decimal("4.2"),
    )
    assert answers.allocation_of(granted) == checks.Allocation(
        mass_kg=Decimal("13000"),
        account_ids=("group:brand-1",),
        document_ids=("doc-1", "doc-2"),
        recycled_content_share=Decimal("0.40"),
        carbon_footprint_kg_co2e_per_kg=Decimal("4.2"),
        documented_mass_kg=Decimal("12000.5"),
    )


def test_a_granted_allocation_keeps_accountings_pre_and_post_consumer_split():
    granted = granted_allocation(
        recycled_content_share=Decimal("0.40"),
        recycled_pre_consumer_share=Decimal("0.15"),
        recycled_post_consumer_share=Decimal("0.25"),
    )
    allocation = answers.allocation_of(granted)
    assert (
        allocation.recycled_content_share,
        allocation.recycled_pre_consumer_share,
        allocation.recycled_post_consumer_share,
    ) == (Decimal("0.40"), Decimal("0.15"), Decimal("0.25"))
    # No CoC Document behind it: nothing documented, not unknown.
    assert allocation.document_ids == () and allocation.documented_mass_kg == 0


def test_why_accounting_refused_or_rejected_is_said_with_every_code():
    refused = AllocationRefused.create(
        actor=ACCOUNTING,
        occurred_at=NOW,
        claim_id="claim-1",
        owner_organisation_id=BRAND,
        requested_kg=Decimal("13000"),
        available_kg=Decimal("100"),
        reasons=[
            Reason(code="insufficient_credits", message="not enough"),
            Reason(code="frozen", message="frozen"),
        ],
    )
    assert answers.refused_because(refused) == (
        "accounting could not allocate 13000 kg: 100 kg of CoC credits free "
        "(insufficient_credits, frozen)"
    )
    rejected = LedgerCommandRejected.create(
        actor=ACCOUNTING,
        occurred_at=NOW,
        rejected_event_id=request().event_id,
        rejected_event_type="allocate_for_claim",
        reasons=[Reason(code="a", message="one"), Reason(code="b", message="two")],
    )
    assert answers.rejected_because(rejected) == (
        "accounting rejected the allocation request (a: one, b: two)"
    )


def test_a_claim_refused_on_review_releases_its_allocation_with_the_evidence():
    claim = _pending()
    claim.granted(allocation(), registry(), RULES, NOW)
    rejected, release = claim.reviewed(
        review("refuse", comment="artwork unclear"), registry(), RULES, NOW
    )
    assert isinstance(rejected, saga.Rejected) and rejected.evidence is claim.evidence
    assert rejected.evidence is not None and rejected.review is not None
    assert [_r(r) for r in rejected.reasons] == [
        (
            ClaimReason.REFUSED_BY_SECRETARIAT,
            "decision",
            "refused by the secretariat on review: artwork unclear",
        )
    ]
    assert release == saga.Release("refused by the secretariat")
    assert claim.status is Status.REJECTED and claim.allocation_held is False


def test_a_timed_out_claim_is_rejected_with_its_evidence_and_releases():
    claim = _pending()
    rejected, release = claim.clock(NOW + TIMEOUT)
    assert rejected.evidence is claim.evidence and rejected.evidence is not None
    assert [_r(r) for r in rejected.reasons] == [_r(answers.timeout_reason())]
    assert release == saga.Release("allocation timed out")


@pytest.mark.parametrize(
    ("status", "kind", "code"),
    [
        (CertificateStatus.WITHDRAWN, saga.Revoked, ClaimReason.CERTIFICATE_WITHDRAWN),
        (CertificateStatus.SUSPENDED, saga.Revoked, ClaimReason.CERTIFICATE_SUSPENDED),
        (CertificateStatus.EXPIRED, saga.Expired, ClaimReason.CERTIFICATE_EXPIRED),
    ],
)
def test_a_change_to_a_certificate_the_approval_rests_on_closes_it_with_its_code(
    status, kind, code
):
    claim = _approved()
    [closed] = claim.certificate_changed(coc(status=status), TODAY)
    assert type(closed) is kind and closed.approval_code == claim.approval_code
    assert [(r.code, r.field) for r in closed.reasons] == [(code, "certificates")]


def test_an_approved_text_is_filled_with_the_requests_certificate_number_and_link():
    text = ApprovedText(
        text_id="cert-en",
        version=1,
        claim_type=ClaimType.CERTIFIED_TEXT,
        language="en",
        template="Certified by ASI, certificate {certificate_number}. {link}",
        auto_approve=True,
    )
    req = request(ClaimType.CERTIFIED_TEXT)
    assert texts.filled(text, req) == f"Certified by ASI, certificate {COC_NUMBER}. {req.link}"


# ---- the figure a recycled-content or carbon-footprint claim must print ----


def _wording_refusals(req) -> list[tuple[str, str | None, str]]:
    return [_r(r) for r in check_wording(req, RULES) if r.code == ClaimReason.MISSING_ELEMENT]


def test_a_claim_without_its_figure_is_refused_on_the_figures_field():
    share = request(ClaimType.RECYCLED_CONTENT, recycled_content_share=None)
    assert _wording_refusals(share) == [
        (
            ClaimReason.MISSING_ELEMENT,
            "recycled_content_share",
            "a recycled-content claim must state the recycled share it claims",
        )
    ]
    footprint = request(ClaimType.CARBON_FOOTPRINT, carbon_footprint_kg_co2e_per_kg=None)
    assert _wording_refusals(footprint) == [
        (
            ClaimReason.MISSING_ELEMENT,
            "carbon_footprint_kg_co2e_per_kg",
            "a carbon-footprint claim must state the footprint it claims",
        )
    ]


@pytest.mark.parametrize(
    ("printed", "ok"),
    [("0.5", True), ("0.50", True), ("5", False)],
)
def test_a_footprint_below_one_is_found_as_printed_with_its_leading_zero(printed, ok):
    req = request(
        ClaimType.CARBON_FOOTPRINT,
        carbon_footprint_kg_co2e_per_kg=Decimal("0.50"),
        wording=f"Aluminium footprint: {printed} kg CO2e per kg (mass balance)",
    )
    expected = (
        []
        if ok
        else [
            (
                ClaimReason.MISSING_ELEMENT,
                "wording",
                "the wording must state the claimed footprint (0.5 kg CO2e per kg)",
            )
        ]
    )
    assert _wording_refusals(req) == expected


def test_a_figure_given_on_another_claim_type_is_not_checked_against_the_documents():
    logo = request(
        recycled_content_share=Decimal("0.9"), carbon_footprint_kg_co2e_per_kg=Decimal("1")
    )
    assert checks.allocation_reasons(logo, allocation()) == []
    unstated = request(ClaimType.RECYCLED_CONTENT, recycled_content_share=None)
    assert checks.allocation_reasons(unstated, allocation(recycled=None)) == []


def test_a_claimant_that_is_not_a_member_is_refused_on_the_claimant():
    assert refusals(reg=registry(members=())) == [
        (ClaimReason.NOT_A_MEMBER, "claimant_organisation_id")
    ]


def test_the_unused_mass_rounds_down_even_above_half_a_gram():
    assert returnable_kg(Decimal("10"), Decimal("3.0004")) == Decimal("6.999")


def test_a_new_revision_of_a_certificate_still_covering_the_product_keeps_the_approval():
    product = request().product.product_id
    covering = coc(products=(product,))
    claim = Claim.requested(request(), "h1", registry(ps(), covering), RULES, NOW, TIMEOUT)[0]
    claim.granted(allocation(), registry(ps(), covering), RULES, NOW)
    claim.reviewed(review(), registry(ps(), covering), RULES, NOW)
    assert claim.status is Status.APPROVED
    assert claim.certificate_changed(coc(products=(product,), revision=2), TODAY) == []
    assert claim.status is Status.APPROVED


def test_a_stated_certificate_number_is_checked_even_when_the_wording_does_not_print_it():
    req = request(ClaimType.CERTIFIED_TEXT, certificate_number="ASI-COC-2099-00001")
    assert (ClaimReason.CERTIFICATE_NUMBER_INVALID, "certificate_number") in refusals(req)
