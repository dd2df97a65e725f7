"""What makes two claim requests the same, and why a message on `claims.requests.v1` is refused
before any claim's saga sees it (the saga's own refusals are in `saga.py`, `review.py`, `usage.py`).

Source: issue 4 (idempotent requests: a redelivery is a no-op, a changed request is refused) and
issue 18 (only the secretariat reviews, publishes texts and sets claim type statuses)."""

from __future__ import annotations

import hashlib
import json

from contracts.claims import (
    ClaimReason,
    ClaimRequested,
    ClaimReviewDecided,
    ClaimUsageReported,
    ClaimWithdrawn,
)
from contracts.common import Reason, Role

_ENVELOPE_ONLY = {"event_id", "occurred_at", "correlation_id", "causation_id"}


def request_hash(request: ClaimRequested) -> str:
    """What makes two requests 'the same': everything but the envelope's ids and time."""
    body = request.model_dump(mode="json", exclude=_ENVELOPE_ONLY)
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def event_id_reused_reason() -> Reason:
    return Reason(
        code=ClaimReason.REQUEST_CONFLICT,
        field="event_id",
        message="this event id was already used with different content; the first one stands",
    )


_ACTION = {
    ClaimWithdrawn: "to withdraw",
    ClaimUsageReported: "to report usage of",
    ClaimReviewDecided: "to review",
}


def unknown_claim_reason(
    message: ClaimWithdrawn | ClaimUsageReported | ClaimReviewDecided,
) -> Reason:
    what = _ACTION[type(message)]
    return Reason(
        code=ClaimReason.UNKNOWN_CLAIM,
        field="claim_id",
        message=f"no claim {message.claim_id} {what}",
    )


def acting_for(message: ClaimWithdrawn | ClaimUsageReported) -> str:
    """Who acts: the sender's organisation, or the claimant when the secretariat acts for it."""
    if message.actor.role is Role.SECRETARIAT:
        return message.claimant_organisation_id
    return message.actor.organisation_id


def secretariat_only_reason(what: str) -> Reason:
    return Reason(
        code=ClaimReason.REVIEWER_NOT_SECRETARIAT,
        field="actor",
        message=f"only the secretariat {what}",
    )


def text_version_conflict_reason(text_id: str, version: int) -> Reason:
    return Reason(
        code=ClaimReason.REQUEST_CONFLICT,
        field="version",
        message=f"version {version} of text {text_id} was published with other content; "
        "the first stands (publish a new version)",
    )


def changed_request_reason(claim_id: str, status: str) -> Reason:
    return Reason(
        code=ClaimReason.REQUEST_CONFLICT,
        field="claim_id",
        message=f"claim {claim_id} was already requested with other content; it stands as {status}",
    )


def not_claimant_reason(claimant: str, what: str) -> Reason:
    """`what`: the action refused, e.g. 'withdraw claim claim-1'."""
    return Reason(
        code=ClaimReason.REQUESTER_NOT_CLAIMANT,
        field="claimant_organisation_id",
        message=f"only {claimant} may {what}",
    )


def already_withdrawn_reason(claim_id: str) -> Reason:
    return Reason(
        code=ClaimReason.CLAIM_ALREADY_CLOSED,
        field="claim_id",
        message=f"claim {claim_id} was withdrawn; its unused mass was settled then",
    )


def never_approved_reason(claim_id: str, status: str) -> Reason:
    return Reason(
        code=ClaimReason.CLAIM_NOT_APPROVED,
        field="claim_id",
        message=f"claim {claim_id} is {status}: it was never approved",
    )
