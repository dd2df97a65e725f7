"""`ledger.commands.v1` (claims, secretariat) and `ledger.events.v1` (accounting), keyed by account id.

Account ids: `site:<site_id>` for a site-level account, `group:<organisation_id>/<scope_id>` for the
pooled account of one CoC certification scope of an organisation (`group:<organisation_id>` holds what
happened at its sites outside every CoC scope: recorded, never credited). Commands about a brand owner's credits as a whole
(allocations for claims) are keyed by `owner:<organisation_id>`.

The messages live in one module per concern; this package re-exports every one of them (import from
`contracts.ledger`, never from a module of it) and holds the two topics' unions:

| module | holds |
| --- | --- |
| `accounts.py` | account ids and owner keys; an account frozen or thawed, a rule set assigned, an alert to the certification body |
| `reasons.py` | `LedgerReason`, the reason codes accounting sends |
| `commands.py` | the commands of `ledger.commands.v1`, and `LedgerCommandRejected` that answers a refused one |
| `entries.py` | the hash-chained `LedgerEntry`, and refused designations and movements |
| `documents.py` | CoC Documents, and the share of one behind an allocation |
| `allocations.py` | allocations for claims, and a claim's mass debited or returned |
| `periods.py` | period statements, and the shadow report over the same periods |
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from contracts.ledger.accounts import (
    AccountFrozen,
    AccountThawed,
    AlertKind,
    CertificationBodyAlerted,
    RuleSetAssigned,
    account_organisation_id,
    group_account_id,
    owner_key,
    scope_account_id,
    site_account_id,
)
from contracts.ledger.allocations import (
    AllocationGranted,
    AllocationRefused,
    AllocationReleased,
    ClaimMassDebited,
    ClaimMassReturned,
)
from contracts.ledger.commands import (
    AllocateForClaim,
    AssignRuleSet,
    ClosePeriod,
    DebitClaimMass,
    LedgerCommandRejected,
    ReleaseAllocation,
    RequestShadowReport,
    ReturnClaimMass,
)
from contracts.ledger.documents import CoCDocument, CoCDocumentIssued, DocumentShare
from contracts.ledger.entries import (
    DesignationRefused,
    EntryKind,
    LedgerEntry,
    LedgerEntryPosted,
    MovementRefused,
)
from contracts.ledger.periods import (
    PeriodClosed,
    PeriodStatement,
    RecycledContentSummary,
    ShadowPeriod,
    ShadowReportPublished,
    TransformationSummary,
)
from contracts.ledger.reasons import LedgerReason
from contracts.signing import DocumentSigningKeyPublished

__all__ = [
    "AccountFrozen",
    "AccountThawed",
    "AlertKind",
    "AllocateForClaim",
    "AllocationGranted",
    "AllocationRefused",
    "AllocationReleased",
    "AssignRuleSet",
    "CertificationBodyAlerted",
    "ClaimMassDebited",
    "ClaimMassReturned",
    "ClosePeriod",
    "CoCDocument",
    "CoCDocumentIssued",
    "DebitClaimMass",
    "DesignationRefused",
    "DocumentShare",
    "DocumentSigningKeyPublished",
    "EntryKind",
    "LedgerCommand",
    "LedgerCommandRejected",
    "LedgerEntry",
    "LedgerEntryPosted",
    "LedgerEvent",
    "LedgerReason",
    "MovementRefused",
    "PeriodClosed",
    "PeriodStatement",
    "RecycledContentSummary",
    "ReleaseAllocation",
    "RequestShadowReport",
    "ReturnClaimMass",
    "RuleSetAssigned",
    "ShadowPeriod",
    "ShadowReportPublished",
    "TransformationSummary",
    "account_organisation_id",
    "group_account_id",
    "owner_key",
    "scope_account_id",
    "site_account_id",
]


LedgerCommand = Annotated[
    AllocateForClaim | ReleaseAllocation | DebitClaimMass | ReturnClaimMass | ClosePeriod | AssignRuleSet
    | RequestShadowReport,
    Field(discriminator="type"),
]
"""What `ledger.commands.v1` carries, told apart by `type`."""

LedgerEvent = Annotated[
    LedgerEntryPosted
    | DesignationRefused
    | MovementRefused
    | CoCDocumentIssued
    | AllocationGranted
    | AllocationRefused
    | AllocationReleased
    | ClaimMassDebited
    | ClaimMassReturned
    | PeriodClosed
    | AccountFrozen
    | AccountThawed
    | RuleSetAssigned
    | CertificationBodyAlerted
    | LedgerCommandRejected
    | DocumentSigningKeyPublished
    | ShadowReportPublished,
    Field(discriminator="type"),
]
"""What `ledger.events.v1` carries, told apart by `type`."""
