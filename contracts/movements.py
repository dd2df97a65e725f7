"""`material.movements.v1`, keyed by site id: validated, classified movements in exact kilograms.

One movement per accepted plant event; `movement_id` is the producer's event id, so a movement
correcting an earlier one names it in `corrects_movement_id`, and the ledger reverses the old
entries before booking the new.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Literal
from uuid import UUID

from pydantic import Field

from contracts.common import (
    Classification,
    Contract,
    DueDiligenceStatus,
    Envelope,
    Factor,
    Identifier,
    Kg,
    KgOrZero,
    MaterialCategory,
    ProcessStep,
    Share,
    Text,
)


class Verification(StrEnum):
    """How far intake could verify a receipt's CoC claim."""

    VERIFIED = "verified"
    UNVERIFIED_FLAGGED = "unverified_flagged_for_audit"
    NOT_APPLICABLE = "not_applicable"


class MovementLine(Contract):
    """One normalised material line."""

    material_category: MaterialCategory = Field(description="What the material is.")
    product_form: Identifier = Field(description="Product form.")
    quantity_kg: Kg = Field(description="Mass in kilograms.")


class _Movement(Envelope):
    movement_id: UUID = Field(description="Id of the movement: the producer's plant event id.")
    corrects_movement_id: UUID | None = Field(
        default=None, description="Movement this one replaces whole (a producer correction)."
    )
    site_id: Identifier = Field(description="Site of the movement (the partition key).")
    organisation_id: Identifier = Field(description="Organisation owning the site.")


class MaterialReceivedRecorded(_Movement):
    """Material received at a site, classified; CoC Material carries its matched CoC Document."""

    type: Literal["material_received_recorded"] = Field(default="material_received_recorded", description="Type tag.")
    received_on: date = Field(description="Date received.")
    supplier_organisation_id: Identifier = Field(description="Supplying organisation.")
    supplier_site_id: Identifier | None = Field(default=None, description="Supplying site, where known.")
    material_category: MaterialCategory = Field(description="What the material is.")
    product_form: Identifier = Field(description="Product form.")
    quantity_kg: Kg = Field(description="Total mass received, kilograms.")
    classification: Classification = Field(description="CoC Material, eligible scrap or non-CoC material.")
    coc_quantity_kg: KgOrZero = Field(
        description="Mass that counts as CoC input: matched against the CoC Document, or the eligible scrap mass."
    )
    coc_document_id: Identifier | None = Field(default=None, description="Matched CoC Document, for CoC Material.")
    verification: Verification = Field(description="How far the CoC claim could be verified.")
    due_diligence_reference: Identifier | None = Field(default=None, description="Due-diligence record reference.")
    due_diligence_status: DueDiligenceStatus | None = Field(default=None, description="Due-diligence outcome.")
    recycled_content_share: Share | None = Field(
        default=None, description="Recycled-content share stated on the CoC Document (1 for eligible scrap)."
    )
    recycled_pre_consumer_share: Share | None = Field(
        default=None, description="Pre-consumer part of that share stated on the CoC Document (ISO 14021)."
    )
    recycled_post_consumer_share: Share | None = Field(
        default=None, description="Post-consumer part of that share stated on the CoC Document (ISO 14021)."
    )
    carbon_footprint_kg_co2e_per_kg: KgOrZero | None = Field(
        default=None, description="Carbon footprint stated on the CoC Document."
    )


class MaterialTransformedRecorded(_Movement):
    """A process step at a site, with the yield the site declared for it."""

    type: Literal["material_transformed_recorded"] = Field(
        default="material_transformed_recorded", description="Type tag."
    )
    transformed_on: date = Field(description="Date of the transformation.")
    process_step: ProcessStep = Field(description="The process step.")
    inputs: list[MovementLine] = Field(min_length=1, description="Material consumed.")
    outputs: list[MovementLine] = Field(min_length=1, description="Material produced.")
    conversion_factor: Factor = Field(description="The site's declared, audited yield for this step.")


class MaterialShippedRecorded(_Movement):
    """A shipment; `coc_quantity_kg` above zero is a designation the ledger must cover."""

    type: Literal["material_shipped_recorded"] = Field(default="material_shipped_recorded", description="Type tag.")
    shipped_on: date = Field(description="Date shipped.")
    customer_organisation_id: Identifier = Field(description="Receiving organisation.")
    customer_site_id: Identifier | None = Field(default=None, description="Receiving site, where known.")
    material_category: MaterialCategory = Field(description="What is shipped.")
    product_form: Identifier = Field(description="Product form shipped.")
    quantity_kg: Kg = Field(description="Total mass shipped, kilograms.")
    coc_quantity_kg: KgOrZero = Field(description="Mass the producer wants sold as CoC Material.")
    shipment_reference: Identifier = Field(description="Producer's shipment reference.")
    carbon_footprint_kg_co2e_per_kg: KgOrZero | None = Field(
        default=None, description="Carbon footprint to state on the CoC Document."
    )


class MovementCancelled(_Movement):
    """An earlier movement is withdrawn; its ledger effects must be reversed."""

    type: Literal["movement_cancelled"] = Field(default="movement_cancelled", description="Type tag.")
    cancelled_movement_id: UUID = Field(description="The movement withdrawn.")
    reason: Text = Field(description="Why.")


MaterialMovement = Annotated[
    MaterialReceivedRecorded | MaterialTransformedRecorded | MaterialShippedRecorded | MovementCancelled,
    Field(discriminator="type"),
]
