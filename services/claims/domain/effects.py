"""What the claim saga decides (`saga.py`): a claim's status and the effects a transition returns,
for the handlers to persist and `adapters/messages.py` to turn into contract messages. Pure data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from contracts.claims import Evidence, Review
from contracts.common import Reason


class Status(StrEnum):
    PENDING = "pending"
    AWAITING_REVIEW = "awaiting_review"
    APPROVED = "approved"
    REJECTED = "rejected"
    REVOKED = "revoked"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"


@dataclass(frozen=True)
class Pending:
    decide_by: datetime
    waiting_for: str


@dataclass(frozen=True)
class AwaitingReview:
    since: datetime
    evidence: Evidence
    artwork_reference: str
    wording: str
    pilot: bool = False


@dataclass(frozen=True)
class Approved:
    approval_code: str
    valid_until: date
    evidence: Evidence
    review: Review | None = None
    pilot: bool = False


@dataclass(frozen=True)
class Rejected:
    reasons: list[Reason]
    evidence: Evidence | None
    review: Review | None = None


@dataclass(frozen=True)
class Revoked:
    approval_code: str
    reasons: list[Reason]


@dataclass(frozen=True)
class Expired:
    approval_code: str
    reasons: list[Reason]


@dataclass(frozen=True)
class WithdrawalConfirmed:
    reason: str
    used_kg: Decimal | None = None
    returned_kg: Decimal | None = None


@dataclass(frozen=True)
class UsageRecorded:
    period_start: date
    period_end: date
    units: int
    used_units: int
    used_kg: Decimal
    approved_kg: Decimal
    unused_kg: Decimal


@dataclass(frozen=True)
class Refused:
    """The input changed nothing; tell the sender why."""

    reasons: list[Reason]


@dataclass(frozen=True)
class Allocate:
    mass_kg: Decimal


@dataclass(frozen=True)
class Release:
    """Free a pending claim's reservation."""

    reason: str


@dataclass(frozen=True)
class Debit:
    """Spend the approved claim's reserved mass."""

    mass_kg: Decimal
    approval_code: str


@dataclass(frozen=True)
class ReturnUnused:
    """Give back the unused part of a withdrawn claim."""

    mass_kg: Decimal
    used_kg: Decimal
    reason: str


@dataclass(frozen=True)
class Alert:
    """A plausibility alert for the secretariat (`plausibility.py`); it decides nothing."""

    reason: Reason
    product_id: str | None = None
    artwork_reference: str | None = None
    related_claim_ids: tuple[str, ...] = ()
    document_ids: tuple[str, ...] = ()
    claimed_mass_kg: Decimal | None = None
    documented_mass_kg: Decimal | None = None


Effect = (
    Pending
    | AwaitingReview
    | Approved
    | Rejected
    | Revoked
    | Expired
    | WithdrawalConfirmed
    | UsageRecorded
    | Refused
    | Allocate
    | Release
    | Debit
    | ReturnUnused
    | Alert
)
