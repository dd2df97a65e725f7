"""What the gate decides about one plant event, in domain words (the messages adapter turns each
into the contract message it publishes)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from contracts.common import Classification, MaterialCategory, Reason
from contracts.movements import Verification
from contracts.plant import (
    MaterialReceived,
    MaterialShipped,
    MaterialTransformed,
    PlantEventCancelled,
)

PlantEvent = MaterialReceived | MaterialTransformed | MaterialShipped | PlantEventCancelled


@dataclass(frozen=True)
class Line:
    """One input or output of a transformation, in kilograms."""

    material_category: MaterialCategory
    product_form: str
    quantity_kg: Decimal


@dataclass(frozen=True)
class ReceiptAccepted:
    """A receipt, classified. `document_id` and `matched_kg`: what it took of a CoC Document (taken
    even when due diligence failed, so the same tonnes are never received twice)."""

    event: MaterialReceived
    organisation_id: str
    quantity_kg: Decimal
    classification: Classification
    coc_kg: Decimal
    verification: Verification
    document_id: str | None = None
    matched_kg: Decimal = Decimal(0)
    recycled_content_share: Decimal | None = None
    recycled_pre_consumer_share: Decimal | None = None
    recycled_post_consumer_share: Decimal | None = None
    carbon_footprint_kg_co2e_per_kg: Decimal | None = None
    replaces: UUID | None = None


@dataclass(frozen=True)
class TransformationAccepted:
    event: MaterialTransformed
    organisation_id: str
    inputs: tuple[Line, ...]
    outputs: tuple[Line, ...]
    conversion_factor: Decimal
    replaces: UUID | None = None


@dataclass(frozen=True)
class ShipmentAccepted:
    event: MaterialShipped
    organisation_id: str
    quantity_kg: Decimal
    coc_kg: Decimal
    replaces: UUID | None = None


@dataclass(frozen=True)
class CancellationAccepted:
    event: PlantEventCancelled
    organisation_id: str


Accepted = ReceiptAccepted | TransformationAccepted | ShipmentAccepted | CancellationAccepted


@dataclass(frozen=True)
class Refused:
    event: PlantEvent
    reasons: tuple[Reason, ...]


@dataclass(frozen=True)
class Held:
    """The event waits; `first`: it was not held before (only then is the hold announced)."""

    event: PlantEvent
    waiting_for: tuple[Reason, ...]
    retry_until: datetime
    first: bool


Outcome = Accepted | Refused | Held
