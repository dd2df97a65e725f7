"""The append-only entries of an account's hash chain (`LedgerEntryPosted`), and the refusals of
movements the ledger did not book (a designation refused whole, a movement it could not book).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Literal
from uuid import UUID

from pydantic import Field

from contracts.common import (
    Contract,
    Envelope,
    ExactDecimal,
    Identifier,
    Kg,
    Reason,
)


class EntryKind(StrEnum):
    """Kinds of ledger entry."""

    RECEIPT_CREDIT = "receipt_credit"
    TRANSFORMATION = "transformation"
    DESIGNATION_DEBIT = "designation_debit"
    OUTPUT_RECORDED = "output_recorded"
    REVERSAL = "reversal"
    CARRY_OVER = "carry_over"
    FORFEIT = "forfeit"
    ALLOCATION_RESERVED = "allocation_reserved"
    ALLOCATION_RELEASED = "allocation_released"
    CREDIT_EXPIRED = "credit_expired"
    CLAIM_DEBIT = "claim_debit"
    CLAIM_RETURN = "claim_return"


class LedgerEntry(Contract):
    """One append-only entry of an account's hash chain."""

    account_id: Identifier = Field(description="Account.")
    sequence: int = Field(ge=1, description="Position in the account's chain.")
    entry_id: UUID = Field(description="Unique entry id.")
    kind: EntryKind = Field(description="What kind of entry.")
    site_id: Identifier | None = Field(default=None, description="Site the entry concerns.")
    movement_id: UUID | None = Field(default=None, description="Movement that caused it.")
    claim_id: Identifier | None = Field(default=None, description="Claim that caused it.")
    reverses_entry_id: UUID | None = Field(default=None, description="Entry this one reverses (corrections).")
    booked_on: date = Field(description="Business date of the entry.")
    period_id: Identifier = Field(description="Accounting period it is booked in.")
    coc_credit_kg: ExactDecimal = Field(description="Change to CoC credits (negative for a debit).")
    coc_input_kg: ExactDecimal = Field(description="Change to CoC input of the period (percentage method).")
    total_input_kg: ExactDecimal = Field(description="Change to total input of the period.")
    coc_output_kg: ExactDecimal = Field(description="Change to CoC output designated in the period.")
    total_output_kg: ExactDecimal = Field(description="Change to total output of the period.")
    balance_after_kg: ExactDecimal = Field(description="Credit balance after the entry.")
    reserved_change_kg: ExactDecimal = Field(
        default=Decimal(0), description="Change to credits reserved for claims (allocations and releases)."
    )
    credit_buckets_kg: dict[str, ExactDecimal] = Field(
        default_factory=dict,
        description="Change to credits per product ('<material_category>|<product_form>'); sums to coc_credit_kg.",
    )
    rule_set_id: Identifier = Field(description="Rule set the entry obeyed.")
    rule_set_version: Identifier = Field(description="Version of that rule set.")
    note: str | None = Field(default=None, max_length=2000, description="Free explanation, e.g. a rounding.")
    previous_hash: str = Field(description="Hash of the previous entry of the chain (hex; zeros for the first).")
    hash: str = Field(description="SHA-256 over the previous hash and this entry's canonical JSON.")


class LedgerEntryPosted(Envelope):
    """An entry was appended to an account."""

    type: Literal["ledger_entry_posted"] = Field(default="ledger_entry_posted", description="Type tag.")
    entry: LedgerEntry = Field(description="The entry.")


class DesignationRefused(Envelope):
    """A shipment's CoC designation was refused whole; nothing of it was applied."""

    type: Literal["designation_refused"] = Field(default="designation_refused", description="Type tag.")
    account_id: Identifier = Field(description="Account (the partition key).")
    site_id: Identifier = Field(description="Shipping site.")
    organisation_id: Identifier = Field(description="Shipping organisation.")
    movement_id: UUID = Field(description="The shipment movement.")
    shipment_reference: Identifier = Field(description="Producer's shipment reference.")
    requested_coc_kg: Kg = Field(description="CoC mass asked for.")
    available_coc_kg: ExactDecimal = Field(description="What the rule set allowed at that moment.")
    rule_set_id: Identifier = Field(description="Rule set applied.")
    rule_set_version: Identifier = Field(description="Its version.")
    reasons: list[Reason] = Field(min_length=1, description="Why.")


class MovementRefused(Envelope):
    """A movement the ledger could not book (e.g. dated in a closed period under a refusing rule set)."""

    type: Literal["movement_refused"] = Field(default="movement_refused", description="Type tag.")
    account_id: Identifier = Field(description="Account (the partition key).")
    movement_id: UUID = Field(description="The movement.")
    site_id: Identifier = Field(description="Site.")
    reasons: list[Reason] = Field(min_length=1, description="Why.")
