"""`claims.requests.v1` (brand owners) and `claims.decisions.v1` (claims), keyed by claim id.

A claim id is chosen by its claimant and is the claimant's own: a claim is identified by
(`claimant_organisation_id`, `claim_id`), so two brand owners may use the same claim id and neither
learns of the other's claim. The partition key stays the claim id (every message about a claim
carries it, so a claim's messages keep their order; two owners' claims of one id share a partition,
which changes nothing).

The messages live in one module per concern; this package re-exports every one of them (import from
`contracts.claims`, never from a module of it) and holds the two topics' unions:

| module | holds |
| --- | --- |
| `reasons.py` | `ClaimReason`, the reason codes claims sends |
| `requests.py` | a brand owner's request, withdrawal and usage reports |
| `secretariat.py` | review decisions, claim texts, claim-type status, and the `Review` a decision records |
| `footprints.py` | PACT product carbon footprints submitted, and the footprint evidence of a decision |
| `decisions.py` | every decision on a claim, plausibility alerts, and the evidence they rest on |
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from contracts.claims.decisions import (
    AllocationEvidence,
    CertificateEvidence,
    ClaimApproved,
    ClaimAwaitingReview,
    ClaimExpired,
    ClaimPending,
    ClaimRejected,
    ClaimRequestRefused,
    ClaimRevoked,
    ClaimUsageRecorded,
    ClaimWithdrawalConfirmed,
    Evidence,
    PlausibilityAlertRaised,
    PlausibilityEvidence,
)
from contracts.claims.footprints import FootprintEvidence, FootprintSubmitted, footprint_key
from contracts.claims.reasons import ClaimReason
from contracts.claims.requests import (
    CLAIM_ID,
    ClaimProduct,
    ClaimRequested,
    ClaimType,
    ClaimUsageReported,
    ClaimWithdrawn,
)
from contracts.claims.secretariat import (
    ClaimReviewDecided,
    ClaimTextPublished,
    ClaimTypeStatus,
    ClaimTypeStatusSet,
    Review,
    ReviewDecision,
)

__all__ = [
    "CLAIM_ID",
    "AllocationEvidence",
    "CertificateEvidence",
    "ClaimApproved",
    "ClaimAwaitingReview",
    "ClaimDecision",
    "ClaimExpired",
    "ClaimPending",
    "ClaimProduct",
    "ClaimReason",
    "ClaimRejected",
    "ClaimRequest",
    "ClaimRequestRefused",
    "ClaimRequested",
    "ClaimReviewDecided",
    "ClaimRevoked",
    "ClaimTextPublished",
    "ClaimType",
    "ClaimTypeStatus",
    "ClaimTypeStatusSet",
    "ClaimUsageRecorded",
    "ClaimUsageReported",
    "ClaimWithdrawalConfirmed",
    "ClaimWithdrawn",
    "Evidence",
    "FootprintEvidence",
    "FootprintSubmitted",
    "PlausibilityAlertRaised",
    "PlausibilityEvidence",
    "Review",
    "ReviewDecision",
    "footprint_key",
]


ClaimRequest = Annotated[ClaimRequested | ClaimWithdrawn | ClaimUsageReported | ClaimReviewDecided
                         | ClaimTextPublished | ClaimTypeStatusSet | FootprintSubmitted, Field(discriminator="type")]
"""What `claims.requests.v1` carries, told apart by `type`."""

ClaimDecision = Annotated[
    ClaimPending
    | ClaimAwaitingReview
    | ClaimApproved
    | ClaimRejected
    | ClaimRevoked
    | ClaimExpired
    | ClaimWithdrawalConfirmed
    | ClaimUsageRecorded
    | ClaimRequestRefused
    | PlausibilityAlertRaised,
    Field(discriminator="type"),
]
"""What `claims.decisions.v1` carries, told apart by `type`."""
