"""`ledger.commands.v1` (claims, secretariat) and `ledger.events.v1` (accounting), keyed by account id.

Account ids: `site:<site_id>` for a site-level account, `group:<organisation_id>/<scope_id>` for the
pooled account of one CoC certification scope of an organisation (`group:<organisation_id>` holds what
happened at its sites outside every CoC scope: recorded, never credited). Commands about a brand owner's credits as a whole
(allocations for claims) are keyed by `owner:<organisation_id>`.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal
from uuid import UUID

from pydantic import Field

from contracts.common import (
    Contract,
    Envelope,
    ExactDecimal,
    Factor,
    Identifier,
    Kg,
    KgOrZero,
    MaterialCategory,
    Reason,
    Share,
    Text,
    UtcDatetime,
)
from contracts.signing import DocumentSigningKeyPublished


def site_account_id(site_id: str) -> str:
    return f"site:{site_id}"


def group_account_id(organisation_id: str) -> str:
    return f"group:{organisation_id}"


def scope_account_id(organisation_id: str, scope_id: str) -> str:
    """The pooled account of one CoC certification scope (group level): `group:<org>/<scope>`, where the
    scope is the first certificate of a chain of re-certifications (so a renewal keeps its pool)."""
    return f"group:{organisation_id}/{scope_id}"


def account_organisation_id(account_id: str) -> str | None:
    """The organisation of a group account (`group:<org>` or `group:<org>/<scope>`); None for a site account."""
    kind, _, rest = account_id.partition(":")
    return (rest.partition("/")[0] or None) if kind == "group" else None


def owner_key(organisation_id: str) -> str:
    return f"owner:{organisation_id}"


class LedgerReason:
    """Reason codes accounting uses on `ledger.events.v1`."""

    INSUFFICIENT_CREDITS = "insufficient_credits"
    PERCENTAGE_RULE = "percentage_rule_exceeded"
    NO_COC_INPUT_IN_PERIOD = "no_coc_input_in_period"
    ACCOUNT_FROZEN = "account_frozen"
    NOT_CERTIFIED = "site_not_coc_certified"
    PS_NOT_CERTIFIED = "site_not_ps_certified"
    PS_LAPSED = "ps_certificate_lapsed"
    UNKNOWN_RULE_SET = "unknown_rule_set"
    UNKNOWN_ALLOCATION = "unknown_allocation"
    ALLOCATION_CONFLICT = "allocation_conflict"
    """No longer sent: allocations are per owner and claim id, so another owner's claim never conflicts."""
    UNKNOWN_ACCOUNT = "unknown_account"
    NOT_AUTHORISED = "not_authorised"
    REVERSAL_WOULD_OVERDRAW = "reversal_would_overdraw"
    LOT_ALLOCATED = "lot_allocated_to_claim"
    MASS_ALREADY_CLAIMED = "mass_already_claimed"
    """The owner's CoC mass is held by other claims (the reason names them)."""
    CLAIM_MASS_SPENT = "claim_mass_spent"
    """A release of an approved claim's mass: it was spent (debited), only its unused part may return."""
    ALLOCATION_NOT_DEBITED = "allocation_not_debited"
    """A return for a claim whose mass was never debited (nothing was spent, so nothing returns)."""
    RETURN_EXCEEDS_UNUSED = "return_exceeds_unused"
    """A return larger than the debited mass not yet returned."""
    DEBIT_MISMATCH = "debit_mismatch"
    """A debit whose mass is not the mass reserved for the claim."""
    EVENT_ID_CONFLICT = "event_id_conflict"


# ---- commands ------------------------------------------------------------------------------


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


LedgerCommand = Annotated[
    AllocateForClaim | ReleaseAllocation | DebitClaimMass | ReturnClaimMass | ClosePeriod | AssignRuleSet
    | RequestShadowReport,
    Field(discriminator="type"),
]

# ---- events --------------------------------------------------------------------------------


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


class CoCDocument(Contract):
    """The document that goes with a shipment sold as CoC Material."""

    document_id: Identifier = Field(description="Unique document id.")
    issuer_organisation_id: Identifier = Field(description="Issuing (shipping) organisation.")
    issuer_site_id: Identifier = Field(description="Shipping site.")
    issuer_certificate_number: Identifier = Field(description="CoC certificate number covering the site.")
    recipient_organisation_id: Identifier = Field(description="Buyer.")
    recipient_site_id: Identifier | None = Field(default=None, description="Receiving site, where known.")
    issued_on: date = Field(description="Issue date (the shipment date).")
    shipment_reference: Identifier = Field(description="Shipment reference.")
    movement_id: UUID = Field(description="The shipment movement it covers.")
    material_category: MaterialCategory = Field(description="Material.")
    product_form: Identifier = Field(description="Product form.")
    coc_mass_kg: Kg = Field(description="CoC mass of the shipment.")
    rule_set_id: Identifier = Field(description="Rule set the designation obeyed.")
    rule_set_version: Identifier = Field(description="Its version.")
    recycled_content_share: Share | None = Field(
        default=None,
        description="Recycled-content share computed by accounting (pre- plus post-consumer; None: not known).",
    )
    recycled_content_method: str | None = Field(default=None, max_length=200, description="Its calculation method.")
    recycled_pre_consumer_share: Share | None = Field(
        default=None, description="Pre-consumer recycled share (ISO 14021), computed from eligible scrap inputs."
    )
    recycled_post_consumer_share: Share | None = Field(
        default=None, description="Post-consumer recycled share (ISO 14021), computed from eligible scrap inputs."
    )
    recycled_content_period_start: date | None = Field(
        default=None, description="First day of the material accounting period the share was computed over."
    )
    recycled_content_period_end: date | None = Field(
        default=None, description="Last day of that period (as planned when the document was issued)."
    )
    carbon_footprint_kg_co2e_per_kg: KgOrZero | None = Field(default=None, description="Carbon footprint, if stated.")


class CoCDocumentIssued(Envelope):
    """A CoC Document was issued for an accepted designation."""

    type: Literal["coc_document_issued"] = Field(default="coc_document_issued", description="Type tag.")
    account_id: Identifier = Field(description="Account debited (the partition key).")
    document: CoCDocument = Field(description="The document.")
    signature: str = Field(description="Compact JWS (EdDSA, detached-free) over the document's canonical JSON.")
    key_id: str = Field(description="Id of the accounting signing key that made it.")


class DocumentShare(Contract):
    """Part of a CoC Document backing an allocation."""

    document_id: Identifier = Field(description="CoC Document received by the owner.")
    mass_kg: Kg = Field(description="Mass of it used.")
    recycled_content_share: Share | None = Field(default=None, description="Its recycled share, if stated.")
    recycled_pre_consumer_share: Share | None = Field(default=None, description="Its pre-consumer part, if stated.")
    recycled_post_consumer_share: Share | None = Field(default=None, description="Its post-consumer part, if stated.")
    carbon_footprint_kg_co2e_per_kg: KgOrZero | None = Field(default=None, description="Its footprint, if stated.")


class AllocationGranted(Envelope):
    """An owner's credits were reserved for a claim."""

    type: Literal["allocation_granted"] = Field(default="allocation_granted", description="Type tag.")
    claim_id: Identifier = Field(description="The claim.")
    owner_organisation_id: Identifier = Field(description="Brand owner.")
    mass_kg: Kg = Field(description="Mass reserved.")
    account_ids: list[Identifier] = Field(min_length=1, description="Accounts the mass was reserved in.")
    documents: list[DocumentShare] = Field(default_factory=list, description="CoC Documents behind the mass.")
    recycled_content_share: Share | None = Field(
        default=None, description="Mass-weighted recycled share documented behind the allocation (None: unknown)."
    )
    recycled_pre_consumer_share: Share | None = Field(
        default=None, description="Its pre-consumer part, mass-weighted (None: some document states no split)."
    )
    recycled_post_consumer_share: Share | None = Field(
        default=None, description="Its post-consumer part, mass-weighted (None: some document states no split)."
    )
    carbon_footprint_kg_co2e_per_kg: KgOrZero | None = Field(
        default=None, description="Mass-weighted footprint documented behind the allocation (None: unknown)."
    )


class AllocationRefused(Envelope):
    """A claim's allocation could not be granted."""

    type: Literal["allocation_refused"] = Field(default="allocation_refused", description="Type tag.")
    claim_id: Identifier = Field(description="The claim.")
    owner_organisation_id: Identifier = Field(description="Brand owner.")
    requested_kg: Kg = Field(description="Mass asked for.")
    available_kg: ExactDecimal = Field(description="Free credits at that moment.")
    reasons: list[Reason] = Field(min_length=1, description="Why.")
    held_by_claim_ids: list[Identifier] = Field(
        default_factory=list,
        description="Claims that hold (reserved or spent) the owner's CoC mass, largest first (at most 20).",
    )


class AllocationReleased(Envelope):
    """A claim's allocation was released; the mass is free again."""

    type: Literal["allocation_released"] = Field(default="allocation_released", description="Type tag.")
    claim_id: Identifier = Field(description="The claim.")
    owner_organisation_id: Identifier = Field(description="Brand owner.")
    mass_kg: KgOrZero = Field(description="Mass released (zero if nothing was held).")
    reason: Text = Field(description="Why.")


class TransformationSummary(Contract):
    """What a period's transformations of one step and factor did, so every kilogram can be followed."""

    process_step: Identifier = Field(description="The process step.")
    conversion_factor: Factor = Field(description="The factor applied.")
    input_kg: ExactDecimal = Field(description="Mass consumed.")
    coc_input_kg: ExactDecimal = Field(description="Credits of the inputs converted (CoC input of the step).")
    output_kg: ExactDecimal = Field(description="Product mass made (scrap excluded).")
    scrap_kg: ExactDecimal = Field(description="Process scrap made: it carries no credits (the factor is the yield).")
    credits_created_kg: ExactDecimal = Field(description="Credits made: CoC input times the factor, capped at the product mass.")


class ClaimMassDebited(Envelope):
    """An approved claim's reserved mass was spent: `claim_debit` entries on the accounts listed."""

    type: Literal["claim_mass_debited"] = Field(default="claim_mass_debited", description="Type tag.")
    claim_id: Identifier = Field(description="The claim.")
    owner_organisation_id: Identifier = Field(description="Brand owner.")
    mass_kg: Kg = Field(description="Mass spent.")
    account_ids: list[Identifier] = Field(min_length=1, description="Accounts debited.")
    entry_ids: list[UUID] = Field(min_length=1, description="The `claim_debit` entries, one per account.")


class ClaimMassReturned(Envelope):
    """A withdrawn claim's unused mass came back: `claim_return` entries referencing the debits."""

    type: Literal["claim_mass_returned"] = Field(default="claim_mass_returned", description="Type tag.")
    claim_id: Identifier = Field(description="The claim.")
    owner_organisation_id: Identifier = Field(description="Brand owner.")
    mass_kg: Kg = Field(description="Mass returned.")
    debited_kg: Kg = Field(description="Mass the claim had spent.")
    used_kg: KgOrZero = Field(description="Mass reported used, which stays spent.")
    entry_ids: list[UUID] = Field(min_length=1, description="The `claim_return` entries.")
    reason: Text = Field(description="Why.")


class RecycledContentSummary(Contract):
    """The composition of one product's credits over a period (issue 18 item 4): the credits it
    received (by receipt, conversion or carry-over) and how much of them is pre-consumer,
    post-consumer or of unknown composition (ISO 14021, by mass)."""

    material_category: MaterialCategory = Field(description="The product's material category.")
    product_form: Identifier = Field(description="The product form.")
    coc_kg: ExactDecimal = Field(description="Credits received in the period (opening credits included).")
    pre_consumer_kg: ExactDecimal = Field(description="Of them, pre-consumer recycled content.")
    post_consumer_kg: ExactDecimal = Field(description="Of them, post-consumer recycled content.")
    unknown_kg: ExactDecimal = Field(description="Of them, of unknown composition.")
    pre_consumer_share: Share | None = Field(description="Pre-consumer share (None: part unknown).")
    post_consumer_share: Share | None = Field(description="Post-consumer share (None: part unknown).")


class PeriodStatement(Contract):
    """The immutable statement written when an account's period closes."""

    account_id: Identifier = Field(description="Account.")
    period_id: Identifier = Field(description="Period.")
    period_start: date = Field(description="First day.")
    period_end: date = Field(description="Last day.")
    rule_set_id: Identifier = Field(description="Rule set.")
    rule_set_version: Identifier = Field(description="Version.")
    opening_balance_kg: ExactDecimal = Field(description="Credits carried in.")
    inputs_by_category_kg: dict[str, ExactDecimal] = Field(description="Total input per material category.")
    coc_input_kg: ExactDecimal = Field(description="CoC input (after conversion).")
    total_input_kg: ExactDecimal = Field(description="All input.")
    coc_output_kg: ExactDecimal = Field(description="CoC output designated.")
    total_output_kg: ExactDecimal = Field(description="All output.")
    conversion_applied: dict[str, Factor] = Field(description="Conversion factor applied per process step.")
    closing_balance_kg: ExactDecimal = Field(description="Credits at close.")
    carried_over_kg: ExactDecimal = Field(description="Credits carried into the next period.")
    forfeited_kg: ExactDecimal = Field(description="Credits forfeited at close.")
    last_entry_hash: str = Field(description="Hash of the last entry of the period.")
    closed_at: UtcDatetime = Field(description="When it closed.")
    non_coc_inputs_kg: dict[str, ExactDecimal] = Field(
        default_factory=dict,
        description="Input counted in the totals without credit, by reason ('site_not_coc_certified', "
                    "'due_diligence_failed').",
    )
    expired_kg: ExactDecimal = Field(default=Decimal(0), description="Credits expired in the period (lifetime).")
    overshoot_brought_in_kg: ExactDecimal = Field(
        default=Decimal(0), description="CoC output an earlier period's overshoot charged against this one."
    )
    percentage_overshoot_kg: ExactDecimal = Field(
        default=Decimal(0),
        description="Percentage method: CoC output beyond what the whole period's inputs allow "
                    "(coc_out / total_out <= coc_in / total_in).",
    )
    overshoot_handling: str | None = Field(
        default=None, max_length=40,
        description="How the rule set handles the overshoot: 'deduct_next_period' or 'non_conformity'.",
    )
    transformations: list[TransformationSummary] = Field(
        default_factory=list, description="Transformations of the period by step and factor."
    )
    recycled_content: list[RecycledContentSummary] = Field(
        default_factory=list, description="Recycled content of the period's credits by product."
    )
    recycled_content_method: str | None = Field(
        default=None, max_length=200, description="How the recycled content was computed."
    )


class PeriodClosed(Envelope):
    """An account's period closed."""

    type: Literal["period_closed"] = Field(default="period_closed", description="Type tag.")
    statement: PeriodStatement = Field(description="The statement.")


class AccountFrozen(Envelope):
    """Designations from the account are refused until its certificate is current again."""

    type: Literal["account_frozen"] = Field(default="account_frozen", description="Type tag.")
    account_id: Identifier = Field(description="Account.")
    certificate_id: Identifier = Field(description="Certificate whose status froze it.")
    reason: Text = Field(description="Why.")


class AccountThawed(Envelope):
    """The account's certificate is current again."""

    type: Literal["account_thawed"] = Field(default="account_thawed", description="Type tag.")
    account_id: Identifier = Field(description="Account.")
    certificate_id: Identifier = Field(description="Certificate now current.")
    reason: Text = Field(description="Why.")


class RuleSetAssigned(Envelope):
    """A rule set now governs an organisation's scope."""

    type: Literal["rule_set_assigned"] = Field(default="rule_set_assigned", description="Type tag.")
    organisation_id: Identifier = Field(description="Organisation.")
    rule_set_id: Identifier = Field(description="Rule set.")
    rule_set_version: Identifier = Field(description="Version.")
    effective_from: date = Field(description="First day.")


class AlertKind(StrEnum):
    """What the certification body is alerted to."""

    DUE_DILIGENCE_FAILED = "due_diligence_failed"
    PERCENTAGE_OVERSHOOT = "percentage_overshoot"


class CertificationBodyAlerted(Envelope):
    """Something the member's certification body must hear of: material received that failed due diligence
    (recorded as non-CoC input, never CoC output), or a period's percentage overshoot recorded as a
    non-conformity."""

    type: Literal["certification_body_alerted"] = Field(default="certification_body_alerted", description="Type tag.")
    account_id: Identifier = Field(description="Account (the partition key).")
    organisation_id: Identifier = Field(description="The member concerned.")
    alert_kind: AlertKind = Field(description="What happened.")
    period_id: Identifier = Field(description="Accounting period.")
    mass_kg: ExactDecimal = Field(description="Mass concerned (received, or CoC output in excess).")
    site_id: Identifier | None = Field(default=None, description="Site, where one is concerned.")
    movement_id: UUID | None = Field(default=None, description="Movement, where one is concerned.")
    message: Text = Field(description="What the certification body should know.")


class LedgerCommandRejected(Envelope):
    """A ledger command that was refused (unknown rule set, unknown account...)."""

    type: Literal["ledger_command_rejected"] = Field(default="ledger_command_rejected", description="Type tag.")
    rejected_event_id: UUID = Field(description="The command.")
    rejected_event_type: str = Field(max_length=80, description="Its type tag.")
    reasons: list[Reason] = Field(min_length=1, description="Why.")


class ShadowPeriod(Contract):
    """What one rule set would have done in one account and period of the shadow books."""

    rule_set_id: Identifier = Field(description="The rule set.")
    account_id: Identifier = Field(description="The account under that rule set (site or group).")
    period_id: Identifier = Field(description="The period.")
    closed: bool = Field(description="The period ended before `until` and was closed in the shadow books.")
    coc_input_kg: ExactDecimal = Field(description="CoC input booked.")
    total_input_kg: ExactDecimal = Field(description="All input booked.")
    coc_output_kg: ExactDecimal = Field(description="CoC output designated (CoC Documents it would have issued).")
    total_output_kg: ExactDecimal = Field(description="All output shipped.")
    designated_kg: ExactDecimal = Field(description="Mass designated as CoC.")
    designations: int = Field(ge=0, description="Designations allowed.")
    refused_kg: ExactDecimal = Field(description="Mass whose designation would have been refused.")
    refusals: int = Field(ge=0, description="Designations refused.")
    refusal_reasons: list[Identifier] = Field(default_factory=list, description="Reason codes of the refusals.")
    closing_balance_kg: ExactDecimal = Field(description="Credits left at the end of the period.")
    forfeited_kg: ExactDecimal = Field(description="Credits forfeited at close.")
    expired_kg: ExactDecimal = Field(description="Credits expired at close.")
    overshoot_kg: ExactDecimal = Field(description="Output beyond what the rule set allows (percentage rules).")


class ShadowReportPublished(Envelope):
    """Every rule set of the catalogue on the same movements of an account, per period, beside the
    assigned one (the answer to `RequestShadowReport`). Never authoritative: the ledger is what counts."""

    type: Literal["shadow_report_published"] = Field(default="shadow_report_published", description="Type tag.")
    account_id: Identifier = Field(description="The account asked about.")
    organisation_id: Identifier = Field(description="Its organisation.")
    until: date = Field(description="Periods that ended before this day are closed.")
    assigned_rule_set_id: Identifier = Field(description="The rule set assigned on `until`.")
    site_ids: list[Identifier] = Field(default_factory=list, description="The sites whose movements were replayed.")
    movements: int = Field(ge=0, description="How many movements were replayed, in date order.")
    rows: list[ShadowPeriod] = Field(default_factory=list, description="Per rule set, account and period.")


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
