"""`intake.rejections.v1`, keyed by site id: every plant event intake refused or is holding."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import Field

from contracts.common import Envelope, Identifier, Reason, UtcDatetime


class IntakeReason:
    """Reason codes intake uses on `intake.rejections.v1`."""

    SCHEMA_INVALID = "schema_invalid"
    UNKNOWN_SITE = "unknown_site"
    SITE_NOT_OWNED = "site_not_owned_by_actor"
    ACTOR_NOT_PRODUCER = "actor_not_producer"
    QUANTITY_ABSURD = "quantity_absurd"
    DATE_IN_FUTURE = "date_in_future"
    UNKNOWN_DOCUMENT = "unknown_coc_document"
    DOCUMENT_NOT_FOR_RECIPIENT = "coc_document_not_for_recipient"
    DOCUMENT_MATERIAL_MISMATCH = "coc_document_material_mismatch"
    DOCUMENT_OVER_RECEIVED = "coc_document_over_received"
    SUPPLIER_NOT_CERTIFIED = "supplier_not_coc_certified"
    SUPPLIER_NOT_ON_PLATFORM = "supplier_not_on_platform"
    SCRAP_NOT_ALLOWED_AT_SITE = "scrap_classification_not_allowed_at_site"
    DUE_DILIGENCE_MISSING = "due_diligence_missing"
    YIELD_EXCEEDED = "transformation_yield_exceeded"
    NO_DECLARED_YIELD = "no_declared_yield_for_step"
    CATEGORY_NOT_ALLOWED = "material_category_not_allowed_at_site"
    COC_QUANTITY_EXCEEDS_SHIPMENT = "coc_quantity_exceeds_shipment"
    EVENT_ID_CONFLICT = "event_id_conflict"
    UNKNOWN_EVENT_REFERENCE = "unknown_event_reference"
    DEPENDENCY_TIMEOUT = "dependency_not_available_in_time"
    QUANTITY_NOT_POSITIVE = "quantity_not_positive"
    DOCUMENT_SUPPLIER_MISMATCH = "coc_document_supplier_mismatch"
    REFERENCED_EVENT_NOT_ACCEPTED = "referenced_event_not_accepted"
    CORRECTION_TYPE_MISMATCH = "correction_type_mismatch"


class PlantEventRejected(Envelope):
    """A plant event intake refused, with every reason found."""

    type: Literal["plant_event_rejected"] = Field(default="plant_event_rejected", description="Type tag.")
    site_id: Identifier = Field(description="Site of the refused event (the partition key).")
    rejected_event_id: UUID = Field(description="The producer's event id that was refused.")
    rejected_event_type: str = Field(max_length=80, description="Type tag of the refused event.")
    reasons: list[Reason] = Field(min_length=1, description="Every reason the event was refused.")
    message: str = Field(max_length=4000, description="Human summary of the refusal.")


class PlantEventHeld(Envelope):
    """A plant event waits for a certificate or CoC Document it depends on; it is retried, then refused."""

    type: Literal["plant_event_held"] = Field(default="plant_event_held", description="Type tag.")
    site_id: Identifier = Field(description="Site of the held event (the partition key).")
    held_event_id: UUID = Field(description="The producer's event id that is held.")
    waiting_for: list[Reason] = Field(min_length=1, description="What the event waits for.")
    retry_until: UtcDatetime = Field(description="When the event is refused if still unresolved.")


IntakeRejection = Annotated[PlantEventRejected | PlantEventHeld, Field(discriminator="type")]

__all__ = ["IntakeReason", "PlantEventRejected", "PlantEventHeld", "IntakeRejection", "datetime"]
