"""`claims.decisions.v1`: every decision claims makes about a claim (pending, awaiting review,
approved, rejected, revoked, expired, withdrawn, usage recorded, an input refused) and its
plausibility alerts, with the evidence each rests on for the auditor.
"""

from __future__ import annotations

from datetime import date
from typing import Literal
from uuid import UUID

from pydantic import Field

from contracts.claims.footprints import FootprintEvidence
from contracts.claims.requests import CLAIM_ID
from contracts.claims.secretariat import Review
from contracts.common import (
    Contract,
    Envelope,
    ExactDecimal,
    Identifier,
    Kg,
    KgOrZero,
    Reason,
    Share,
    Text,
    UtcDatetime,
)
from contracts.registry import CertificateStatus


class CertificateEvidence(Contract):
    """A certificate as it stood when the decision was made."""

    certificate_id: Identifier = Field(description="Certificate id.")
    certificate_number: Identifier = Field(description="Number.")
    standard: str = Field(max_length=80, description="Standard.")
    status: CertificateStatus = Field(description="Status then.")
    valid_until: date = Field(description="Last valid day.")


class AllocationEvidence(Contract):
    """The allocation behind a decision."""

    mass_kg: KgOrZero = Field(description="Mass allocated.")
    account_ids: list[Identifier] = Field(default_factory=list, description="Accounts.")
    document_ids: list[Identifier] = Field(default_factory=list, description="CoC Documents behind it.")
    recycled_content_share: Share | None = Field(
        default=None, description="Recycled share accounting computed for the CoC Documents behind it."
    )
    recycled_pre_consumer_share: Share | None = Field(default=None, description="Its pre-consumer part (ISO 14021).")
    recycled_post_consumer_share: Share | None = Field(
        default=None, description="Its post-consumer part (ISO 14021)."
    )
    carbon_footprint_kg_co2e_per_kg: ExactDecimal | None = Field(default=None, description="Documented footprint.")


class Evidence(Contract):
    """What a decision rested on, for the auditor."""

    certificates: list[CertificateEvidence] = Field(default_factory=list, description="Certificates checked.")
    allocation: AllocationEvidence | None = Field(default=None, description="Allocation, if any.")
    claimed_mass_kg: KgOrZero = Field(description="Aluminium mass the claim covers.")
    wording_rules_version: Identifier = Field(description="Version of the wording rules applied.")
    checked_at: UtcDatetime = Field(description="When the checks ran.")
    footprint: FootprintEvidence | None = Field(default=None, description="A carbon-footprint claim: the PACT "
                                                "footprint checked.")


class _Decision(Envelope):
    claim_id: Identifier = Field(description=CLAIM_ID)
    claimant_organisation_id: Identifier = Field(description="Brand owner.")


class ClaimPending(_Decision):
    """The checks that need no allocation passed; the allocation is outstanding."""

    type: Literal["claim_pending"] = Field(default="claim_pending", description="Type tag.")
    waiting_for: Text = Field(description="What is outstanding.")
    decide_by: UtcDatetime = Field(description="When it is rejected if still outstanding.")


class ClaimAwaitingReview(_Decision):
    """Every automatic check passed and the mass is reserved: the claim waits for the secretariat.

    The reservation stays held until the secretariat approves (the mass is then spent) or refuses
    (it is released), or the claimant withdraws."""

    type: Literal["claim_awaiting_review"] = Field(default="claim_awaiting_review", description="Type tag.")
    awaiting_since: UtcDatetime = Field(description="When the claim entered the review queue.")
    evidence: Evidence = Field(description="What the automatic checks found, for the reviewer.")
    artwork_reference: Identifier = Field(description="Reference of the artwork file to review.")
    wording: Text = Field(description="The wording to review.")
    pilot: bool = Field(default=False, description="A pilot claim type: not an ASI claim.")


class ClaimApproved(_Decision):
    """The claim may be used until `valid_until`."""

    type: Literal["claim_approved"] = Field(default="claim_approved", description="Type tag.")
    approval_code: Identifier = Field(description="Short code printed on the pack and verifiable.")
    valid_until: date = Field(description="Earliest expiry of the certificates it rests on.")
    evidence: Evidence = Field(description="What it rests on.")
    review: Review | None = Field(default=None, description="The secretariat's review, when it decided.")
    pilot: bool = Field(default=False, description="A pilot claim type: decided and recorded, but not an ASI "
                        "claim; shown as \"pilot, not an ASI claim\" and without the ASI name.")


class ClaimRejected(_Decision):
    """The claim may not be used; every failed check is listed."""

    type: Literal["claim_rejected"] = Field(default="claim_rejected", description="Type tag.")
    reasons: list[Reason] = Field(min_length=1, description="Every failed check.")
    evidence: Evidence | None = Field(default=None, description="What was checked.")
    review: Review | None = Field(default=None, description="The secretariat's review, when it decided.")


class ClaimRevoked(_Decision):
    """An approved claim may no longer be used (a certificate it rests on was suspended or withdrawn)."""

    type: Literal["claim_revoked"] = Field(default="claim_revoked", description="Type tag.")
    approval_code: Identifier = Field(description="The approval revoked.")
    reasons: list[Reason] = Field(min_length=1, description="Why.")


class ClaimExpired(_Decision):
    """An approved claim reached the end of its validity."""

    type: Literal["claim_expired"] = Field(default="claim_expired", description="Type tag.")
    approval_code: Identifier = Field(description="The approval expired.")
    reasons: list[Reason] = Field(min_length=1, description="Why.")


class ClaimWithdrawalConfirmed(_Decision):
    """The claimant's withdrawal took effect; any allocation is released."""

    type: Literal["claim_withdrawal_confirmed"] = Field(default="claim_withdrawal_confirmed", description="Type tag.")
    reason: Text = Field(description="Why.")
    used_kg: KgOrZero | None = Field(
        default=None, description="Of an approved claim: mass reported used, which stays spent.")
    returned_kg: KgOrZero | None = Field(
        default=None, description="Of an approved claim: unused mass returned to the owner's credits.")


class ClaimUsageRecorded(_Decision):
    """A usage report was recorded; the totals are the claim's after it."""

    type: Literal["claim_usage_recorded"] = Field(default="claim_usage_recorded", description="Type tag.")
    period_start: date = Field(description="First day of the reported period.")
    period_end: date = Field(description="Last day of the reported period.")
    units: int = Field(gt=0, description="Units reported for the period.")
    used_units: int = Field(ge=0, description="Units reported over all periods.")
    used_kg: KgOrZero = Field(description="Mass reported used over all periods.")
    approved_kg: KgOrZero = Field(description="Mass the approval spent.")
    unused_kg: KgOrZero = Field(description="Approved mass not yet reported used.")


class ClaimRequestRefused(_Decision):
    """An input about a claim was refused and changed nothing: the claim keeps its current decision.

    Sent for a changed request under a claim id the claimant already used (`request_conflict`), a reused event id
    with other content, a withdrawal of an unknown or someone else's claim, or a usage report that
    cannot be recorded (`usage_exceeds_approved`, `usage_conflict`, `claim_not_approved`)."""

    type: Literal["claim_request_refused"] = Field(default="claim_request_refused", description="Type tag.")
    refused_event_id: UUID = Field(description="Event id of the refused input.")
    reasons: list[Reason] = Field(min_length=1, description="Why.")


class PlausibilityEvidence(Contract):
    """What a plausibility alert rests on: the other claims, the CoC Documents and the masses."""

    product_id: Identifier | None = Field(default=None, description="Product the alert is about.")
    artwork_reference: Identifier | None = Field(default=None, description="Artwork the alert is about.")
    related_claim_ids: list[Identifier] = Field(
        default_factory=list,
        description="Other open claims involved (same product and artwork), each as "
        "`<claimant organisation id>/<claim id>` (they may be other owners').",
    )
    document_ids: list[Identifier] = Field(
        default_factory=list, description="CoC Documents behind the allocation."
    )
    claimed_mass_kg: Kg | None = Field(default=None, description="Mass the claim covers, kilograms.")
    documented_mass_kg: KgOrZero | None = Field(
        default=None, description="Mass those CoC Documents supply to it, kilograms."
    )
    site_id: Identifier | None = Field(default=None, description="Site the alert is about (capacity).")
    year: int | None = Field(default=None, ge=1900, le=9999, description="Calendar year of the site's output.")
    coc_output_kg: KgOrZero | None = Field(
        default=None, description="CoC mass of the documents the site issued that year so far, kilograms."
    )
    capacity_kg: Kg | None = Field(default=None, description="The site's declared yearly capacity, kilograms.")


class PlausibilityAlertRaised(_Decision):
    """A plausibility check found something for the secretariat to look at (issue 18 item 7). It
    never decides: the claim goes on as its checks say. An alert about a site rather than a claim
    (its CoC output above its capacity) has `claim_id` `site:<site_id>:<year>` and the site's
    organisation as `claimant_organisation_id`."""

    type: Literal["plausibility_alert_raised"] = Field(
        default="plausibility_alert_raised", description="Type tag."
    )
    reasons: list[Reason] = Field(min_length=1, description="What looks implausible (reason codes).")
    evidence: PlausibilityEvidence = Field(description="What the alert names as its evidence.")
