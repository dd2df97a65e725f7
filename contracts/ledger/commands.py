"""`ledger.commands.v1`: what claims and the secretariat ask of accounting (allocations for claims,
closing a period, assigning a rule set, a shadow report), and `LedgerCommandRejected`, the event that
answers a command accounting refuses. The topic's union, `LedgerCommand`, is in the package.
"""

from __future__ import annotations

from datetime import date
from typing import Literal
from uuid import UUID

from pydantic import Field

from contracts.common import (
    Envelope,
    Identifier,
    Kg,
    KgOrZero,
    Reason,
    Text,
)


class AllocateForClaim(Envelope):
    """Reserve a mass of an owner's free CoC credits for one claim."""

    type: Literal["allocate_for_claim"] = Field(default="allocate_for_claim", description="Type tag.")
    claim_id: Identifier = Field(description="The claim (the owner's own id); one allocation per owner and claim id.")
    owner_organisation_id: Identifier = Field(description="Brand owner whose credits are used.")
    mass_kg: Kg = Field(description="Aluminium mass to allocate.")


class ReleaseAllocation(Envelope):
    """Release a claim's allocation (claim rejected, withdrawn, revoked or expired)."""

    type: Literal["release_allocation"] = Field(default="release_allocation", description="Type tag.")
    claim_id: Identifier = Field(description="The claim.")
    owner_organisation_id: Identifier = Field(description="Brand owner.")
    reason: Text = Field(description="Why.")


class DebitClaimMass(Envelope):
    """The claim was approved: spend its reserved mass (the reservation becomes a `claim_debit`).

    Nothing gives a debit back on revocation or expiry (products already carry the claim); only
    `ReturnClaimMass` on a withdrawal returns the part not yet used."""

    type: Literal["debit_claim_mass"] = Field(default="debit_claim_mass", description="Type tag.")
    claim_id: Identifier = Field(description="The approved claim.")
    owner_organisation_id: Identifier = Field(description="Brand owner whose credits are spent.")
    mass_kg: Kg = Field(description="Mass spent: the mass reserved for the claim.")
    approval_code: Identifier | None = Field(default=None, description="The claim's approval code, for the record.")


class ReturnClaimMass(Envelope):
    """A withdrawn claim's unused part goes back to the owner's credits (at most once per claim)."""

    type: Literal["return_claim_mass"] = Field(default="return_claim_mass", description="Type tag.")
    claim_id: Identifier = Field(description="The withdrawn claim.")
    owner_organisation_id: Identifier = Field(description="Brand owner.")
    mass_kg: Kg = Field(description="Mass returned: the debited mass less the mass reported used.")
    used_kg: KgOrZero = Field(description="Mass the owner reported used (units that carried the claim).")
    reason: Text = Field(description="Why.")


class ClosePeriod(Envelope):
    """Close an account's current period now."""

    type: Literal["close_period"] = Field(default="close_period", description="Type tag.")
    account_id: Identifier = Field(description="Account whose open period closes.")


class AssignRuleSet(Envelope):
    """Assign a versioned rule set to an organisation's certification scope."""

    type: Literal["assign_rule_set"] = Field(default="assign_rule_set", description="Type tag.")
    organisation_id: Identifier = Field(description="Organisation whose certification scope it applies to.")
    rule_set_id: Identifier = Field(description="Rule set, e.g. 'v2-2022-group-percentage'.")
    effective_from: date = Field(description="First day it applies (from the next period at the latest).")


class RequestShadowReport(Envelope):
    """The secretariat asks what every rule set of the catalogue would have allowed for an account, per
    period (shadow accounting, issue 15 item 8): never authoritative, nothing is booked or issued.
    Accounting answers `ShadowReportPublished` (or `LedgerCommandRejected`)."""

    type: Literal["request_shadow_report"] = Field(default="request_shadow_report", description="Type tag.")
    account_id: Identifier = Field(description="The account whose movements are replayed (site or group).")
    until: date | None = Field(default=None, description="Close the periods that ended before this day "
                               "(default: the day accounting handles the request).")


class LedgerCommandRejected(Envelope):
    """A ledger command that was refused (unknown rule set, unknown account...)."""

    type: Literal["ledger_command_rejected"] = Field(default="ledger_command_rejected", description="Type tag.")
    rejected_event_id: UUID = Field(description="The command.")
    rejected_event_type: str = Field(max_length=80, description="Its type tag.")
    reasons: list[Reason] = Field(min_length=1, description="Why.")
