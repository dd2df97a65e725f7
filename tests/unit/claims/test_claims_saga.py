"""The claim saga as a pure state machine: request, allocation answers, clock, withdrawal, afterwards."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from contracts.claims import ClaimReason, ClaimType
from contracts.registry import CertificateStatus
from services.claims.domain import saga
from services.claims.domain.rule_sets import wording_rules
from services.claims.domain.saga import Claim, Status
from tests.unit.claims.builders import BRAND, NOW, allocation, coc, ps, registry, request

RULES = wording_rules()
TIMEOUT = timedelta(seconds=30)


def kinds(effects) -> list[type]:
    return [type(e) for e in effects]


def pending(req=None, reg=None) -> Claim:
    claim, effects = Claim.requested(req or request(), "h1", reg or registry(), RULES, NOW, TIMEOUT)
    assert kinds(effects) == [saga.Allocate, saga.Pending]
    return claim


def approved(reg=None) -> Claim:
    claim = pending(reg=reg)
    claim.granted(allocation(), reg or registry(), RULES, NOW)
    assert claim.status is Status.APPROVED
    return claim


def test_a_request_that_passes_the_static_checks_asks_for_its_mass_and_waits():
    claim, effects = Claim.requested(request(), "h1", registry(), RULES, NOW, TIMEOUT)
    allocate, waiting = effects
    assert allocate == saga.Allocate(Decimal("13000"))
    assert waiting.decide_by == NOW + TIMEOUT
    assert claim.status is Status.PENDING and claim.decide_by == NOW + TIMEOUT
    assert claim.evidence.wording_rules_version == RULES.version


def test_a_request_failing_a_static_check_is_rejected_at_once_with_every_reason_and_nothing_allocated():
    claim, effects = Claim.requested(request(wording="100% traceable to the mine"), "h1", registry(ps()),
                                     RULES, NOW, TIMEOUT)
    [rejected] = effects
    assert isinstance(rejected, saga.Rejected)
    assert sorted(r.code for r in rejected.reasons) == sorted([
        ClaimReason.NO_CURRENT_COC, ClaimReason.MISLEADING_WORDING, ClaimReason.MISLEADING_WORDING,
        ClaimReason.MISSING_ELEMENT])
    assert rejected.evidence.claimed_mass_kg == Decimal("13000")
    assert claim.status is Status.REJECTED and not claim.allocation_held


def test_granted_then_approved_until_the_earliest_certificate_expiry_with_evidence():
    reg = registry(ps(valid_until=date(2027, 3, 31)), coc(valid_until=date(2028, 1, 31)))
    claim = pending(reg=reg)
    [approval] = claim.granted(allocation(), reg, RULES, NOW + timedelta(seconds=1))
    assert isinstance(approval, saga.Approved)
    assert approval.valid_until == date(2027, 3, 31)
    assert approval.approval_code == saga.approval_code("claim-1") and approval.approval_code.startswith("RAS-")
    assert approval.evidence.allocation.mass_kg == Decimal("13000")
    assert approval.evidence.allocation.document_ids == ["doc-1", "doc-2"]
    assert [c.status for c in approval.evidence.certificates] == [CertificateStatus.ACTIVE] * 2
    assert claim.status is Status.APPROVED and claim.allocation_held and claim.decide_by is None


def test_granted_but_a_certificate_was_suspended_meanwhile_rejects_and_releases():
    claim = pending()
    effects = claim.granted(allocation(), registry(ps(), coc(status=CertificateStatus.SUSPENDED)), RULES, NOW)
    assert kinds(effects) == [saga.Rejected, saga.Release]
    assert [r.code for r in effects[0].reasons] == [ClaimReason.NO_CURRENT_COC]
    assert effects[0].evidence.allocation is not None
    assert claim.status is Status.REJECTED and not claim.allocation_held


def test_granted_but_the_documents_support_less_recycled_content_rejects_and_releases():
    req = request(ClaimType.RECYCLED_CONTENT, recycled_content_share=Decimal("0.5"), wording="50% recycled")
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


@pytest.mark.parametrize("make", [pending, approved])
def test_withdrawing_an_open_claim_releases_and_confirms_once(make):
    claim = make()
    effects = claim.withdrawn(BRAND, "product discontinued")
    assert kinds(effects) == [saga.Release, saga.WithdrawalConfirmed]
    assert claim.status is Status.WITHDRAWN
    assert claim.withdrawn(BRAND, "again") == []
    assert claim.granted(allocation(), registry(), RULES, NOW) == []


def test_withdrawing_a_rejected_claim_confirms_without_a_release():
    claim, _ = Claim.requested(request(link=None), "h1", registry(), RULES, NOW, TIMEOUT)
    assert kinds(claim.withdrawn(BRAND, "never mind")) == [saga.WithdrawalConfirmed]


def test_only_the_claimant_withdraws():
    claim = approved()
    [refused] = claim.withdrawn("rival", "mischief")
    assert isinstance(refused, saga.Refused) and refused.reasons[0].code == ClaimReason.REQUESTER_NOT_CLAIMANT
    assert claim.status is Status.APPROVED


@pytest.mark.parametrize("status, outcome, code", [
    (CertificateStatus.SUSPENDED, saga.Revoked, ClaimReason.CERTIFICATE_SUSPENDED),
    (CertificateStatus.WITHDRAWN, saga.Revoked, ClaimReason.CERTIFICATE_WITHDRAWN),
    (CertificateStatus.EXPIRED, saga.Expired, ClaimReason.CERTIFICATE_EXPIRED),
])
def test_a_certificate_the_approval_rests_on_changing_status_revokes_or_expires_it_and_releases(status, outcome, code):
    claim = approved()
    effects = claim.certificate_changed(coc(status=status, revision=2), NOW.date())
    assert kinds(effects) == [outcome, saga.Release]
    assert effects[0].approval_code == claim.approval_code and effects[0].reasons[0].code == code
    assert claim.status is (Status.REVOKED if outcome is saga.Revoked else Status.EXPIRED)
    assert claim.certificate_changed(coc(status=CertificateStatus.ACTIVE, revision=3), NOW.date()) == []


def test_a_scope_that_no_longer_covers_the_product_revokes():
    claim = approved()
    effects = claim.certificate_changed(coc(products=("GTIN-other",), revision=2), NOW.date())
    assert kinds(effects) == [saga.Revoked, saga.Release]
    assert effects[0].reasons[0].code == ClaimReason.PRODUCT_NOT_COVERED


@pytest.mark.parametrize("cert", [
    coc(certificate_id="unrelated", status=CertificateStatus.SUSPENDED),
    coc(status=CertificateStatus.PROVISIONAL, revision=2),
    coc(status=CertificateStatus.SUPERSEDED, revision=2),
])
def test_other_certificate_changes_leave_the_approval_alone(cert):
    claim = approved()
    assert claim.certificate_changed(cert, NOW.date()) == []
    assert claim.status is Status.APPROVED


def test_a_pending_claim_ignores_certificate_changes_until_its_allocation_answer_rechecks_them():
    claim = pending()
    assert claim.certificate_changed(coc(status=CertificateStatus.SUSPENDED, revision=2), NOW.date()) == []
    assert claim.status is Status.PENDING


def test_an_approval_expires_by_the_clock_the_day_after_valid_until():
    claim = approved(registry(ps(valid_until=date(2026, 6, 30)), coc()))
    assert claim.valid_until == date(2026, 6, 30)
    assert claim.clock(NOW.replace(month=6, day=30, hour=23)) == []
    effects = claim.clock(NOW.replace(month=7, day=1, hour=0))
    assert kinds(effects) == [saga.Expired, saga.Release]
    assert claim.status is Status.EXPIRED


def test_the_same_request_again_is_a_no_op_and_a_changed_one_is_a_conflict():
    claim = pending()
    assert claim.resubmitted(request(), "h1") == []
    [refused] = claim.resubmitted(request(units=5), "h2")
    assert isinstance(refused, saga.Refused) and refused.reasons[0].code == ClaimReason.REQUEST_CONFLICT
    assert claim.status is Status.PENDING


def test_approval_codes_are_short_identifiers_and_differ_per_claim():
    codes = {saga.approval_code(f"claim-{i}") for i in range(2000)}
    assert len(codes) == 2000
    assert all(len(c) == 18 and c.replace("-", "").isalnum() for c in codes)
