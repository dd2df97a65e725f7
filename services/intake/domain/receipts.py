"""Receipts: classified as CoC Material, eligible scrap or non-CoC material; due diligence."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from contracts.common import (
    SCRAP_CATEGORIES,
    Classification,
    DueDiligenceStatus,
    MaterialCategory,
)
from contracts.intake import IntakeReason as R
from contracts.movements import Verification
from contracts.plant import MaterialReceived
from contracts.registry import Site
from services.intake.domain.checks import Check, category_allowed, kilograms, not_in_future
from services.intake.domain.documents import matching_document, take
from services.intake.domain.model import EventRecord, World
from services.intake.domain.outcomes import ReceiptAccepted
from services.intake.domain.rules import IntakeRules


@dataclass(frozen=True)
class _Classified:
    classification: Classification
    verification: Verification = Verification.NOT_APPLICABLE
    coc_kg: Decimal = Decimal(0)
    matched_kg: Decimal = Decimal(0)
    recycled_content_share: Decimal | None = None
    recycled_pre_consumer_share: Decimal | None = None
    recycled_post_consumer_share: Decimal | None = None
    carbon_footprint_kg_co2e_per_kg: Decimal | None = None


_NON_COC = _Classified(Classification.NON_COC_MATERIAL)


def receipt(
    event: MaterialReceived,
    site: Site | None,
    replacing: EventRecord | None,
    world: World,
    rules: IntakeRules,
    check: Check,
    now: datetime,
) -> ReceiptAccepted | None:
    """The receipt as it would be accepted (None without a site: then the check waits for it)."""
    kg = kilograms(event.quantity, event.unit, "quantity", rules, check)
    not_in_future(event.received_on, "received_on", now, rules, check)
    if site is not None:
        _receivable_here(event, site, rules, check)
    if event.coc_document_id is not None:
        classified = _coc_material(event, event.coc_document_id, kg, replacing, world, check)
    elif event.material_category in SCRAP_CATEGORIES:
        classified = _scrap(event, kg, check)
    else:
        classified = _non_coc(event, check)
    if site is None:
        return None
    return ReceiptAccepted(
        event=event,
        organisation_id=site.organisation_id,
        quantity_kg=kg,
        classification=classified.classification,
        coc_kg=classified.coc_kg,
        verification=classified.verification,
        document_id=event.coc_document_id,
        matched_kg=classified.matched_kg,
        recycled_content_share=classified.recycled_content_share,
        recycled_pre_consumer_share=classified.recycled_pre_consumer_share,
        recycled_post_consumer_share=classified.recycled_post_consumer_share,
        carbon_footprint_kg_co2e_per_kg=classified.carbon_footprint_kg_co2e_per_kg,
        replaces=replacing.event_id if replacing is not None else None,
    )


def _receivable_here(event: MaterialReceived, site: Site, rules: IntakeRules, check: Check) -> None:
    """Scrap is received and classified only where it is remelted or refined; other material by the
    activity table."""
    if event.material_category not in SCRAP_CATEGORIES:
        category_allowed(
            site,
            event.material_category,
            rules.receivable(site.activities),
            "receive",
            "material_category",
            check,
        )
    elif not set(site.activities) & rules.scrap_classifying_activities:
        check.refuse(
            R.SCRAP_NOT_ALLOWED_AT_SITE,
            "only remelting or refining sites receive and classify scrap; "
            f"{site.site_id} does not remelt or refine",
            "material_category",
        )


def _coc_material(
    event: MaterialReceived,
    document_id: str,
    kg: Decimal,
    replacing: EventRecord | None,
    world: World,
    check: Check,
) -> _Classified:
    """CoC Material is matched against its document. Failed due diligence (issue 15, item 4): the
    material was physically received, so it is non-CoC input, and it uses up the document's mass all
    the same, so the same tonnes can never be received again as CoC Material."""
    state = matching_document(event, document_id, world, check)
    matched = take(kg, state, replacing, check) if state is not None and check.clear else Decimal(0)
    if event.due_diligence_status is DueDiligenceStatus.FAILED:
        return _Classified(Classification.NON_COC_MATERIAL, matched_kg=matched)
    if state is None:
        return _Classified(Classification.COC_MATERIAL, Verification.VERIFIED)
    return _Classified(
        Classification.COC_MATERIAL,
        Verification.VERIFIED,
        coc_kg=matched,
        matched_kg=matched,
        recycled_content_share=state.document.recycled_content_share,
        recycled_pre_consumer_share=state.document.recycled_pre_consumer_share,
        recycled_post_consumer_share=state.document.recycled_post_consumer_share,
        carbon_footprint_kg_co2e_per_kg=state.document.carbon_footprint_kg_co2e_per_kg,
    )


def _scrap(event: MaterialReceived, kg: Decimal, check: Check) -> _Classified:
    """Scrap needs its due-diligence reference and status. Passed: eligible scrap, all of it CoC
    input with a recycled share of 1, pre- or post-consumer by its category (ISO 14021). In progress
    or failed: non-CoC material (a correction once it
    passes)."""
    if event.due_diligence_reference is None:
        check.refuse(
            R.DUE_DILIGENCE_MISSING,
            "eligible scrap needs its due-diligence reference",
            "due_diligence_reference",
        )
    if event.due_diligence_status is None:
        check.refuse(
            R.DUE_DILIGENCE_MISSING, "scrap needs its due-diligence status", "due_diligence_status"
        )
    if event.due_diligence_status is DueDiligenceStatus.PASSED:
        post = event.material_category is MaterialCategory.POST_CONSUMER_SCRAP
        return _Classified(
            Classification.ELIGIBLE_SCRAP,
            coc_kg=kg,
            recycled_content_share=Decimal(1),
            recycled_pre_consumer_share=Decimal(0 if post else 1),
            recycled_post_consumer_share=Decimal(1 if post else 0),
        )
    return _NON_COC


def _non_coc(event: MaterialReceived, check: Check) -> _Classified:
    """Non-CoC material needs its due-diligence status; whatever it is, the material counts as
    input."""
    if event.due_diligence_status is None:
        check.refuse(
            R.DUE_DILIGENCE_MISSING,
            "non-CoC material needs its due-diligence status",
            "due_diligence_status",
        )
    return _NON_COC
