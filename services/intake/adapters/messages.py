"""The only place intake's decisions become contract messages: envelopes with deterministic event
ids (a re-run emits the same ids), their topic and their key (the site id)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from contracts import topics
from contracts.common import Actor, Envelope, Reason, Role, derived_event_id
from contracts.intake import IntakeReason, PlantEventHeld, PlantEventRejected
from contracts.movements import (
    MaterialReceivedRecorded,
    MaterialShippedRecorded,
    MaterialTransformedRecorded,
    MovementCancelled,
    MovementLine,
)
from libs.messaging import Outgoing
from services.intake.domain.outcomes import (
    Accepted,
    CancellationAccepted,
    Held,
    Line,
    Outcome,
    PlantEvent,
    ReceiptAccepted,
    Refused,
    ShipmentAccepted,
    TransformationAccepted,
)

ACTOR = Actor(organisation_id="intake", role=Role.SERVICE)
MESSAGE_MAX = 4000


class KafkaMessages:
    """The `Messages` port: movements on `material.movements.v1`, refusals and holds on
    `intake.rejections.v1`, keyed by site id."""

    def answer(self, outcome: Outcome, now: datetime) -> Outgoing | None:
        message = envelope(outcome, now)
        if message is None:
            return None
        topic = (
            topics.INTAKE_REJECTIONS
            if isinstance(outcome, Refused | Held)
            else topics.MATERIAL_MOVEMENTS
        )
        return Outgoing(message, topic, outcome.event.site_id)

    def conflict(self, event: PlantEvent, digest: str, now: datetime) -> Outgoing:
        return Outgoing(conflict(event, digest, now), topics.INTAKE_REJECTIONS, event.site_id)


def envelope(outcome: Outcome, now: datetime) -> Envelope | None:
    """The message that answers an outcome; a hold is announced the first time only."""
    if isinstance(outcome, Refused):
        return rejection(outcome, now)
    if isinstance(outcome, Held):
        return held(outcome, now) if outcome.first else None
    return movement(outcome, now)


def movement(accepted: Accepted, now: datetime) -> Envelope:
    event = accepted.event
    common: dict[str, Any] = {
        "actor": ACTOR,
        "occurred_at": now,
        "cause": event,
        "event_id": derived_event_id(event.event_id, "movement"),
        "movement_id": event.event_id,
        "site_id": event.site_id,
        "organisation_id": accepted.organisation_id,
    }
    if isinstance(accepted, ReceiptAccepted):
        return _received(accepted, common)
    if isinstance(accepted, TransformationAccepted):
        return MaterialTransformedRecorded.create(
            **common,
            corrects_movement_id=accepted.replaces,
            transformed_on=accepted.event.transformed_on,
            process_step=accepted.event.process_step,
            inputs=[_line(x) for x in accepted.inputs],
            outputs=[_line(x) for x in accepted.outputs],
            conversion_factor=accepted.conversion_factor,
        )
    if isinstance(accepted, ShipmentAccepted):
        shipped = accepted.event
        return MaterialShippedRecorded.create(
            **common,
            corrects_movement_id=accepted.replaces,
            shipped_on=shipped.shipped_on,
            customer_organisation_id=shipped.customer_organisation_id,
            customer_site_id=shipped.customer_site_id,
            material_category=shipped.material_category,
            product_form=shipped.product_form,
            quantity_kg=accepted.quantity_kg,
            coc_quantity_kg=accepted.coc_kg,
            shipment_reference=shipped.shipment_reference,
            carbon_footprint_kg_co2e_per_kg=shipped.carbon_footprint_kg_co2e_per_kg,
        )
    return _cancelled(accepted, common)


def _received(accepted: ReceiptAccepted, common: dict[str, Any]) -> Envelope:
    received = accepted.event
    return MaterialReceivedRecorded.create(
        **common,
        corrects_movement_id=accepted.replaces,
        received_on=received.received_on,
        supplier_organisation_id=received.supplier_organisation_id,
        supplier_site_id=received.supplier_site_id,
        material_category=received.material_category,
        product_form=received.product_form,
        quantity_kg=accepted.quantity_kg,
        classification=accepted.classification,
        coc_quantity_kg=accepted.coc_kg,
        coc_document_id=accepted.document_id,
        verification=accepted.verification,
        due_diligence_reference=received.due_diligence_reference,
        due_diligence_status=received.due_diligence_status,
        recycled_content_share=accepted.recycled_content_share,
        recycled_pre_consumer_share=accepted.recycled_pre_consumer_share,
        recycled_post_consumer_share=accepted.recycled_post_consumer_share,
        carbon_footprint_kg_co2e_per_kg=accepted.carbon_footprint_kg_co2e_per_kg,
    )


def _cancelled(accepted: CancellationAccepted, common: dict[str, Any]) -> Envelope:
    cancel = accepted.event
    return MovementCancelled.create(
        **common,
        cancelled_movement_id=cancel.cancels_event_id,
        reason=cancel.reason,
    )


def _line(line: Line) -> MovementLine:
    return MovementLine(
        material_category=line.material_category,
        product_form=line.product_form,
        quantity_kg=line.quantity_kg,
    )


def rejection(refused: Refused, now: datetime) -> PlantEventRejected:
    event = refused.event
    message = "; ".join(r.message for r in refused.reasons)
    return PlantEventRejected.create(
        actor=ACTOR,
        occurred_at=now,
        cause=event,
        event_id=derived_event_id(event.event_id, "rejected"),
        site_id=event.site_id,
        rejected_event_id=event.event_id,
        rejected_event_type=event.type,
        reasons=list(refused.reasons),
        message=message[:MESSAGE_MAX],
    )


def held(outcome: Held, now: datetime) -> PlantEventHeld:
    event = outcome.event
    return PlantEventHeld.create(
        actor=ACTOR,
        occurred_at=now,
        cause=event,
        event_id=derived_event_id(event.event_id, "held"),
        site_id=event.site_id,
        held_event_id=event.event_id,
        waiting_for=list(outcome.waiting_for),
        retry_until=outcome.retry_until,
    )


def conflict(event: PlantEvent, digest: str, now: datetime) -> PlantEventRejected:
    """The same event id came back with other content: refused, the first version stands."""
    reason = Reason(
        code=IntakeReason.EVENT_ID_CONFLICT,
        message=f"event id {event.event_id} was already used with different content; "
        "the first stands",
    )
    return PlantEventRejected.create(
        actor=ACTOR,
        occurred_at=now,
        cause=event,
        event_id=derived_event_id(event.event_id, "conflict", digest),
        site_id=event.site_id,
        rejected_event_id=event.event_id,
        rejected_event_type=event.type,
        reasons=[reason],
        message=reason.message,
    )
