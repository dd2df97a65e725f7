"""The CoC Document a designation issues (`contracts.ledger.CoCDocument`: the document body the
adapter signs and publishes). The recycled content it states is computed in `recycled.py`."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

from contracts.ledger import CoCDocument
from contracts.movements import MaterialShippedRecorded
from contracts.registry import Certificate
from services.accounting.domain.recycled import RecycledContent
from services.accounting.domain.rules import RuleSet

SHARE_QUANTUM = Decimal("0.000001")
UNCERTIFIED = "uncertified"
"""The issuer certificate number when certificates are not checked (shadow accounting)."""


def document_id(movement_id: UUID | str) -> str:
    return f"coc-{movement_id}"


def coc_document(
    m: MaterialShippedRecorded,
    mass: Decimal,
    certificate: Certificate | None,
    rules: RuleSet,
    recycled: RecycledContent | None,
) -> CoCDocument:
    """The document for `mass` kg of CoC Material designated on a shipment."""
    return CoCDocument(
        document_id=document_id(m.movement_id),
        issuer_organisation_id=m.organisation_id,
        issuer_site_id=m.site_id,
        issuer_certificate_number=certificate.certificate_number if certificate else UNCERTIFIED,
        recipient_organisation_id=m.customer_organisation_id,
        recipient_site_id=m.customer_site_id,
        issued_on=m.shipped_on,
        shipment_reference=m.shipment_reference,
        movement_id=m.movement_id,
        material_category=m.material_category,
        product_form=m.product_form,
        coc_mass_kg=mass,
        rule_set_id=rules.rule_set_id,
        rule_set_version=rules.version,
        recycled_content_share=recycled.share if recycled else None,
        recycled_content_method=recycled.method if recycled else None,
        recycled_pre_consumer_share=recycled.pre_consumer_share if recycled else None,
        recycled_post_consumer_share=recycled.post_consumer_share if recycled else None,
        recycled_content_period_start=recycled.period_start if recycled else None,
        recycled_content_period_end=recycled.period_end if recycled else None,
        carbon_footprint_kg_co2e_per_kg=m.carbon_footprint_kg_co2e_per_kg,
    )
