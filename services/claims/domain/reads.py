"""What a batch reads before its messages are applied in order: the claims and requests its
messages are about, so the store is asked once per batch, not once per message. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from contracts.claims import ClaimRequested, ClaimReviewDecided
from contracts.common import Envelope
from contracts.ledger import (
    AllocateForClaim,
    AllocationGranted,
    AllocationRefused,
    LedgerCommandRejected,
)
from services.claims.domain.effects import Status
from services.claims.domain.identity import claim_key
from services.claims.domain.state import Loaded


def to_check(
    messages: Sequence[Any], loaded: Loaded
) -> tuple[list[ClaimRequested], list[ClaimRequested]]:
    """The requests a batch of claims.requests.v1 checks: new claims, and claims the secretariat
    decides (the checks run again on approval)."""
    claims = loaded.claims
    fresh = [m for m in messages if isinstance(m, ClaimRequested) and _key(m) not in claims]
    reviewed = [
        claim.request
        for m in messages
        if isinstance(m, ClaimReviewDecided)
        and (claim := claims.get(_key(m))) is not None
        and claim.status is Status.AWAITING_REVIEW
    ]
    return fresh, reviewed


def key_of(message: Any) -> str | None:
    """The key of the claim a message of claims.requests.v1 is about (None: texts and claim type
    statuses, which share the topic but are no claim)."""
    claimant = getattr(message, "claimant_organisation_id", None)
    return None if claimant is None else claim_key(claimant, message.claim_id)


def _key(message: ClaimRequested | ClaimReviewDecided) -> str:
    return claim_key(message.claimant_organisation_id, message.claim_id)


def keys_of(messages: Sequence[Any]) -> list[str]:
    return [key for m in messages if (key := key_of(m)) is not None]


def answered(messages: Sequence[Envelope]) -> tuple[list[str], list[str]]:
    """The claims accounting's answers are about: by claim key (the owner is the claimant), and by
    allocation command id."""
    ids = [
        claim_key(m.owner_organisation_id, m.claim_id)
        for m in messages
        if isinstance(m, AllocationGranted | AllocationRefused)
    ]
    command_ids = [
        str(m.rejected_event_id)
        for m in messages
        if isinstance(m, LedgerCommandRejected) and m.rejected_event_type == AllocateForClaim.TYPE
    ]
    return ids, command_ids
