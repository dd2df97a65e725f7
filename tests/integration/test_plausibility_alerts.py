"""Issue 18 item 7 through the real broker and database: claims raises plausibility alerts (the same
product and artwork in two open claims; a claim above what its CoC Documents supply), neither changes
a decision, and the secretariat reads them, with their evidence, from the gateway. The test plays
certificates and accounting (as tests/integration/test_claims_saga.py does)."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from contracts.claims import ClaimAwaitingReview, ClaimPending, ClaimReason, PlausibilityAlertRaised
from contracts.ledger import AllocateForClaim, DocumentShare
from libs.clock import ManualClock
from services.claims.app import build_runtime
from services.claims.config import Settings as ClaimsSettings
from devstack.gateway_testing import ServedGateway
from tests.integration.test_claims_review import until
from tests.integration.test_claims_saga import certified_brand, granted, of
from tests.integration.test_gateway_api import ADMIN, auth, gateway_settings
from tests.support import NOW, running, service_settings, unique
from tests.unit.claims.builders import request

pytestmark = pytest.mark.integration


async def test_alerts_fire_for_a_duplicate_artwork_and_an_undocumented_mass_and_the_secretariat_sees_them(
        stack, recorder, sender):
    async with running(build_runtime, service_settings(ClaimsSettings, stack), clock=ManualClock(NOW)) as runtime:
        org, _, _ = await certified_brand(sender, runtime)
        artwork = unique("ART")
        first, second = unique("claim"), unique("claim")
        await sender.send(request(claim_id=first, org=org, artwork_reference=artwork))
        [allocate] = await recorder.wait_for(AllocateForClaim, of(first))
        await sender.send(request(claim_id=second, org=org, artwork_reference=artwork))
        [duplicate] = await recorder.wait_for(PlausibilityAlertRaised, of(second))
        assert [r.code for r in duplicate.reasons] == [ClaimReason.SAME_PRODUCT_AND_ARTWORK]
        assert duplicate.evidence.related_claim_ids == [f"{org}/{first}"] and duplicate.evidence.artwork_reference == artwork
        await recorder.wait_for(ClaimPending, of(second))  # the alert decides nothing

        # Accounting grants the first claim's 13 t on documents that supply only 9 t.
        short = granted(first, org, "13000", allocate).model_copy(
            update={"documents": [DocumentShare(document_id="doc-9", mass_kg="9000")]})
        await sender.send(short)
        await recorder.wait_for(ClaimAwaitingReview, of(first))
        [undocumented] = await recorder.wait_for(PlausibilityAlertRaised, of(first))
        assert [r.code for r in undocumented.reasons] == [ClaimReason.CLAIMED_ABOVE_DOCUMENTED_SUPPLY]
        assert undocumented.evidence.document_ids == ["doc-9"]
        assert undocumented.evidence.documented_mass_kg == Decimal(9000)

        with ServedGateway(gateway_settings(stack)) as gateway:
            async with httpx.AsyncClient(base_url=gateway.url) as http:
                async def both() -> list | None:
                    alerts = (await http.get("/v1/plausibility-alerts", headers=auth(ADMIN))).json()["alerts"]
                    ours = [a for a in alerts if a["claim_id"] in (first, second)]
                    return ours if len(ours) == 2 else None
                shown = {a["claim_id"]: a for a in await until(both)}
                assert shown[second]["reasons"][0]["code"] == ClaimReason.SAME_PRODUCT_AND_ARTWORK
                assert shown[second]["evidence"]["related_claim_ids"] == [f"{org}/{first}"]
                assert Decimal(shown[first]["evidence"]["claimed_mass_kg"]) == Decimal(13000)
                only_mass = (await http.get("/v1/plausibility-alerts",
                                            params={"code": ClaimReason.CLAIMED_ABOVE_DOCUMENTED_SUPPLY},
                                            headers=auth(ADMIN))).json()["alerts"]
                assert second not in {a["claim_id"] for a in only_mass} and first in {a["claim_id"] for a in only_mass}
                brand = (await http.post("/v1/keys", json={"organisation_id": org, "role": "brand_owner"},
                                         headers=auth(ADMIN))).json()["token"]
                assert (await http.get("/v1/plausibility-alerts", headers=auth(brand))).status_code == 403
                # The brand's own claim view does not carry the alert (it may name other brands' claims).
                view = (await http.get(f"/v1/claims/{second}", headers=auth(brand))).json()
                assert view["status"] == "pending" and view["history"]
                assert "plausibility_alert_raised" not in {h["type"] for h in view["history"]}
                assert (await http.get("/v1/plausibility-alerts")).status_code == 401


async def test_a_site_issuing_more_coc_than_its_declared_capacity_raises_one_alert_the_secretariat_sees(
        stack, recorder, sender):
    import uuid
    from datetime import date

    from contracts.certificates import SiteRegistered
    from contracts.common import Activity, Actor, MaterialCategory, Role
    from contracts.ledger import CoCDocument, CoCDocumentIssued
    from contracts.registry import Site
    from tests.integration.test_claims_saga import until as until_stored

    org, site_id = unique("smelter"), unique("site")
    service = Actor(organisation_id="certificates", role=Role.SERVICE)
    site = Site(site_id=site_id, organisation_id=org, name="Smelter", country="NO", activities=[Activity.SMELTING],
                output_capacity_kg_per_year=Decimal(1000))

    def issued(n: int, mass: str) -> CoCDocumentIssued:
        document = CoCDocument(
            document_id=f"{site_id}-doc-{n}", issuer_organisation_id=org, issuer_site_id=site_id,
            issuer_certificate_number="ASI-COC-2025-00001", recipient_organisation_id="buyer",
            issued_on=date(2026, 5, 20), shipment_reference=f"SHIP-{n}", movement_id=uuid.uuid4(),
            material_category=MaterialCategory.ALUMINIUM, product_form="ingot", coc_mass_kg=Decimal(mass),
            rule_set_id="v2", rule_set_version="1")
        return CoCDocumentIssued.create(actor=Actor(organisation_id="accounting", role=Role.SERVICE),
                                        occurred_at=NOW, account_id=f"site:{site_id}", document=document,
                                        signature="x", key_id="k")

    async with running(build_runtime, service_settings(ClaimsSettings, stack), clock=ManualClock(NOW)) as runtime:
        await sender.send(SiteRegistered.create(actor=service, occurred_at=NOW, site=site))
        await until_stored(lambda: runtime.db["sites"].count_documents({"_id": site_id}), 1)
        for n, mass in enumerate(("600", "400", "0.5", "10")):  # one account: one partition, in order
            await sender.send(issued(n, mass))
        of_site = lambda m: m.claim_id == f"site:{site_id}:2026"  # noqa: E731
        [alert] = await recorder.wait_for(PlausibilityAlertRaised, of_site)
        assert alert.claimant_organisation_id == org
        assert [(r.code, r.field) for r in alert.reasons] == [(ClaimReason.SITE_OUTPUT_ABOVE_CAPACITY, "coc_mass_kg")]
        assert (alert.evidence.site_id, alert.evidence.year) == (site_id, 2026)
        assert (alert.evidence.coc_output_kg, alert.evidence.capacity_kg) == (Decimal("1000.5"), Decimal(1000))
        assert alert.evidence.document_ids == [f"{site_id}-doc-2"]
        await until_stored(lambda: runtime.db["site_output"].count_documents(
            {"_id": f"{site_id}|2026", "coc_output_kg": "1010.5"}), 1)
        # Whatever claims decided on the fourth document is published now; then the recorder has read it.
        await runtime.outbox.drain()
        await recorder.settle(quiet_s=0.5)
        assert len(recorder.messages(kind=PlausibilityAlertRaised, where=of_site)) == 1, "one alert a year"

        with ServedGateway(gateway_settings(stack)) as gateway:
            async with httpx.AsyncClient(base_url=gateway.url) as http:
                async def shown() -> list | None:
                    alerts = (await http.get("/v1/plausibility-alerts", params={
                        "code": ClaimReason.SITE_OUTPUT_ABOVE_CAPACITY}, headers=auth(ADMIN))).json()["alerts"]
                    return [a for a in alerts if a["evidence"].get("site_id") == site_id] or None
                [seen] = await until(shown)
                assert seen["evidence"]["coc_output_kg"] == "1000.5" and seen["evidence"]["capacity_kg"] == "1000"
