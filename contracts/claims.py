"""`claims.requests.v1` (brand owners) and `claims.decisions.v1` (claims), keyed by claim id.

A claim id is chosen by its claimant and is the claimant's own: a claim is identified by
(`claimant_organisation_id`, `claim_id`), so two brand owners may use the same claim id and neither
learns of the other's claim. The partition key stays the claim id (every message about a claim
carries it, so a claim's messages keep their order; two owners' claims of one id share a partition,
which changes nothing)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Literal
from uuid import UUID

from pydantic import Field

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
from contracts.pact import ProductFootprint
from contracts.registry import CertificateStatus

CLAIM_ID = ("Claim id, the claimant's own (unique per claimant organisation: a claim is "
            "claimant_organisation_id and claim_id); the partition key.")


class ClaimType(StrEnum):
    """What the brand owner wants to say."""

    ON_PACK_LOGO = "on_pack_logo"
    CERTIFIED_TEXT = "certified_text"
    RECYCLED_CONTENT = "recycled_content"
    CARBON_FOOTPRINT = "carbon_footprint"


class ClaimTypeStatus(StrEnum):
    """Whether the secretariat runs a claim type: enabled (an ASI claim), pilot (decided and recorded,
    but shown as "pilot, not an ASI claim", without the ASI name), off (requests are rejected)."""

    ENABLED = "enabled"
    PILOT = "pilot"
    OFF = "off"


class ClaimReason:
    """Reason codes claims uses on `claims.decisions.v1`."""

    NOT_A_MEMBER = "claimant_not_member"
    NO_CURRENT_PS = "no_current_performance_standard_certificate"
    NO_CURRENT_COC = "no_current_coc_certificate"
    PRODUCT_NOT_COVERED = "product_not_covered"
    SUPPLIER_NOT_CERTIFIED = "supplier_not_coc_certified"
    MISLEADING_WORDING = "misleading_wording"
    MISSING_ELEMENT = "missing_required_element"
    CERTIFICATE_NUMBER_INVALID = "certificate_number_not_claimants_or_not_current"
    MASS_NOT_COVERED = "mass_not_covered"
    ALLOCATION_TIMEOUT = "allocation_timeout"
    RECYCLED_CONTENT_UNSUPPORTED = "recycled_content_not_supported"
    CARBON_FOOTPRINT_UNSUPPORTED = "carbon_footprint_not_supported"
    REQUEST_CONFLICT = "request_conflict"
    CERTIFICATE_SUSPENDED = "certificate_suspended"
    CERTIFICATE_WITHDRAWN = "certificate_withdrawn"
    CERTIFICATE_EXPIRED = "certificate_expired"
    INVALID_REQUEST = "invalid_request"
    REQUESTER_NOT_CLAIMANT = "requester_not_claimant"
    UNKNOWN_CLAIM = "unknown_claim"
    CLAIM_ALREADY_CLOSED = "claim_already_closed"
    MASS_ALREADY_CLAIMED = "mass_already_claimed"
    """The CoC mass asked for already backs other claims (the message names them)."""
    CLAIM_NOT_APPROVED = "claim_not_approved"
    """Usage reported for a claim that was never approved."""
    USAGE_EXCEEDS_APPROVED = "usage_exceeds_approved"
    """Reported usage would go beyond the approved quantity."""
    USAGE_CONFLICT = "usage_conflict"
    """Usage for this period was already reported with other figures; the first report stands."""
    MEMBERSHIP_AT_RISK = "claimant_membership_at_risk"
    REFUSED_BY_SECRETARIAT = "refused_by_secretariat"
    """The secretariat refused the claim on review (its comment is the message)."""
    NOT_AWAITING_REVIEW = "claim_not_awaiting_review"
    """A review decision for a claim that is not in the review queue."""
    REVIEWER_NOT_SECRETARIAT = "reviewer_not_secretariat"
    """A review decision (or a claim text) sent by someone other than the secretariat."""
    CLAIM_TYPE_OFF = "claim_type_off"
    """The secretariat does not run this claim type now."""
    INVALID_CLAIM_TEXT = "invalid_claim_text"
    """A claim text whose template uses a placeholder the platform cannot fill."""
    FULL_CERTIFICATE_REQUIRED = "full_certificate_required"
    """The claim type needs a full certificate; the claimant's covering certificate is provisional."""
    SAME_PRODUCT_AND_ARTWORK = "same_product_and_artwork_in_open_claims"
    """Plausibility alert (never a refusal): another open claim names the same product and artwork."""
    CLAIMED_ABOVE_DOCUMENTED_SUPPLY = "claimed_mass_above_documented_supply"
    """Plausibility alert (never a refusal): the CoC Documents behind an allocation hold less mass
    than the claim."""
    FOOTPRINT_UNKNOWN = "footprint_unknown"
    """A carbon-footprint claim names no PACT footprint, or one the platform was never sent."""
    FOOTPRINT_NOT_ASSURED = "footprint_not_assured"
    """The footprint has no third-party assurance recorded (assurance true, provider, completion date)."""
    FOOTPRINT_PRODUCT_MISMATCH = "footprint_product_mismatch"
    """The footprint's `productIds` do not name the claim's product."""
    FOOTPRINT_EXPIRED = "footprint_expired"
    """The footprint's validity ends before the claim's period does."""
    FOOTPRINT_DEPRECATED = "footprint_deprecated"
    """The footprint's status is Deprecated."""
    FOOTPRINT_NOT_IN_SUPPLY_CHAIN = "footprint_not_from_claimant_or_supplier"
    """The footprint was submitted by neither the claimant nor a supplier the request names."""
    FOOTPRINT_UNIT_NOT_KILOGRAM = "footprint_declared_unit_not_kilogram"
    """The footprint is declared per another unit than the kilogram the claim states."""
    SITE_OUTPUT_ABOVE_CAPACITY = "site_coc_output_above_capacity"
    """Plausibility alert (never a refusal): the CoC Documents a site issued in a calendar year hold
    more mass than the site's declared yearly capacity."""


class ClaimProduct(Contract):
    """The product the claim would appear on."""

    product_id: Identifier = Field(description="Brand owner's product identifier (e.g. GTIN).")
    name: Text = Field(description="Product name.")
    aluminium_mass_per_unit_kg: Kg = Field(description="Aluminium per unit, kilograms (a 330 ml can: 0.013).")
    units: int | None = Field(default=None, gt=0, description="Number of units the claim covers.")
    total_mass_kg: Kg | None = Field(default=None, description="Total aluminium mass, if given instead of units.")
    producing_site_ids: list[Identifier] = Field(default_factory=list, description="Producing sites, where known.")
    supplier_organisation_ids: list[Identifier] = Field(default_factory=list, description="Suppliers, where known.")


class ClaimRequested(Envelope):
    """A brand owner asks to make a claim."""

    type: Literal["claim_requested"] = Field(default="claim_requested", description="Type tag.")
    claim_id: Identifier = Field(description=CLAIM_ID)
    claimant_organisation_id: Identifier = Field(description="Brand owner making the claim.")
    product: ClaimProduct = Field(description="The product.")
    claim_type: ClaimType = Field(description="Kind of claim.")
    wording: Text = Field(description="Exact wording as it would appear.")
    artwork_reference: Identifier = Field(description="Reference of the artwork file.")
    certificate_number: Identifier | None = Field(default=None, description="ASI certificate number quoted.")
    link: str | None = Field(default=None, max_length=500, description="Information link printed with the claim.")
    recycled_content_share: Share | None = Field(default=None, description="Recycled share claimed (0-1).")
    carbon_footprint_kg_co2e_per_kg: KgOrZero | None = Field(default=None, description="Footprint claimed.")
    markets: list[Identifier] = Field(min_length=1, description="Markets or channels (ISO country codes or names).")
    period_start: date = Field(description="First day the claim would be used.")
    period_end: date = Field(description="Last day the claim would be used.")
    text_id: Identifier | None = Field(default=None, description="The secretariat's approved text the wording uses, "
                                       "if any (its placeholders filled from certificate_number and link).")
    text_version: int | None = Field(default=None, ge=1, description="Version of that text.")
    footprint_id: UUID | None = Field(default=None, description="A carbon-footprint claim: the id of the PACT "
                                      "ProductFootprint it rests on (`FootprintSubmitted`).")


class ClaimWithdrawn(Envelope):
    """The brand owner withdraws a request or an approved claim."""

    type: Literal["claim_withdrawn"] = Field(default="claim_withdrawn", description="Type tag.")
    claim_id: Identifier = Field(description=CLAIM_ID)
    claimant_organisation_id: Identifier = Field(description="Brand owner.")
    reason: Text = Field(description="Why.")


class ClaimUsageReported(Envelope):
    """The brand owner reports how many units carried the claim in a period (at most once per period).

    The mass used (units x aluminium per unit) stays spent when the claim is withdrawn; only the
    approved mass not reported used returns to the owner's credits."""

    type: Literal["claim_usage_reported"] = Field(default="claim_usage_reported", description="Type tag.")
    claim_id: Identifier = Field(description=CLAIM_ID)
    claimant_organisation_id: Identifier = Field(description="Brand owner.")
    period_start: date = Field(description="First day of the reporting period.")
    period_end: date = Field(description="Last day of the reporting period.")
    units: int = Field(gt=0, description="Units that carried the claim in the period.")


class ReviewDecision(StrEnum):
    """What the secretariat decided on a claim in its review queue."""

    APPROVE = "approve"
    REFUSE = "refuse"


class ClaimReviewDecided(Envelope):
    """The secretariat approves or refuses a claim awaiting its review; the actor is who decided."""

    type: Literal["claim_review_decided"] = Field(default="claim_review_decided", description="Type tag.")
    claim_id: Identifier = Field(description=CLAIM_ID)
    claimant_organisation_id: Identifier = Field(description="Brand owner.")
    decision: ReviewDecision = Field(description="approve or refuse.")
    comment: Text = Field(description="The secretariat's comment, recorded with the decision.")
    reviewer_key_id: Identifier | None = Field(default=None, description="The API key the decision was sent with.")


class ClaimTextPublished(Envelope):
    """The secretariat publishes a version of an approved claim text (a template) for a claim type and
    language. Placeholders: `{certificate_number}`, `{link}`. With `auto_approve`, a request whose
    wording is this version's template filled with its own certificate number and link is approved
    without review; the latest version of a text is the one that counts."""

    type: Literal["claim_text_published"] = Field(default="claim_text_published", description="Type tag.")
    claim_id: Identifier = Field(description="Partition key: `text:<text_id>` (texts share the claims topic).")
    text_id: Identifier = Field(description="The text's id, stable across versions.")
    version: int = Field(ge=1, description="Version; a new one supersedes the earlier ones.")
    claim_type: ClaimType = Field(description="Claim type the text is for.")
    language: str = Field(min_length=2, max_length=12, description="Language tag (BCP 47), e.g. en, de, fr-CH.")
    template: Text = Field(description="The wording with placeholders {certificate_number} and {link}.")
    auto_approve: bool = Field(default=False, description="Approve requests using this version without review.")


class ClaimTypeStatusSet(Envelope):
    """The secretariat sets whether a claim type is enabled, a pilot or off (for requests from now on)."""

    type: Literal["claim_type_status_set"] = Field(default="claim_type_status_set", description="Type tag.")
    claim_id: Identifier = Field(description="Partition key: `type:<claim_type>`.")
    claim_type: ClaimType = Field(description="The claim type.")
    status: ClaimTypeStatus = Field(description="enabled, pilot or off.")


class FootprintSubmitted(Envelope):
    """A producer submits a product carbon footprint as a WBCSD PACT ProductFootprint (issue 18 item 5).

    Kept by claims under its id (the latest version counts); a carbon-footprint claim quotes it by
    `footprint_id`. The same version again with other content, an older version, or an id another
    organisation submitted is refused (`ClaimRequestRefused`, `claim_id` = `footprint:<id>`)."""

    type: Literal["footprint_submitted"] = Field(default="footprint_submitted", description="Type tag.")
    claim_id: Identifier = Field(description="Partition key: `footprint:<footprint id>` (footprints share the "
                                 "claims topic; another value is refused, `invalid_request`).")
    producer_organisation_id: Identifier = Field(description="Organisation submitting the footprint (its owner).")
    footprint: ProductFootprint = Field(description="The PACT ProductFootprint, PACT property names on the wire.")
    coc_document_ids: list[Identifier] = Field(default_factory=list, max_length=1000,
                                               description="CoC Documents of the producer's this is the footprint of.")


def footprint_key(footprint_id: UUID) -> str:
    """The partition key (and `claim_id`) of a footprint's messages."""
    return f"footprint:{footprint_id}"


ClaimRequest = Annotated[ClaimRequested | ClaimWithdrawn | ClaimUsageReported | ClaimReviewDecided
                         | ClaimTextPublished | ClaimTypeStatusSet | FootprintSubmitted, Field(discriminator="type")]


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


class FootprintEvidence(Contract):
    """The PACT footprint a carbon-footprint claim rested on, with its provenance."""

    footprint_id: UUID = Field(description="PACT ProductFootprint id.")
    version: int = Field(ge=0, description="Its version.")
    submitted_by: Identifier = Field(description="Organisation that submitted it.")
    company_name: Text = Field(description="Company that declares it (`companyName`).")
    declared_unit: str = Field(max_length=40, description="PACT declared unit.")
    pcf_excluding_biogenic: ExactDecimal = Field(description="kg CO2e per declared unit, excluding biogenic.")
    assurance_provider: Text | None = Field(default=None, description="Third-party assurance provider.")
    assurance_completed_at: UtcDatetime | None = Field(default=None, description="When the assurance was completed.")
    assurance_level: str | None = Field(default=None, max_length=40, description="limited or reasonable.")
    assurance_standard: Text | None = Field(default=None, description="Assurance standard.")
    valid_until: date = Field(description="Last day of the footprint's validity.")


class Evidence(Contract):
    """What a decision rested on, for the auditor."""

    certificates: list[CertificateEvidence] = Field(default_factory=list, description="Certificates checked.")
    allocation: AllocationEvidence | None = Field(default=None, description="Allocation, if any.")
    claimed_mass_kg: KgOrZero = Field(description="Aluminium mass the claim covers.")
    wording_rules_version: Identifier = Field(description="Version of the wording rules applied.")
    checked_at: UtcDatetime = Field(description="When the checks ran.")
    footprint: FootprintEvidence | None = Field(default=None, description="A carbon-footprint claim: the PACT "
                                                "footprint checked.")


class Review(Contract):
    """The secretariat's review behind a decision: who decided, what they said, how long the claim waited."""

    decided_by: Identifier = Field(description="Organisation that decided (the secretariat).")
    reviewer_key_id: Identifier | None = Field(default=None, description="API key the decision was sent with.")
    decision: ReviewDecision = Field(description="approve or refuse.")
    comment: Text = Field(description="The reviewer's comment.")
    awaiting_since: UtcDatetime = Field(description="When the claim entered the review queue.")
    waited_seconds: int = Field(ge=0, description="Time in the review queue, whole seconds.")


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


ClaimDecision = Annotated[
    ClaimPending
    | ClaimAwaitingReview
    | ClaimApproved
    | ClaimRejected
    | ClaimRevoked
    | ClaimExpired
    | ClaimWithdrawalConfirmed
    | ClaimUsageRecorded
    | ClaimRequestRefused
    | PlausibilityAlertRaised,
    Field(discriminator="type"),
]
