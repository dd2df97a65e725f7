"""`plant.events.v1`, keyed by site id: what producers' plants received, transformed and shipped.

Quantities here are in the unit the producer reports (kg, t or lb); intake normalises them.
A correction is the same event type carrying `corrects_event_id`: it replaces the earlier event
whole. A cancellation withdraws an earlier event.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal
from uuid import UUID

from pydantic import Field

from contracts.common import (
    Contract,
    DueDiligenceStatus,
    Envelope,
    Identifier,
    Kg,
    KgOrZero,
    MassUnit,
    MaterialCategory,
    ProcessStep,
    Text,
)

Quantity = Kg
"""A strictly positive quantity in the event's unit."""


class PlantLine(Contract):
    """One material line of a transformation."""

    material_category: MaterialCategory = Field(description="What the material is.")
    product_form: Identifier = Field(description="Product form, e.g. ingot, slab, coil, can, liquid metal.")
    quantity: Quantity = Field(description="Mass in `unit`.")
    unit: MassUnit = Field(description="Unit of `quantity`.")


class _PlantEvent(Envelope):
    site_id: Identifier = Field(description="The producer's site the event happened at (the partition key).")
    corrects_event_id: UUID | None = Field(
        default=None, description="Event id of an earlier event of this site that this one replaces whole."
    )


class MaterialReceived(_PlantEvent):
    """A site received material from a supplier."""

    type: Literal["material_received"] = Field(default="material_received", description="Type tag.")
    received_on: date = Field(description="Date the material arrived.")
    supplier_organisation_id: Identifier = Field(description="Organisation that shipped the material.")
    supplier_site_id: Identifier | None = Field(default=None, description="Site that shipped it, where known.")
    material_category: MaterialCategory = Field(description="What the material is.")
    product_form: Identifier = Field(description="Product form, e.g. ingot, slab, coil, bales.")
    quantity: Quantity = Field(description="Mass received, in `unit`.")
    unit: MassUnit = Field(description="Unit of `quantity`.")
    coc_document_id: Identifier | None = Field(
        default=None, description="The supplier's CoC Document id, when the material is received as CoC Material."
    )
    due_diligence_reference: Identifier | None = Field(
        default=None, description="Reference of the due-diligence record (required for eligible scrap)."
    )
    due_diligence_status: DueDiligenceStatus | None = Field(
        default=None, description="Due-diligence outcome (required for non-CoC material and scrap)."
    )


class MaterialTransformed(_PlantEvent):
    """A site consumed inputs in a process step and produced outputs."""

    type: Literal["material_transformed"] = Field(default="material_transformed", description="Type tag.")
    transformed_on: date = Field(description="Date of the transformation (or the end of the reported batch).")
    process_step: ProcessStep = Field(description="The process step, whose declared yield applies.")
    inputs: list[PlantLine] = Field(min_length=1, max_length=100, description="Material consumed.")
    outputs: list[PlantLine] = Field(min_length=1, max_length=100, description="Material produced.")


class MaterialShipped(_PlantEvent):
    """A site shipped product to a customer, possibly designating part of it as CoC Material."""

    type: Literal["material_shipped"] = Field(default="material_shipped", description="Type tag.")
    shipped_on: date = Field(description="Date the shipment left the site.")
    customer_organisation_id: Identifier = Field(description="Organisation receiving the shipment.")
    customer_site_id: Identifier | None = Field(default=None, description="Receiving site, where known.")
    material_category: MaterialCategory = Field(description="What is shipped.")
    product_form: Identifier = Field(description="Product form shipped.")
    quantity: Quantity = Field(description="Total mass shipped, in `unit`.")
    unit: MassUnit = Field(description="Unit of `quantity` and `coc_quantity`.")
    coc_quantity: KgOrZero = Field(
        description="How much of the shipment the producer wants sold as CoC Material (the designation), in `unit`."
    )
    shipment_reference: Identifier = Field(description="The producer's shipment or delivery note reference.")
    carbon_footprint_kg_co2e_per_kg: KgOrZero | None = Field(
        default=None, description="Product carbon footprint to state on the CoC Document, if any."
    )


class PlantEventCancelled(_PlantEvent):
    """A producer withdraws an earlier event of the same site."""

    type: Literal["plant_event_cancelled"] = Field(default="plant_event_cancelled", description="Type tag.")
    cancels_event_id: UUID = Field(description="Event id being cancelled.")
    reason: Text = Field(description="Why the earlier event is cancelled.")


PlantEvent = Annotated[
    MaterialReceived | MaterialTransformed | MaterialShipped | PlantEventCancelled, Field(discriminator="type")
]
