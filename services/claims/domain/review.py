"""The secretariat's review: which claims wait for it, and what a review decision does.

Source: `../shared/domain.md` (beside the repository), Claims: "On-product (on-pack) claims always
need ASI approval"; "automatic checks prepare the decision; the secretariat makes it"; issue 18,
item 1.

There is no review timeout: ASI's process takes weeks and no normative text bounds it. A claim
waits, its mass reserved, until the secretariat decides or the claimant withdraws (our choice: a
timeout would either approve without ASI, or refuse a claim for the secretariat's delay).
"""

from __future__ import annotations

from datetime import datetime

from contracts.claims import ClaimReason, ClaimReviewDecided, ClaimType, Review, ReviewDecision
from contracts.common import Reason

REVIEWED_CLAIM_TYPES: frozenset[ClaimType] = frozenset({ClaimType.ON_PACK_LOGO})
"""Claim types the secretariat decides (on-pack claims always need ASI approval)."""


def needs_review(claim_type: ClaimType) -> bool:
    return claim_type in REVIEWED_CLAIM_TYPES


def waited_seconds(awaiting_since: datetime, now: datetime) -> int:
    """Whole seconds in the queue (never negative, whatever the clocks say)."""
    return max(0, int((now - awaiting_since).total_seconds()))


def record_of(decision: ClaimReviewDecided, awaiting_since: datetime, now: datetime) -> Review:
    """The secretariat's decision as the claim records it, with how long the claim waited."""
    return Review(
        decided_by=decision.actor.organisation_id,
        reviewer_key_id=decision.reviewer_key_id,
        decision=decision.decision,
        comment=decision.comment,
        awaiting_since=awaiting_since,
        waited_seconds=waited_seconds(awaiting_since, now),
    )


def refusal_reason(comment: str) -> Reason:
    return Reason(
        code=ClaimReason.REFUSED_BY_SECRETARIAT,
        field="decision",
        message=f"refused by the secretariat on review: {comment}"[:2000],
    )


def not_awaiting_reason(claim_id: str, status: str) -> Reason:
    return Reason(
        code=ClaimReason.NOT_AWAITING_REVIEW,
        field="claim_id",
        message=f"claim {claim_id} is {status}, not awaiting review",
    )


def reviewer_not_secretariat_reason() -> Reason:
    return Reason(
        code=ClaimReason.REVIEWER_NOT_SECRETARIAT,
        field="actor",
        message="only the secretariat decides a claim on review",
    )


__all__ = [
    "REVIEWED_CLAIM_TYPES",
    "ReviewDecision",
    "needs_review",
    "not_awaiting_reason",
    "refusal_reason",
    "reviewer_not_secretariat_reason",
    "waited_seconds",
]
