"""Builders for the accounting unit tests: movements, certificates and a ledger in memory."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

from contracts.common import (
    Actor,
    Classification,
    MaterialCategory,
    ProcessStep,
    Role,
    Standard,
)
from contracts.movements import (
    MaterialReceivedRecorded,
    MaterialShippedRecorded,
    MaterialTransformedRecorded,
    MovementCancelled,
    MovementLine,
    Verification,
)
from contracts.registry import (
    Certificate,
    CertificateScope,
    CertificateStatus,
    ScopeLevel,
)
from services.accounting.domain.ledger import Ledger
from services.accounting.domain.rules import Assignment

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
DAY = date(2026, 5, 1)
ORG = "org-smelter"
ACTOR = Actor(organisation_id="intake", role=Role.SERVICE)


def _id() -> uuid.UUID:
    return uuid.uuid4()


def receipt(kg: str, coc: str | None = None, *, site: str = "site-a", org: str = ORG, day: date = DAY,
            category: MaterialCategory = MaterialCategory.ALUMINIUM, form: str = "ingot",
            document: str | None = "doc-in-1", movement_id: uuid.UUID | None = None,
            corrects: uuid.UUID | None = None, classification: Classification | None = None,
            recycled: str | None = None, footprint: str | None = None, pre: str | None = None,
            post: str | None = None) -> MaterialReceivedRecorded:
    """`pre`/`post`: the recycled split the CoC Document states (its share is their sum unless `recycled`
    says otherwise)."""
    if recycled is None and pre is not None and post is not None:
        recycled = str(Decimal(pre) + Decimal(post))
    coc = kg if coc is None else coc
    if classification is None:
        classification = Classification.COC_MATERIAL if Decimal(coc) > 0 else Classification.NON_COC_MATERIAL
    mid = movement_id or _id()
    return MaterialReceivedRecorded.create(
        actor=ACTOR, occurred_at=NOW, event_id=_id(), movement_id=mid, corrects_movement_id=corrects,
        site_id=site, organisation_id=org, received_on=day, supplier_organisation_id="org-supplier",
        material_category=category, product_form=form, quantity_kg=Decimal(kg), classification=classification,
        coc_quantity_kg=Decimal(coc), coc_document_id=document if classification is Classification.COC_MATERIAL else None,
        verification=Verification.VERIFIED,
        recycled_content_share=Decimal(recycled) if recycled is not None else None,
        recycled_pre_consumer_share=Decimal(pre) if pre is not None else None,
        recycled_post_consumer_share=Decimal(post) if post is not None else None,
        carbon_footprint_kg_co2e_per_kg=Decimal(footprint) if footprint is not None else None,
    )


def ship(kg: str, coc: str, *, site: str = "site-a", org: str = ORG, day: date = DAY,
         category: MaterialCategory = MaterialCategory.ALUMINIUM, form: str = "ingot",
         movement_id: uuid.UUID | None = None, corrects: uuid.UUID | None = None,
         customer: str = "org-buyer") -> MaterialShippedRecorded:
    return MaterialShippedRecorded.create(
        actor=ACTOR, occurred_at=NOW, event_id=_id(), movement_id=movement_id or _id(), corrects_movement_id=corrects,
        site_id=site, organisation_id=org, shipped_on=day, customer_organisation_id=customer,
        customer_site_id="site-buyer", material_category=category, product_form=form, quantity_kg=Decimal(kg),
        coc_quantity_kg=Decimal(coc), shipment_reference=f"ship-{uuid.uuid4().hex[:6]}",
    )


def transform(inputs: list[tuple[MaterialCategory, str, str]], outputs: list[tuple[MaterialCategory, str, str]],
              factor: str, *, step: ProcessStep = ProcessStep.ALUMINA_TO_ALUMINIUM, site: str = "site-a",
              org: str = ORG, day: date = DAY) -> MaterialTransformedRecorded:
    return MaterialTransformedRecorded.create(
        actor=ACTOR, occurred_at=NOW, event_id=_id(), movement_id=_id(), site_id=site, organisation_id=org,
        transformed_on=day, process_step=step,
        inputs=[MovementLine(material_category=c, product_form=f, quantity_kg=Decimal(q)) for c, f, q in inputs],
        outputs=[MovementLine(material_category=c, product_form=f, quantity_kg=Decimal(q)) for c, f, q in outputs],
        conversion_factor=Decimal(factor),
    )


def cancel(target: uuid.UUID, *, site: str = "site-a", org: str = ORG) -> MovementCancelled:
    return MovementCancelled.create(actor=ACTOR, occurred_at=NOW, event_id=_id(), movement_id=_id(), site_id=site,
                                    organisation_id=org, cancelled_movement_id=target, reason="entered twice")


def certificate(*, org: str = ORG, sites: tuple[str, ...] = ("site-a", "site-b"),
                status: CertificateStatus = CertificateStatus.ACTIVE, revision: int = 1,
                certificate_id: str = "cert-1", standard: Standard = Standard.CHAIN_OF_CUSTODY,
                supersedes: str | None = None) -> Certificate:
    prefix = "COC" if standard is Standard.CHAIN_OF_CUSTODY else "PS"
    return Certificate(
        certificate_id=certificate_id, certificate_number=f"ASI-{prefix}-2026-{certificate_id}", organisation_id=org,
        standard=standard, standard_version="V2-2022", status=status, provisional=False,
        supersedes_certificate_id=supersedes,
        scope=CertificateScope(level=ScopeLevel.ENTITY, site_ids=list(sites)), certification_body_id="cb-1",
        audit_id="audit-1", issued_on=date(2025, 1, 1), valid_from=date(2025, 1, 1), valid_until=date(2027, 12, 31),
        revision=revision, updated_at=NOW,
    )


def ps_certificate(*, org: str = ORG, sites: tuple[str, ...] = ("site-a", "site-b"),
                   status: CertificateStatus = CertificateStatus.ACTIVE, certificate_id: str = "ps-1",
                   revision: int = 1) -> Certificate:
    return certificate(org=org, sites=sites, status=status, certificate_id=certificate_id, revision=revision,
                       standard=Standard.PERFORMANCE_STANDARD)


def ledger(rule_set_id: str | None = None, *, org: str = ORG, certified: bool = True, **kwargs) -> Ledger:
    """Books of `org`, by default certified against CoC (scope `cert-1`) and PS for site-a and site-b."""
    assignments = {org: [Assignment(date(2000, 1, 1), rule_set_id)]} if rule_set_id else {}
    certificates = [certificate(org=org), ps_certificate(org=org)] if certified else []
    return Ledger(assignments=assignments, certificates=certificates, **kwargs)


def group(org: str = ORG, scope: str = "cert-1") -> str:
    """The pooled account of the organisation's CoC scope."""
    return f"group:{org}/{scope}"
