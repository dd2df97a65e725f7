"""A small world for the intake domain tests: a smelter supplying a rolling mill, and a remelter."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from contracts.common import Activity, Actor, MaterialCategory, ProcessStep, Role, Standard
from contracts.ledger import CoCDocument
from contracts.plant import (
    MaterialReceived,
    MaterialShipped,
    MaterialTransformed,
    PlantEventCancelled,
    PlantLine,
)
from contracts.registry import (
    Certificate,
    CertificateScope,
    CertificateStatus,
    ConversionFactor,
    ScopeLevel,
    Site,
)
from services.intake.domain.intake import Intake
from services.intake.domain.model import DocumentState, World
from services.intake.domain.rules import IntakeRules

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SMELTER, ROLLER, REMELTER = "org-smelt", "org-roll", "org-remelt"


def site(
    site_id: str,
    org: str,
    activities: list[Activity],
    factors: dict[ProcessStep, str] | None = None,
) -> Site:
    return Site(
        site_id=site_id,
        organisation_id=org,
        name=site_id,
        country="NO",
        activities=activities,
        conversion_factors=[
            ConversionFactor(process_step=s, factor=Decimal(f)) for s, f in (factors or {}).items()
        ],
    )


def certificate(
    org: str = SMELTER,
    sites: tuple[str, ...] = ("site-smelt",),
    *,
    valid_from: date = date(2025, 1, 1),
    valid_until: date = date(2027, 12, 31),
    status: CertificateStatus = CertificateStatus.ACTIVE,
    updated_at: datetime = NOW,
    standard: Standard = Standard.CHAIN_OF_CUSTODY,
    revision: int = 1,
) -> Certificate:
    return Certificate(
        certificate_id=f"cert-{org}-{Standard(standard).value}",
        certificate_number="ASI-COC-2025-00001",
        organisation_id=org,
        standard=standard,
        standard_version="V2-2022",
        status=status,
        provisional=False,
        scope=CertificateScope(level=ScopeLevel.FACILITY, site_ids=list(sites)),
        certification_body_id="cb-1",
        audit_id="audit-1",
        issued_on=valid_from,
        valid_from=valid_from,
        valid_until=valid_until,
        revision=revision,
        updated_at=updated_at,
    )


def document(
    document_id: str = "DOC-1",
    *,
    mass: str = "10000",
    recipient: str = ROLLER,
    recipient_site: str | None = None,
    category: MaterialCategory = MaterialCategory.ALUMINIUM,
    issued_on: date = date(2026, 5, 20),
) -> CoCDocument:
    return CoCDocument(
        document_id=document_id,
        issuer_organisation_id=SMELTER,
        issuer_site_id="site-smelt",
        issuer_certificate_number="ASI-COC-2025-00001",
        recipient_organisation_id=recipient,
        recipient_site_id=recipient_site,
        issued_on=issued_on,
        shipment_reference="SHIP-1",
        movement_id=uuid.uuid4(),
        material_category=category,
        product_form="ingot",
        coc_mass_kg=Decimal(mass),
        rule_set_id="v2",
        rule_set_version="1",
        recycled_content_share=Decimal("0.25"),
        carbon_footprint_kg_co2e_per_kg=Decimal("4.1"),
    )


def world(*documents: CoCDocument, certificates: list[Certificate] | None = None) -> World:
    w = World()
    for s in (
        site(
            "site-smelt",
            SMELTER,
            [Activity.SMELTING, Activity.CASTING],
            {ProcessStep.ALUMINA_TO_ALUMINIUM: "0.52"},
        ),
        site("site-roll", ROLLER, [Activity.ROLLING], {ProcessStep.ROLLING: "0.85"}),
        site("site-roll-2", ROLLER, [Activity.ROLLING], {ProcessStep.ROLLING: "0.85"}),
        site(
            "site-remelt",
            REMELTER,
            [Activity.REMELTING, Activity.CASTING],
            {ProcessStep.REMELTING: "0.97"},
        ),
    ):
        w.sites[s.site_id] = s
    w.members = {SMELTER, ROLLER, REMELTER}
    for c in [certificate()] if certificates is None else certificates:
        w.certificates.setdefault(c.organisation_id, []).append(c)
    for d in documents:
        w.documents[d.document_id] = DocumentState(d)
    return w


def intake(w: World | None = None, **rules: Any) -> Intake:
    return Intake(w if w is not None else world(document()), IntakeRules(**rules))


def producer(org: str = ROLLER) -> Actor:
    return Actor(organisation_id=org, role=Role.PRODUCER)


def received(org: str = ROLLER, **body: Any) -> MaterialReceived:
    values: dict[str, Any] = {
        "site_id": "site-roll",
        "received_on": date(2026, 5, 25),
        "supplier_organisation_id": SMELTER,
        "supplier_site_id": "site-smelt",
        "material_category": "aluminium",
        "product_form": "ingot",
        "quantity": "4000",
        "unit": "kg",
        "coc_document_id": "DOC-1",
    }
    values.update(body)
    return MaterialReceived.create(
        actor=body.pop("actor", None) or producer(org),
        occurred_at=NOW,
        **{k: v for k, v in values.items() if k != "actor"},
    )


def scrap(**body: Any) -> MaterialReceived:
    values: dict[str, Any] = {
        "site_id": "site-remelt",
        "supplier_organisation_id": "scrap-dealer",
        "supplier_site_id": None,
        "material_category": "post_consumer_scrap",
        "product_form": "bales",
        "coc_document_id": None,
        "due_diligence_reference": "DD-7",
        "due_diligence_status": "passed",
    }
    values.update(body)
    return received(REMELTER, **values)


def line(category: str, quantity: str, unit: str = "kg", form: str = "coil") -> PlantLine:
    return PlantLine(
        material_category=category, product_form=form, quantity=Decimal(quantity), unit=unit
    )


def transformed(
    inputs: list[PlantLine], outputs: list[PlantLine], **body: Any
) -> MaterialTransformed:
    values: dict[str, Any] = {
        "site_id": "site-roll",
        "transformed_on": date(2026, 5, 26),
        "process_step": "rolling",
        "inputs": inputs,
        "outputs": outputs,
    }
    values.update(body)
    return MaterialTransformed.create(actor=producer(), occurred_at=NOW, **values)


def shipped(**body: Any) -> MaterialShipped:
    values: dict[str, Any] = {
        "site_id": "site-roll",
        "shipped_on": date(2026, 5, 27),
        "customer_organisation_id": "org-can",
        "material_category": "aluminium",
        "product_form": "coil",
        "quantity": "11",
        "unit": "t",
        "coc_quantity": "5",
        "shipment_reference": "DN-1",
    }
    values.update(body)
    return MaterialShipped.create(actor=values.pop("actor", producer()), occurred_at=NOW, **values)


def cancelled(target: uuid.UUID, site_id: str = "site-roll", **body: Any) -> PlantEventCancelled:
    return PlantEventCancelled.create(
        actor=producer(body.pop("org", ROLLER)),
        occurred_at=NOW,
        site_id=site_id,
        cancels_event_id=target,
        reason="entered twice",
        **body,
    )


def later(hours: float) -> datetime:
    return NOW + timedelta(hours=hours)
