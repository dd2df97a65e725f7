"""Accounting periods: the immutable statement written when an account's period closes
(`PeriodClosed`), with its transformations and recycled content, and the shadow report of what every
rule set of the catalogue would have done over the same periods (never authoritative).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import Field

from contracts.common import (
    Contract,
    Envelope,
    ExactDecimal,
    Factor,
    Identifier,
    MaterialCategory,
    Share,
    UtcDatetime,
)


class TransformationSummary(Contract):
    """What a period's transformations of one step and factor did, so every kilogram can be followed."""

    process_step: Identifier = Field(description="The process step.")
    conversion_factor: Factor = Field(description="The factor applied.")
    input_kg: ExactDecimal = Field(description="Mass consumed.")
    coc_input_kg: ExactDecimal = Field(description="Credits of the inputs converted (CoC input of the step).")
    output_kg: ExactDecimal = Field(description="Product mass made (scrap excluded).")
    scrap_kg: ExactDecimal = Field(description="Process scrap made: it carries no credits (the factor is the yield).")
    credits_created_kg: ExactDecimal = Field(description="Credits made: CoC input times the factor, capped at the product mass.")


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
