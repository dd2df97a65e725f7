"""Plausibility alerts (issue 18 item 7): each check raises an alert naming its evidence, and none
changes a decision."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

from contracts import topics
from contracts.claims import ClaimReason, ClaimType, PlausibilityAlertRaised
from contracts.common import Activity
from services.claims.domain import plausibility
from services.claims.domain.effects import Status
from tests.support import NOW
from tests.unit.claims.builders import allocation, request
from tests.unit.claims.test_claims_use_cases import Service, grant, published

# ---- the rules -----------------------------------------------------------------------------------


def test_same_product_and_artwork_alerts_naming_the_other_open_claims_but_not_itself():
    req = request(claim_id="claim-2", artwork_reference="art-7")
    own = "brand-1/claim-2"
    others = [own, "brand-1/claim-1", "brand-1/claim-1", "brand-2/claim-2"]
    [alert] = plausibility.same_product_and_artwork(req, own, others)
    assert alert.reason.code == ClaimReason.SAME_PRODUCT_AND_ARTWORK
    assert alert.reason.field == "artwork_reference"
    assert alert.related_claim_ids == ("brand-1/claim-1", "brand-2/claim-2")
    assert (alert.product_id, alert.artwork_reference) == ("GTIN-05000112637922", "art-7")
    assert "brand-1/claim-1" in alert.reason.message
    assert plausibility.same_product_and_artwork(req, own, [own]) == []
    assert plausibility.same_product_and_artwork(req, own, []) == []


def test_claimed_mass_above_what_the_documents_supply_alerts_with_both_masses():
    req = request(units=1_000_000, per_unit="0.013")  # 13 000 kg
    short = replace(allocation("13000"), documented_mass_kg=Decimal("12999.999"))
    [alert] = plausibility.above_documented_supply(req, short)
    assert alert.reason.code == ClaimReason.CLAIMED_ABOVE_DOCUMENTED_SUPPLY
    assert (alert.claimed_mass_kg, alert.documented_mass_kg) == (
        Decimal("13000"),
        Decimal("12999.999"),
    )
    assert alert.document_ids == ("doc-1", "doc-2")
    exact = replace(allocation("13000"), documented_mass_kg=Decimal("13000.000"))
    assert plausibility.above_documented_supply(req, exact) == []
    unknown = allocation("13000")  # documented_mass_kg None: nothing to compare
    assert plausibility.above_documented_supply(req, unknown) == []


# ---- through the handlers ------------------------------------------------------------------------


def alerts(out: list[Any]) -> list[PlausibilityAlertRaised]:
    return [o.message for o in out if isinstance(o.message, PlausibilityAlertRaised)]


async def test_a_second_open_claim_on_the_same_product_and_artwork_raises_an_alert_and_goes_on():
    service = Service()
    await service.registered()
    assert alerts(await service.requests(request(claim_id="claim-1"))) == []
    out = await service.requests(request(claim_id="claim-2"))
    assert [t for t, _, _ in published(out)] == [
        "allocate_for_claim",
        "claim_pending",
        "plausibility_alert_raised",
    ]
    [alert] = alerts(out)
    assert published(out)[-1][1:] == (topics.CLAIMS_DECISIONS.name, "claim-2")
    assert alert.claim_id == "claim-2" and alert.evidence.related_claim_ids == ["brand-1/claim-1"]
    assert [r.code for r in alert.reasons] == [ClaimReason.SAME_PRODUCT_AND_ARTWORK]
    assert service.status("claim-2") is Status.PENDING
    # Another artwork of the same product: no alert.
    assert (
        alerts(await service.requests(request(claim_id="claim-3", artwork_reference="a-2"))) == []
    )


async def test_two_requests_in_one_batch_and_a_rejected_request_are_treated_as_they_should():
    service = Service()
    await service.registered()
    out = await service.requests(request(claim_id="claim-1"), request(claim_id="claim-2"))
    assert [a.evidence.related_claim_ids for a in alerts(out)] == [["brand-1/claim-1"]]
    # A request rejected at once is not open: it raises nothing, and nothing names it later.
    bad = request(claim_id="claim-9", wording="100% certified ASI Responsible Aluminium Sourcing")
    assert alerts(await service.requests(bad)) == []
    assert service.status("claim-9") is Status.REJECTED


async def test_a_grant_whose_documents_supply_less_than_the_claim_alerts_and_still_goes_to_review():
    service = Service()
    command = await service.pending(ClaimType.ON_PACK_LOGO)
    short = grant(command).model_copy(
        update={
            "documents": [grant(command).documents[0].model_copy(update={"mass_kg": Decimal(9000)})]
        }
    )
    out = await service.ledger(short)
    assert [t for t, _, _ in published(out)] == [
        "claim_awaiting_review",
        "plausibility_alert_raised",
    ]
    [alert] = alerts(out)
    assert [r.code for r in alert.reasons] == [ClaimReason.CLAIMED_ABOVE_DOCUMENTED_SUPPLY]
    assert alert.evidence.document_ids == ["doc-1"]
    assert (alert.evidence.claimed_mass_kg, alert.evidence.documented_mass_kg) == (
        Decimal("13000.000"),
        Decimal(9000),
    )
    assert service.status() is Status.AWAITING_REVIEW


async def test_a_grant_fully_documented_raises_nothing():
    service = Service()
    out = await service.granted(ClaimType.ON_PACK_LOGO)
    assert alerts(out) == []


# ---- a site's CoC output above its declared capacity ------------------------------------------


def site_year(output: str, capacity: str | None = "1000", **kw: Any) -> plausibility.SiteYear:
    return plausibility.SiteYear(
        site_id="site-smelt",
        year=2026,
        coc_output_kg=Decimal(output),
        organisation_id=kw.get("organisation_id", "smelter"),
        capacity_kg=None if capacity is None else Decimal(capacity),
        alerted=kw.get("alerted", False),
    )


def test_output_above_the_declared_capacity_alerts_once_with_the_figures():
    assert plausibility.above_capacity(site_year("1000"), "DOC-1") is None  # at capacity: fine
    alert = plausibility.above_capacity(site_year("1000.001"), "DOC-2")
    assert alert is not None
    assert (alert.reason.code, alert.reason.field) == (
        ClaimReason.SITE_OUTPUT_ABOVE_CAPACITY,
        "coc_mass_kg",
    )
    assert (alert.coc_output_kg, alert.capacity_kg) == (Decimal("1000.001"), Decimal(1000))
    assert (alert.site_id, alert.organisation_id, alert.year) == ("site-smelt", "smelter", 2026)
    assert alert.document_ids == ("DOC-2",) and alert.alert_id == "site:site-smelt:2026"
    assert "1000.001" in alert.reason.message and "DOC-2" in alert.reason.message
    # Raised already this year, no capacity declared, or the site unknown: nothing.
    assert plausibility.above_capacity(site_year("5000", alerted=True), "DOC-3") is None
    assert plausibility.above_capacity(site_year("5000", capacity=None), "DOC-3") is None
    assert plausibility.above_capacity(site_year("5000", organisation_id=None), "DOC-3") is None


def registered_site(capacity: str | None) -> Any:
    from contracts.certificates import SiteRegistered
    from tests.unit.claims.test_claims_use_cases import SERVICE
    from tests.unit.intake.builders import site

    base = site("site-smelt", "smelter", [Activity.SMELTING])
    capacity_kg = None if capacity is None else Decimal(capacity)
    return SiteRegistered.create(
        actor=SERVICE,
        occurred_at=NOW,
        site=base.model_copy(update={"output_capacity_kg_per_year": capacity_kg}),
    )


def shipped(document_id: str, mass: str, year: int = 2026) -> Any:
    from tests.unit.intake.builders import document
    from tests.unit.intake.test_handlers import issued

    return issued(document(document_id, mass=mass, issued_on=date(year, 5, 20)))


async def test_documents_taking_a_site_above_its_capacity_raise_one_alert_per_year():
    service = Service()
    await service.certificates(registered_site("1000"))
    assert alerts(await service.ledger(shipped("DOC-1", "600"), shipped("DOC-2", "400"))) == []
    out = await service.ledger(shipped("DOC-3", "0.5"))
    [alert] = alerts(out)
    assert published(out) == [
        ("plausibility_alert_raised", topics.CLAIMS_DECISIONS.name, "site:site-smelt:2026")
    ]
    assert (alert.claim_id, alert.claimant_organisation_id) == ("site:site-smelt:2026", "smelter")
    assert [(r.code, r.field) for r in alert.reasons] == [
        (ClaimReason.SITE_OUTPUT_ABOVE_CAPACITY, "coc_mass_kg")
    ]
    e = alert.evidence
    assert (e.site_id, e.year, e.coc_output_kg, e.capacity_kg, e.document_ids) == (
        "site-smelt",
        2026,
        Decimal("1000.5"),
        Decimal(1000),
        ["DOC-3"],
    )
    # Once a year: more output the same year raises nothing; the next year counts from zero.
    assert alerts(await service.ledger(shipped("DOC-4", "700"))) == []
    assert alerts(await service.ledger(shipped("DOC-5", "900", year=2027))) == []
    assert len(alerts(await service.ledger(shipped("DOC-6", "101", year=2027)))) == 1


async def test_a_site_without_a_declared_capacity_is_never_checked():
    service = Service()
    await service.certificates(registered_site(None))
    assert alerts(await service.ledger(shipped("DOC-1", "1000000000"))) == []
