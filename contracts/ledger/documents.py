"""CoC Documents: the signed document issued with a shipment sold as CoC Material, and the share of
one that backs a claim's allocation (`DocumentShare`, carried by `AllocationGranted`).
"""

from __future__ import annotations

from datetime import date
from typing import Literal
from uuid import UUID

from pydantic import Field

from contracts.common import (
    Contract,
    Envelope,
    Identifier,
    Kg,
    KgOrZero,
    MaterialCategory,
    Share,
)


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
