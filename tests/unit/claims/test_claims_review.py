"""The secretariat's review queue (issue 18 item 1): an on-pack claim waits with its mass reserved;
the secretariat approves (the mass is spent) or refuses (it is released); who decided is
recorded."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from contracts.claims import ClaimReason, ClaimType, ReviewDecision
from contracts.common import Actor, Role
from contracts.registry import CertificateStatus
from services.claims.domain import saga
from services.claims.domain.rule_sets import wording_rules
from services.claims.domain.saga import Claim, Status
from tests.unit.claims.builders import NOW, allocation, coc, ps, registry, request, review

RULES = wording_rules()


def awaiting(req=None) -> Claim:
    claim, _ = Claim.requested(
        req or request(), "h1", registry(), RULES, NOW, timedelta(seconds=30)
    )
    [effect] = claim.granted(allocation(), registry(), RULES, NOW)
    assert isinstance(effect, saga.AwaitingReview)
    return claim


def test_an_on_pack_claim_passing_every_check_waits_for_the_secretariat_with_its_mass_reserved():
    claim = awaiting()
    assert (
        claim.status is Status.AWAITING_REVIEW
        and claim.allocation_held
        and claim.approval_code is None
    )
    assert claim.awaiting_since == NOW
    assert (
        claim.clock(NOW + timedelta(days=365)) == []
    )  # no review timeout: it waits for a decision


def test_a_claim_type_the_secretariat_does_not_review_is_approved_on_the_grant():
    req = request(ClaimType.CERTIFIED_TEXT)
    claim, _ = Claim.requested(req, "h1", registry(), RULES, NOW, timedelta(seconds=30))
    effects = claim.granted(allocation(), registry(), RULES, NOW)
    assert [type(e) for e in effects] == [saga.Approved, saga.Debit]


def test_the_secretariat_approves_and_the_reserved_mass_is_spent_with_who_decided_and_the_wait():
    claim = awaiting()
    approval, debit = claim.reviewed(
        review(comment="logo placement fine"), registry(), RULES, NOW + timedelta(hours=5)
    )
    assert debit == saga.Debit(Decimal("13000"), approval.approval_code)
    assert (approval.review.decided_by, approval.review.reviewer_key_id) == (
        "asi-secretariat",
        "key-sec-1",
    )
    assert (
        approval.review.decision is ReviewDecision.APPROVE
        and approval.review.comment == "logo placement fine"
    )
    assert approval.review.waited_seconds == 5 * 3600
    assert claim.status is Status.APPROVED


def test_a_refusal_releases_the_reservation_with_the_comment_as_reason():
    claim = awaiting()
    rejected, release = claim.reviewed(
        review("refuse", comment="logo too small"), registry(), RULES, NOW
    )
    assert isinstance(release, saga.Release)
    [reason] = rejected.reasons
    assert (reason.code, reason.field) == (ClaimReason.REFUSED_BY_SECRETARIAT, "decision")
    assert "logo too small" in reason.message
    assert rejected.review.decision is ReviewDecision.REFUSE
    assert claim.status is Status.REJECTED and not claim.allocation_held


def test_an_approval_re_runs_the_checks_and_a_certificate_suspended_since_rejects_and_releases():
    claim = awaiting()
    effects = claim.reviewed(
        review(), registry(ps(), coc(status=CertificateStatus.SUSPENDED)), RULES, NOW
    )
    assert [type(e) for e in effects] == [saga.Rejected, saga.Release]
    assert effects[0].reasons[0].code == ClaimReason.NO_CURRENT_COC
    assert claim.status is Status.REJECTED and claim.approval_code is None


def test_only_the_secretariat_decides():
    claim = awaiting()
    brand = Actor(organisation_id="brand-1", role=Role.BRAND_OWNER)
    [refused] = claim.reviewed(review(actor=brand), registry(), RULES, NOW)
    [reason] = refused.reasons
    assert (reason.code, reason.field) == (ClaimReason.REVIEWER_NOT_SECRETARIAT, "actor")
    assert claim.status is Status.AWAITING_REVIEW


def test_a_claim_is_decided_once_and_a_second_decision_is_refused():
    claim = awaiting()
    claim.reviewed(review(), registry(), RULES, NOW)
    [refused] = claim.reviewed(review("refuse"), registry(), RULES, NOW)
    [reason] = refused.reasons
    assert (reason.code, reason.field) == (ClaimReason.NOT_AWAITING_REVIEW, "claim_id")
    assert claim.status is Status.APPROVED


def test_a_pending_claim_cannot_be_decided_before_its_mass_is_reserved():
    claim, _ = Claim.requested(request(), "h1", registry(), RULES, NOW, timedelta(seconds=30))
    [refused] = claim.reviewed(review(), registry(), RULES, NOW)
    assert refused.reasons[0].code == ClaimReason.NOT_AWAITING_REVIEW


def test_withdrawing_a_claim_awaiting_review_releases_its_reservation():
    claim = awaiting()
    effects = claim.withdrawn("brand-1", "artwork changed")
    assert [type(e) for e in effects] == [saga.Release, saga.WithdrawalConfirmed]
    assert claim.status is Status.WITHDRAWN and not claim.allocation_held
