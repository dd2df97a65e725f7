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
from services.claims.domain.state import Loaded


def to_check(
    messages: Sequence[Any], loaded: Loaded
) -> tuple[list[ClaimRequested], list[ClaimRequested]]:
    """The requests a batch of claims.requests.v1 checks: new claims, and claims the secretariat
    decides (the checks run again on approval)."""
    claims = loaded.claims
    fresh = [m for m in messages if isinstance(m, ClaimRequested) and m.claim_id not in claims]
    reviewed = [
        claim.request
        for m in messages
        if isinstance(m, ClaimReviewDecided)
        and (claim := claims.get(m.claim_id)) is not None
        and claim.status is Status.AWAITING_REVIEW
    ]
    return fresh, reviewed


def answered(messages: Sequence[Envelope]) -> tuple[list[str], list[str]]:
    """The claims accounting's answers are about: by claim id, and by allocation command id."""
    ids = [m.claim_id for m in messages if isinstance(m, AllocationGranted | AllocationRefused)]
    command_ids = [
        str(m.rejected_event_id)
        for m in messages
        if isinstance(m, LedgerCommandRejected) and m.rejected_event_type == AllocateForClaim.TYPE
    ]
    return ids, command_ids
