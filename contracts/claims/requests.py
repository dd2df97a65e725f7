"""What a brand owner sends on `claims.requests.v1` about its own claim: the request (the product,
the claim type and wording), a withdrawal, and usage reports. `CLAIM_ID` describes the claim id every
claim message carries.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Literal
from uuid import UUID

from pydantic import Field

from contracts.common import (
    Contract,
    Envelope,
    Identifier,
    Kg,
    KgOrZero,
    Share,
    Text,
)

CLAIM_ID = ("Claim id, the claimant's own (unique per claimant organisation: a claim is "
            "claimant_organisation_id and claim_id); the partition key.")


class ClaimType(StrEnum):
    """What the brand owner wants to say."""

    ON_PACK_LOGO = "on_pack_logo"
    CERTIFIED_TEXT = "certified_text"
    RECYCLED_CONTENT = "recycled_content"
    CARBON_FOOTPRINT = "carbon_footprint"


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
