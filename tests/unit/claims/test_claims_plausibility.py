"""Plausibility alerts (issue 18 item 7): each check raises an alert naming its evidence, and none
changes a decision."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

from contracts import topics
from contracts.claims import ClaimReason, ClaimType, PlausibilityAlertRaised
from services.claims.domain import plausibility
from services.claims.domain.effects import Status
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
