"""The claim saga as a pure state machine: request, allocation answers, clock, withdrawal,
afterwards."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from contracts.claims import ClaimReason, ClaimType
from contracts.registry import CertificateStatus
from services.claims.domain import saga
from services.claims.domain.rule_sets import wording_rules
from services.claims.domain.saga import Claim, Status
from tests.unit.claims.builders import (
    BRAND,
    NOW,
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


def kinds(effects) -> list[type]:
    return [type(e) for e in effects]


def pending(req=None, reg=None) -> Claim:
    claim, effects = Claim.requested(req or request(), "h1", reg or registry(), RULES, NOW, TIMEOUT)
    assert kinds(effects) == [saga.Allocate, saga.Pending]
    return claim


def awaiting(reg=None, req=None) -> Claim:
    claim = pending(req=req, reg=reg)
    claim.granted(allocation(), reg or registry(), RULES, NOW)
    assert claim.status is Status.AWAITING_REVIEW
    return claim


def approved(reg=None, req=None) -> Claim:
    claim = pending(req=req, reg=reg)
    claim.granted(allocation(), reg or registry(), RULES, NOW)
    if claim.status is Status.AWAITING_REVIEW:
        claim.reviewed(review(), reg or registry(), RULES, NOW)
    assert claim.status is Status.APPROVED
    return claim


def test_a_request_that_passes_the_static_checks_asks_for_its_mass_and_waits():
    claim, effects = Claim.requested(request(), "h1", registry(), RULES, NOW, TIMEOUT)
    allocate, waiting = effects
    assert allocate == saga.Allocate(Decimal("13000"))
    assert waiting.decide_by == NOW + TIMEOUT
    assert claim.status is Status.PENDING and claim.decide_by == NOW + TIMEOUT
    assert claim.evidence.wording_rules_version == RULES.version


def test_a_request_failing_a_static_check_is_rejected_at_once_with_every_reason_nothing_allocated():
    claim, effects = Claim.requested(
        request(wording="100% traceable to the mine"), "h1", registry(ps()), RULES, NOW, TIMEOUT
    )
    [rejected] = effects
    assert isinstance(rejected, saga.Rejected)
    assert sorted(r.code for r in rejected.reasons) == sorted(
        [
            ClaimReason.NO_CURRENT_COC,
            ClaimReason.MISLEADING_WORDING,
            ClaimReason.MISLEADING_WORDING,
            ClaimReason.MISSING_ELEMENT,
        ]
    )
    assert rejected.evidence.claimed_mass_kg == Decimal("13000")
    assert claim.status is Status.REJECTED and not claim.allocation_held


def test_granted_then_approved_until_the_earliest_certificate_expiry_with_evidence():
    reg = registry(ps(valid_until=date(2027, 3, 31)), coc(valid_until=date(2028, 1, 31)))
    claim = pending(reg=reg)
    [waiting] = claim.granted(allocation(), reg, RULES, NOW + timedelta(seconds=1))
    assert isinstance(waiting, saga.AwaitingReview) and waiting.since == NOW + timedelta(seconds=1)
    assert claim.status is Status.AWAITING_REVIEW and claim.allocation_held
    approval, spend = claim.reviewed(review(), reg, RULES, NOW + timedelta(days=9, seconds=1))
    assert isinstance(approval, saga.Approved)
    assert (
        approval.review.decided_by == "asi-secretariat"
        and approval.review.comment == "artwork checked"
    )
    assert approval.review.waited_seconds == 9 * 86400
    assert spend == saga.Debit(Decimal("13000"), approval.approval_code)
    assert approval.valid_until == date(2027, 3, 31)
    assert approval.approval_code == saga.approval_code(
        saga.claim_key("brand-1", "claim-1")
    ) and approval.approval_code.startswith("RAS-")
    assert approval.evidence.allocation.mass_kg == Decimal("13000")
    assert approval.evidence.allocation.document_ids == ["doc-1", "doc-2"]
    assert [c.status for c in approval.evidence.certificates] == [CertificateStatus.ACTIVE] * 2
    assert claim.status is Status.APPROVED and claim.allocation_held and claim.decide_by is None


def test_granted_but_a_certificate_was_suspended_meanwhile_rejects_and_releases():
    claim = pending()
    effects = claim.granted(
        allocation(), registry(ps(), coc(status=CertificateStatus.SUSPENDED)), RULES, NOW
    )
    assert kinds(effects) == [saga.Rejected, saga.Release]
    assert [r.code for r in effects[0].reasons] == [ClaimReason.NO_CURRENT_COC]
    assert effects[0].evidence.allocation is not None
    assert claim.status is Status.REJECTED and not claim.allocation_held


def test_granted_but_the_documents_support_less_recycled_content_rejects_and_releases():
    req = request(
        ClaimType.RECYCLED_CONTENT, recycled_content_share=Decimal("0.5"), wording="50% recycled"
    )
    claim = pending(req)
    effects = claim.granted(allocation(recycled="0.4"), registry(), RULES, NOW)
    assert kinds(effects) == [saga.Rejected, saga.Release]
    assert [r.code for r in effects[0].reasons] == [ClaimReason.RECYCLED_CONTENT_UNSUPPORTED]


def test_refused_rejects_with_mass_not_covered_and_releases_nothing():
    claim = pending()
    [rejected] = claim.refused("only 10 kg free", registry(), RULES, NOW)
    assert isinstance(rejected, saga.Rejected)
    assert [r.code for r in rejected.reasons] == [ClaimReason.MASS_NOT_COVERED]
    assert claim.status is Status.REJECTED


def test_no_answer_before_decide_by_rejects_with_a_timeout_and_releases():
    claim = pending()
    assert claim.clock(NOW + TIMEOUT - timedelta(microseconds=1)) == []
    effects = claim.clock(NOW + TIMEOUT)
    assert kinds(effects) == [saga.Rejected, saga.Release]
    assert [r.code for r in effects[0].reasons] == [ClaimReason.ALLOCATION_TIMEOUT]
    assert claim.clock(NOW + 2 * TIMEOUT) == []


def test_a_late_grant_after_the_timeout_changes_nothing():
    claim = pending()
    claim.clock(NOW + TIMEOUT)
    assert claim.granted(allocation(), registry(), RULES, NOW + 2 * TIMEOUT) == []
    assert claim.refused("late", registry(), RULES, NOW + 2 * TIMEOUT) == []
    assert claim.status is Status.REJECTED


def test_withdrawing_a_pending_claim_releases_its_reservation_and_confirms_once():
    claim = pending()
    effects = claim.withdrawn(BRAND, "product discontinued")
    assert kinds(effects) == [saga.Release, saga.WithdrawalConfirmed]
    assert claim.status is Status.WITHDRAWN
    assert claim.withdrawn(BRAND, "again") == []
    assert claim.granted(allocation(), registry(), RULES, NOW) == []


def test_withdrawing_an_approved_claim_returns_only_the_unused_part_once():
    claim = approved()
    [recorded] = claim.usage_reported(usage(units=400_000), BRAND)
    assert (recorded.used_kg, recorded.approved_kg, recorded.unused_kg) == (
        Decimal("5200.000"),
        Decimal(13000),
        Decimal("7800.000"),
    )
    back, confirmed = claim.withdrawn(BRAND, "product discontinued")
    assert back == saga.ReturnUnused(
        Decimal("7800.000"), Decimal("5200.000"), "withdrawn by the claimant: product discontinued"
    )
    assert (confirmed.used_kg, confirmed.returned_kg) == (Decimal("5200.000"), Decimal("7800.000"))
    assert claim.status is Status.WITHDRAWN and claim.withdrawn(BRAND, "again") == []


def test_withdrawing_a_fully_used_claim_returns_nothing():
    claim = approved()
    claim.usage_reported(usage(units=1_000_000), BRAND)
    [confirmed] = claim.withdrawn(BRAND, "campaign over")
    assert isinstance(confirmed, saga.WithdrawalConfirmed) and confirmed.returned_kg == 0


def test_withdrawing_a_rejected_claim_confirms_without_a_release():
    claim, _ = Claim.requested(request(link=None), "h1", registry(), RULES, NOW, TIMEOUT)
    assert kinds(claim.withdrawn(BRAND, "never mind")) == [saga.WithdrawalConfirmed]


def test_only_the_claimant_withdraws():
    claim = approved()
    [refused] = claim.withdrawn("rival", "mischief")
    assert (
        isinstance(refused, saga.Refused)
        and refused.reasons[0].code == ClaimReason.REQUESTER_NOT_CLAIMANT
    )
    assert claim.status is Status.APPROVED


@pytest.mark.parametrize(
    "status, outcome, code",
    [
        (CertificateStatus.SUSPENDED, saga.Revoked, ClaimReason.CERTIFICATE_SUSPENDED),
        (CertificateStatus.WITHDRAWN, saga.Revoked, ClaimReason.CERTIFICATE_WITHDRAWN),
        (CertificateStatus.EXPIRED, saga.Expired, ClaimReason.CERTIFICATE_EXPIRED),
    ],
)
def test_the_claimants_certificate_changing_status_revokes_or_expires_it_and_the_mass_stays_spent(
    status, outcome, code
):
    claim = approved()
    effects = claim.certificate_changed(coc(status=status, revision=2), NOW.date())
    assert kinds(effects) == [outcome]
    assert effects[0].approval_code == claim.approval_code and effects[0].reasons[0].code == code
    assert claim.status is (Status.REVOKED if outcome is saga.Revoked else Status.EXPIRED)
    assert (
        claim.certificate_changed(coc(status=CertificateStatus.ACTIVE, revision=3), NOW.date())
        == []
    )


def test_a_scope_that_no_longer_covers_the_product_revokes():
    claim = approved()
    effects = claim.certificate_changed(coc(products=("GTIN-other",), revision=2), NOW.date())
    assert kinds(effects) == [saga.Revoked]
    assert effects[0].reasons[0].code == ClaimReason.PRODUCT_NOT_COVERED


@pytest.mark.parametrize(
    "cert",
    [
        coc(certificate_id="unrelated", status=CertificateStatus.SUSPENDED),
        coc(status=CertificateStatus.PROVISIONAL, revision=2),
        coc(status=CertificateStatus.SUPERSEDED, revision=2),
    ],
)
def test_other_certificate_changes_leave_the_approval_alone(cert):
    claim = approved()
    assert claim.certificate_changed(cert, NOW.date()) == []
    assert claim.status is Status.APPROVED


def test_a_pending_claim_ignores_certificate_changes_until_its_allocation_answer_rechecks_them():
    claim = pending()
    assert (
        claim.certificate_changed(coc(status=CertificateStatus.SUSPENDED, revision=2), NOW.date())
        == []
    )
    assert claim.status is Status.PENDING


def test_an_approval_expires_by_the_clock_the_day_after_valid_until():
    claim = approved(registry(ps(valid_until=date(2026, 6, 30)), coc()))
    assert claim.valid_until == date(2026, 6, 30)
    assert claim.clock(NOW.replace(month=6, day=30, hour=23)) == []
    effects = claim.clock(NOW.replace(month=7, day=1, hour=0))
    assert kinds(effects) == [saga.Expired]
    assert claim.status is Status.EXPIRED


def test_the_same_request_again_is_a_no_op_and_a_changed_one_is_a_conflict():
    claim = pending()
    assert claim.resubmitted(request(), "h1") == []
    [refused] = claim.resubmitted(request(units=5), "h2")
    assert (
        isinstance(refused, saga.Refused)
        and refused.reasons[0].code == ClaimReason.REQUEST_CONFLICT
    )
    assert claim.status is Status.PENDING


def test_approval_codes_are_short_identifiers_and_differ_per_claim():
    codes = {saga.approval_code(f"claim-{i}") for i in range(2000)}
    assert len(codes) == 2000
    assert all(len(c) == 18 and c.replace("-", "").isalnum() for c in codes)


# ---- claims spend mass: usage, suppliers, refusals naming the holders ----------------------------


def refusal_of(effects) -> list[tuple[str, str]]:
    [refused] = effects
    assert isinstance(refused, saga.Refused)
    return [(r.code, r.field) for r in refused.reasons]


def test_usage_is_recorded_per_period_and_a_repeat_of_the_same_report_changes_nothing():
    claim = approved()
    [recorded] = claim.usage_reported(usage(100_000), BRAND)
    assert (recorded.units, recorded.used_units, recorded.unused_kg) == (
        100_000,
        100_000,
        Decimal("11700.000"),
    )
    assert claim.usage_reported(usage(100_000), BRAND) == []
    assert claim.used.used_units == 100_000


def test_usage_beyond_the_approved_units_is_refused_with_its_field():
    claim = approved()
    claim.usage_reported(usage(600_000), BRAND)
    later = usage(400_001, start=date(2026, 10, 1), end=date(2026, 12, 31))
    assert refusal_of(claim.usage_reported(later, BRAND)) == [
        (ClaimReason.USAGE_EXCEEDS_APPROVED, "units")
    ]
    assert claim.used.used_units == 600_000


def test_usage_beyond_the_approved_mass_of_a_claim_by_mass_is_refused():
    claim = approved(req=request(units=None, total_mass_kg="13000"))
    assert refusal_of(claim.usage_reported(usage(1_000_001), BRAND)) == [
        (ClaimReason.USAGE_EXCEEDS_APPROVED, "units")
    ]
    assert len(claim.usage_reported(usage(1_000_000), BRAND)) == 1


def test_other_figures_for_a_reported_period_are_refused_and_the_first_stand():
    claim = approved()
    claim.usage_reported(usage(100_000), BRAND)
    assert refusal_of(claim.usage_reported(usage(50_000), BRAND)) == [
        (ClaimReason.USAGE_CONFLICT, "units")
    ]
    assert claim.used.used_units == 100_000


def test_usage_outside_the_claims_period_or_by_someone_else_is_refused():
    claim = approved()
    early = usage(10, start=date(2026, 6, 1), end=date(2026, 6, 30))
    assert refusal_of(claim.usage_reported(early, BRAND)) == [
        (ClaimReason.INVALID_REQUEST, "period_start")
    ]
    assert refusal_of(claim.usage_reported(usage(10, org="rival"), "rival")) == [
        (ClaimReason.REQUESTER_NOT_CLAIMANT, "claimant_organisation_id")
    ]


def test_usage_of_a_claim_never_approved_or_already_withdrawn_is_refused():
    assert refusal_of(pending().usage_reported(usage(10), BRAND)) == [
        (ClaimReason.CLAIM_NOT_APPROVED, "claim_id")
    ]
    claim = approved()
    claim.withdrawn(BRAND, "done")
    assert refusal_of(claim.usage_reported(usage(10), BRAND)) == [
        (ClaimReason.CLAIM_ALREADY_CLOSED, "claim_id")
    ]


def test_a_revoked_claim_still_records_usage_but_returns_nothing_when_withdrawn():
    claim = approved()
    claim.certificate_changed(coc(status=CertificateStatus.SUSPENDED, revision=2), NOW.date())
    assert len(claim.usage_reported(usage(100_000), BRAND)) == 1
    assert kinds(claim.withdrawn(BRAND, "gone")) == [saga.WithdrawalConfirmed]


def test_a_named_suppliers_suspension_leaves_the_approval_standing():
    supplier = coc(org="can-maker", number="ASI-COC-2026-000077", certificate_id="cert-can-maker")
    product = request().product.model_copy(update={"supplier_organisation_ids": ["can-maker"]})
    reg = registry(ps(), coc(), supplier)
    claim = approved(reg=reg, req=request(product=product))
    assert "cert-can-maker" not in claim.certificate_ids
    suspended = supplier.model_copy(update={"status": CertificateStatus.SUSPENDED, "revision": 2})
    assert claim.certificate_changed(suspended, NOW.date()) == []
    claim.certificate_ids.append("cert-can-maker")  # as an approval stored before the rule changed
    assert claim.certificate_changed(suspended, NOW.date()) == []
    assert claim.status is Status.APPROVED


def test_a_refusal_for_mass_names_the_claims_that_hold_it():
    claim = pending()
    [rejected] = claim.refused(
        "not enough", registry(), RULES, NOW, held_by=("claim-0", "claim-7", "claim-1")
    )
    assert [(r.code, r.field) for r in rejected.reasons] == [
        (ClaimReason.MASS_NOT_COVERED, "product"),
        (ClaimReason.MASS_ALREADY_CLAIMED, "product"),
    ]
    assert (
        "claims claim-0, claim-7" in rejected.reasons[1].message
        and "claim-1" not in rejected.reasons[1].message
    )
