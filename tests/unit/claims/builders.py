"""Builders of claims test data: a member with current PS and CoC certificates, and good
requests."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from contracts.claims import (
    ClaimProduct,
    ClaimRequested,
    ClaimReviewDecided,
    ClaimType,
    ClaimUsageReported,
    ReviewDecision,
)
from contracts.common import Actor, Role, Standard
from contracts.pact import ProductFootprint
from contracts.registry import Certificate, CertificateScope, CertificateStatus, ScopeLevel
from services.claims.domain.checks import Allocation, Registry
from services.claims.domain.footprints import Footprint

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
TODAY = NOW.date()
BRAND = "brand-1"
PS_NUMBER = "ASI-PS-2025-00007"
COC_NUMBER = "ASI-COC-2025-00012"
LINK = "https://aluminium-stewardship.org/claims/brand-1"


def certificate(
    org: str = BRAND,
    standard: Standard = Standard.CHAIN_OF_CUSTODY,
    *,
    number: str | None = None,
    certificate_id: str | None = None,
    status: CertificateStatus = CertificateStatus.ACTIVE,
    products: tuple[str, ...] = (),
    valid_from: date = date(2025, 1, 1),
    valid_until: date = date(2027, 12, 31),
    revision: int = 1,
) -> Certificate:
    number = number or (COC_NUMBER if standard is Standard.CHAIN_OF_CUSTODY else PS_NUMBER)
    return Certificate(
        certificate_id=certificate_id or f"cert-{number}",
        certificate_number=number,
        organisation_id=org,
        standard=standard,
        standard_version="V2-2022" if standard is Standard.CHAIN_OF_CUSTODY else "V3-2022",
        status=status,
        provisional=status is CertificateStatus.PROVISIONAL,
        scope=CertificateScope(
            level=ScopeLevel.ENTITY, site_ids=[f"{org}-site-1"], products=list(products)
        ),
        certification_body_id="cb-1",
        audit_id=f"audit-{number}",
        issued_on=valid_from,
        valid_from=valid_from,
        valid_until=valid_until,
        revision=revision,
        updated_at=NOW,
    )


def ps(**kw: Any) -> Certificate:
    return certificate(standard=Standard.PERFORMANCE_STANDARD, **kw)


def coc(**kw: Any) -> Certificate:
    return certificate(standard=Standard.CHAIN_OF_CUSTODY, **kw)


FOOTPRINT_ID = "3893bb5d-da16-4dc1-9185-11d97476c254"
PRODUCT_ID = "GTIN-05000112637922"


def pact(**overrides: Any) -> dict[str, Any]:
    """A PACT v2 ProductFootprint as a producer sends it (PACT property names), assured, for the
    product the builders' requests name; `pcf` overrides merge into its `pcf`."""
    pcf = {
        "declaredUnit": "kilogram",
        "unitaryProductAmount": "1",
        "pCfExcludingBiogenic": "4.2",
        "pCfIncludingBiogenic": "4.2",
        "fossilGhgEmissions": "4.1",
        "fossilCarbonContent": "0",
        "biogenicCarbonContent": "0",
        "characterizationFactors": "AR6",
        "ipccCharacterizationFactorsSources": ["AR6"],
        "crossSectoralStandardsUsed": ["ISO Standard 14067", "GHG Protocol Product standard"],
        "boundaryProcessesDescription": "Cradle to gate: bauxite to rolled can stock",
        "referencePeriodStart": "2025-01-01T00:00:00Z",
        "referencePeriodEnd": "2026-01-01T00:00:00Z",
        "geographyCountry": "DE",
        "exemptedEmissionsPercent": 0,
        "exemptedEmissionsDescription": "none",
        "packagingEmissionsIncluded": False,
        "assurance": {
            "assurance": True,
            "coverage": "product level",
            "level": "limited",
            "boundary": "Cradle-to-Gate",
            "providerName": "Verifier GmbH",
            "completedAt": "2026-02-15T00:00:00Z",
            "standardName": "ISO 14064-3",
        },
        **overrides.pop("pcf", {}),
    }
    return {
        "id": FOOTPRINT_ID,
        "specVersion": "2.2.0",
        "version": 1,
        "created": "2026-03-01T00:00:00Z",
        "status": "Active",
        "companyName": "Brand One Beverages",
        "companyIds": ["urn:asi:organisation:brand-1"],
        "productDescription": "Cola 330 ml aluminium can",
        "productIds": [f"urn:gtin:{PRODUCT_ID}"],
        "productCategoryCpc": "42999",
        "productNameCompany": "Cola can 330 ml",
        "comment": "",
        "pcf": {k: v for k, v in pcf.items() if v is not None},
        **overrides,
    }


def footprint(owner: str = BRAND, **overrides: Any) -> Footprint:
    return Footprint(ProductFootprint.model_validate(pact(**overrides)), owner, NOW)


def registry(
    *certificates: Certificate,
    members: tuple[str, ...] = (BRAND,),
    footprints: tuple[Footprint, ...] | None = None,
) -> Registry:
    kept = (footprint(),) if footprints is None else footprints
    return Registry(
        frozenset(members),
        tuple(certificates) if certificates else (ps(), coc()),
        footprints={str(f.footprint_id): f for f in kept},
    )


WORDING = {
    ClaimType.ON_PACK_LOGO: (
        "ASI Responsible Aluminium Sourcing. Learn more at aluminium-stewardship.org"
    ),
    ClaimType.CERTIFIED_TEXT: f"Made by an ASI certified company, certificate {COC_NUMBER}",
    ClaimType.RECYCLED_CONTENT: "Contains 35% recycled aluminium (mass balance)",
    ClaimType.CARBON_FOOTPRINT: "Aluminium footprint: 4.5 kg CO2e per kg (mass balance)",
}


def request(
    claim_type: ClaimType = ClaimType.ON_PACK_LOGO,
    *,
    claim_id: str = "claim-1",
    org: str = BRAND,
    units: int | None = 1_000_000,
    total_mass_kg: str | None = None,
    per_unit: str = "0.013",
    product_id: str = PRODUCT_ID,
    **overrides: Any,
) -> ClaimRequested:
    body: dict[str, Any] = {
        "claim_id": claim_id,
        "claimant_organisation_id": org,
        "product": ClaimProduct(
            product_id=product_id,
            name="Cola 330 ml can",
            aluminium_mass_per_unit_kg=per_unit,
            units=units,
            total_mass_kg=total_mass_kg,
        ),
        "claim_type": claim_type,
        "wording": WORDING[claim_type],
        "artwork_reference": "artwork-2026-01",
        "link": LINK,
        "markets": ["DE", "FR"],
        "period_start": date(2026, 7, 1),
        "period_end": date(2027, 6, 30),
    }
    if claim_type is ClaimType.CERTIFIED_TEXT:
        body["certificate_number"] = COC_NUMBER
    if claim_type is ClaimType.RECYCLED_CONTENT:
        body["recycled_content_share"] = Decimal("0.35")
    if claim_type is ClaimType.CARBON_FOOTPRINT:
        body["carbon_footprint_kg_co2e_per_kg"] = Decimal("4.5")
        body["footprint_id"] = FOOTPRINT_ID
    body.update(overrides)
    actor = body.pop("actor", Actor(organisation_id=org, role=Role.BRAND_OWNER))
    return ClaimRequested.create(actor=actor, occurred_at=NOW, **body)


def allocation(
    mass: str = "13000",
    recycled: str | None = "0.40",
    footprint: str | None = "4.2",
    split: tuple[str, str] | None = ("0.15", "0.25"),
) -> Allocation:
    """`split`: the pre- and post-consumer shares accounting computed (only with `recycled`)."""
    pre, post = split if split is not None and recycled is not None else (None, None)
    return Allocation(
        recycled_pre_consumer_share=Decimal(pre) if pre is not None else None,
        recycled_post_consumer_share=Decimal(post) if post is not None else None,
        mass_kg=Decimal(mass),
        account_ids=("group:brand-1",),
        document_ids=("doc-1", "doc-2"),
        recycled_content_share=Decimal(recycled) if recycled is not None else None,
        carbon_footprint_kg_co2e_per_kg=Decimal(footprint) if footprint is not None else None,
    )


def usage(
    units: int,
    *,
    claim_id: str = "claim-1",
    org: str = BRAND,
    start: date = date(2026, 7, 1),
    end: date = date(2026, 9, 30),
    actor: Actor | None = None,
) -> ClaimUsageReported:
    return ClaimUsageReported.create(
        actor=actor or Actor(organisation_id=org, role=Role.BRAND_OWNER),
        occurred_at=NOW,
        claim_id=claim_id,
        claimant_organisation_id=org,
        period_start=start,
        period_end=end,
        units=units,
    )


def review(
    decision: str = "approve",
    *,
    comment: str = "artwork checked",
    claim_id: str = "claim-1",
    org: str = BRAND,
    actor: Actor | None = None,
    at: datetime = NOW,
) -> ClaimReviewDecided:
    return ClaimReviewDecided.create(
        actor=actor or Actor(organisation_id="asi-secretariat", role=Role.SECRETARIAT),
        occurred_at=at,
        claim_id=claim_id,
        claimant_organisation_id=org,
        decision=ReviewDecision(decision),
        comment=comment,
        reviewer_key_id="key-sec-1",
    )
