"""What applying a message to the books produced, in domain words: entries posted, documents due,
statements written, refusals with their reasons, alerts for the certification body. The only place
they become contract messages is `services/accounting/adapters/messages.py`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from contracts.common import Reason
from contracts.ledger import CoCDocument, LedgerEntry, PeriodStatement
from services.accounting.domain.state import Allocation


@dataclass(frozen=True)
class EntryPosted:
    entry: LedgerEntry


@dataclass(frozen=True)
class DocumentDue:
    account_id: str
    document: CoCDocument


@dataclass(frozen=True)
class DesignationDenied:
    account_id: str
    site_id: str
    organisation_id: str
    movement_id: uuid.UUID
    shipment_reference: str
    requested: Decimal
    available: Decimal
    rule_set_id: str
    rule_set_version: str
    reasons: list[Reason]


@dataclass(frozen=True)
class MovementDenied:
    account_id: str
    movement_id: uuid.UUID
    site_id: str
    reasons: list[Reason]


@dataclass(frozen=True)
class StatementWritten:
    statement: PeriodStatement


@dataclass(frozen=True)
class Granted:
    allocation: Allocation


@dataclass(frozen=True)
class AllocationDenied:
    claim_id: str
    owner: str
    requested: Decimal
    available: Decimal
    reasons: list[Reason]
    held_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class Released:
    claim_id: str
    owner: str
    mass: Decimal


@dataclass(frozen=True)
class CommandDenied:
    reasons: list[Reason]


@dataclass(frozen=True)
class AlertDue:
    """Something the certification body must hear of: a receipt that failed due diligence, a
    period's percentage overshoot recorded as a non-conformity."""

    kind: str
    account_id: str
    organisation_id: str
    mass: Decimal
    period_id: str
    message: str
    site_id: str | None = None
    movement_id: uuid.UUID | None = None


ALERT_DD_FAILED, ALERT_OVERSHOOT = "due_diligence_failed", "percentage_overshoot"

Outcome = (
    EntryPosted
    | DocumentDue
    | DesignationDenied
    | MovementDenied
    | StatementWritten
    | Granted
    | AllocationDenied
    | Released
    | CommandDenied
    | AlertDue
)


class Refusal(Exception):
    """Raised by a rule inside `Ledger.atomic`: the work is undone and `outcome` is the answer."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(type(outcome).__name__)
        self.outcome = outcome


def reason(code: str, message: str, field_name: str | None = None) -> Reason:
    return Reason(code=code, message=message[:2000], field=field_name)
