"""Product carbon footprints (WBCSD PACT): a producer's `FootprintSubmitted` on `claims.requests.v1`,
its partition key, and `FootprintEvidence`, the footprint a carbon-footprint claim's decision rested on.
"""

from __future__ import annotations

from datetime import date
from typing import Literal
from uuid import UUID

from pydantic import Field

from contracts.common import (
    Contract,
    Envelope,
    ExactDecimal,
    Identifier,
    Text,
    UtcDatetime,
)
from contracts.pact import ProductFootprint


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
