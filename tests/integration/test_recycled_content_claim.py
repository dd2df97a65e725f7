"""Recycled content from the books (issue 18 item 4) through the real broker and database, accounting and
claims running together: a remelter's eligible scrap (pre- and post-consumer) goes through remelting and
rolling, accounting computes the split on the CoC Document it issues to a brand, and the brand's
recycled-content claim quotes exactly that share and split; a claim above it is refused with the figures.
Then usage and reconciliation (item 6) through the gateway."""

from __future__ import annotations

from contextlib import AsyncExitStack
from datetime import date
from decimal import Decimal

import httpx
import pytest

from contracts.certificates import CertificateChange, CertificateChanged
from contracts.claims import ClaimApproved, ClaimReason, ClaimRejected, ClaimType, ClaimUsageRecorded
from contracts.common import Actor, Classification, ProcessStep, Role
from contracts.common import MaterialCategory as Cat
from contracts.ledger import AllocationGranted, CoCDocumentIssued, LedgerEntryPosted
from libs.clock import ManualClock
from services.accounting.app import build_runtime as accounting
from services.accounting.config import Settings as AccountingSettings
from services.accounting.domain import recycled
from services.claims.app import build_runtime as claim_verification
from services.claims.config import Settings as ClaimsSettings
from devstack.gateway_testing import ServedGateway
from tests.integration.test_accounting_ledger import projected
from tests.integration.test_claims_review import until
from tests.integration.test_gateway_api import ADMIN, auth, gateway_settings, new_key
from tests.integration.test_claims_saga import certified_brand, of
from tests.support import NOW, running, service_settings, unique
from tests.unit.accounting.factories import certificate, ps_certificate, receipt, ship, transform
from tests.unit.claims.builders import request

pytestmark = pytest.mark.integration

CERTIFICATES = Actor(organisation_id="certificates", role=Role.SERVICE)


def issued(cert) -> CertificateChanged:
    return CertificateChanged.create(actor=CERTIFICATES, occurred_at=NOW, change=CertificateChange.ISSUED,
                                     certificate=cert)


def scrap(kg: str, category: Cat, form: str, org: str, site: str):
    return receipt(kg, kg, category=category, form=form, classification=Classification.ELIGIBLE_SCRAP,
                   document=None, org=org, site=site)


async def documented_brand(sender, recorder, books, claims):
    """A remelter's books: 1 000 kg post- and 500 kg pre-consumer scrap remelted at 0.9 beside 1 650 kg of
    primary ingot, then rolled at 0.8 (400 kg of offcuts: process scrap, no credits); 1 000 kg of sheet shipped
    as CoC Material to a certified brand, which receives it. Returns the brand and the CoC Document."""
    remelter, mill = unique("remelter"), unique("mill")
    await sender.send(issued(certificate(org=remelter, sites=(mill,), certificate_id=f"cert-{remelter}")))
    await sender.send(issued(ps_certificate(org=remelter, sites=(mill,), certificate_id=f"ps-{remelter}")))
    brand, _, brand_coc = await certified_brand(sender, claims)  # member, PS and CoC, seen by both services
    brand_site = brand_coc.scope.site_ids[0]
    for certificate_id in (f"cert-{remelter}", f"ps-{remelter}", brand_coc.certificate_id):
        await projected(books, remelter, certificate_id=certificate_id)
    for movement in (
        scrap("1000", Cat.POST_CONSUMER_SCRAP, "bales", remelter, mill),
        scrap("500", Cat.PRE_CONSUMER_SCRAP, "turnings", remelter, mill),
        receipt("1650", "1650", org=remelter, site=mill, document=unique("doc-primary"), pre="0", post="0"),
        transform([(Cat.POST_CONSUMER_SCRAP, "bales", "1000"), (Cat.PRE_CONSUMER_SCRAP, "turnings", "500")],
                  [(Cat.ALUMINIUM, "ingot", "1350")], "0.9", step=ProcessStep.REMELTING, org=remelter,
                  site=mill),
        transform([(Cat.ALUMINIUM, "ingot", "2000")],
                  [(Cat.ALUMINIUM, "sheet", "1600"), (Cat.PRE_CONSUMER_SCRAP, "offcuts", "400")], "0.8",
                  step=ProcessStep.ROLLING, org=remelter, site=mill),
    ):
        await sender.send(movement)
    await recorder.wait_for(LedgerEntryPosted, lambda m: m.entry.movement_id == movement.movement_id)
    shipment = ship("1000", "1000", org=remelter, site=mill, form="sheet", customer=brand)
    await sender.send(shipment)
    [document] = [m.document for m in await recorder.wait_for(
        CoCDocumentIssued, lambda m: m.document.movement_id == shipment.movement_id)]
    # The brand receives it (intake passes the document's figures on, as it does for every matched receipt).
    received = receipt("1000", "1000", org=brand, site=brand_site, form="sheet", document=document.document_id,
                       recycled=str(document.recycled_content_share),
                       pre=str(document.recycled_pre_consumer_share),
                       post=str(document.recycled_post_consumer_share))
    await sender.send(received)
    await recorder.wait_for(LedgerEntryPosted, lambda m: m.entry.movement_id == received.movement_id)
    return brand, document


def recycled_claim(claim_id: str, brand: str, kg: str, share: str):
    return request(ClaimType.RECYCLED_CONTENT, claim_id=claim_id, org=brand, units=None, total_mass_kg=kg,
                   recycled_content_share=Decimal(share),
                   wording=f"Contains {(Decimal(share) * 100).normalize():f}% recycled aluminium (mass balance)")


async def test_a_recycled_content_claim_quotes_the_share_accounting_computed(stack, recorder, sender):
    settings = {"accounting": service_settings(AccountingSettings, stack),
                "claims": service_settings(ClaimsSettings, stack)}
    async with AsyncExitStack() as services:
        books = await services.enter_async_context(running(accounting, settings["accounting"]))
        claims = await services.enter_async_context(
            running(claim_verification, settings["claims"], clock=ManualClock(NOW)))
        brand, document = await documented_brand(sender, recorder, books, claims)
        assert (document.recycled_pre_consumer_share, document.recycled_post_consumer_share,
                document.recycled_content_share) == (Decimal("0.15"), Decimal("0.3"), Decimal("0.45"))
        assert document.recycled_content_method == recycled.METHOD
        assert (document.recycled_content_period_start, document.recycled_content_period_end) == (
            date(2026, 1, 1), date(2026, 12, 31))

        claim_id = unique("claim")
        await sender.send(recycled_claim(claim_id, brand, "600", "0.45"))
        [grant] = await recorder.wait_for(AllocationGranted, of(claim_id))
        assert [d.document_id for d in grant.documents] == [document.document_id]
        [approved] = await recorder.wait_for(ClaimApproved, of(claim_id))
        quoted = approved.evidence.allocation
        assert quoted is not None and quoted.document_ids == [document.document_id]
        assert (quoted.recycled_content_share, quoted.recycled_pre_consumer_share,
                quoted.recycled_post_consumer_share) == (document.recycled_content_share,
                                                         document.recycled_pre_consumer_share,
                                                         document.recycled_post_consumer_share)
        assert approved.pilot  # ASI does not run recycled-content claims yet

        above = unique("claim")
        await sender.send(recycled_claim(above, brand, "300", "0.5"))
        [rejected] = await recorder.wait_for(ClaimRejected, of(above))
        [reason] = rejected.reasons
        assert (reason.code, reason.field) == (ClaimReason.RECYCLED_CONTENT_UNSUPPORTED, "recycled_content_share")
        assert "0.5 is above the 0.45" in reason.message and "pre-consumer" in reason.message


async def test_the_secretariat_reconciles_received_claimed_used_and_left_per_brand_owner(stack, recorder, sender):
    """Issue 18 item 6: the approved claim shows approved against used after a usage report through the
    gateway, and the secretariat's period reconciliation adds up the brand's CoC mass."""
    settings = {"accounting": service_settings(AccountingSettings, stack),
                "claims": service_settings(ClaimsSettings, stack)}
    async with AsyncExitStack() as services:
        books = await services.enter_async_context(running(accounting, settings["accounting"]))
        claims = await services.enter_async_context(
            running(claim_verification, settings["claims"], clock=ManualClock(NOW)))
        brand, _ = await documented_brand(sender, recorder, books, claims)
        claim_id = unique("claim")
        await sender.send(recycled_claim(claim_id, brand, "600", "0.45"))
        [approved] = await recorder.wait_for(ClaimApproved, of(claim_id))
        refused = unique("claim")
        await sender.send(recycled_claim(refused, brand, "300", "0.5"))
        await recorder.wait_for(ClaimRejected, of(refused))

        with ServedGateway(gateway_settings(stack)) as gateway:
            async with httpx.AsyncClient(base_url=gateway.url) as http:
                key = await new_key(http, brand, Role.BRAND_OWNER)

                async def approved_view():
                    view = (await http.get(f"/v1/claims/{claim_id}", headers=auth(key))).json()
                    return view if view.get("approved_vs_used") else None
                before = (await until(approved_view))["approved_vs_used"]
                line = "45% (15% pre-consumer, 30% post-consumer), computed from eligible scrap"

                async def public_page():  # the request (its claim type) comes on another topic than the decision
                    text = (await http.get(f"/c/{approved.approval_code}")).text
                    return text if line in text else None
                assert line in await until(public_page)  # the public page quotes the books
                assert before == {"approved_kg": "600.000", "used_kg": "0", "used_units": 0, "unused_kg": "600.000",
                                  "returned_kg": "0"}
                reported = await http.post(f"/v1/claims/{claim_id}/usage", headers=auth(key), json={
                    "period_start": "2026-07-01", "period_end": "2026-09-30", "units": 10000})
                assert reported.status_code == 202, reported.text
                await recorder.wait_for(ClaimUsageRecorded, of(claim_id))

                async def used_view():
                    view = (await http.get(f"/v1/claims/{claim_id}", headers=auth(key))).json()
                    return view if view["approved_vs_used"]["used_units"] else None
                after = (await until(used_view))["approved_vs_used"]
                assert (Decimal(after["approved_kg"]), Decimal(after["used_kg"]), Decimal(after["unused_kg"]),
                        after["used_units"]) == (Decimal(600), Decimal(130), Decimal(470), 10000)

                period = {"period_start": "2026-01-01", "period_end": "2026-12-31", "organisation_id": brand}
                answer = await http.get("/v1/reconciliation", params=period, headers=auth(ADMIN))
                assert answer.status_code == 200, answer.text
                [row] = answer.json()["owners"]
                assert row["organisation_id"] == brand and row["claim_ids"] == [claim_id]
                assert {k: Decimal(row[k]) for k in ("received_kg", "claimed_kg", "used_kg", "unused_kg", "left_kg")} == {
                    "received_kg": Decimal(1000), "claimed_kg": Decimal(600), "used_kg": Decimal(130),
                    "unused_kg": Decimal(470), "left_kg": Decimal(400)}
                assert (await http.get("/v1/reconciliation", params=period, headers=auth(key))).status_code == 403
                backwards = {**period, "period_start": "2027-01-01"}
                invalid = await http.get("/v1/reconciliation", params=backwards, headers=auth(ADMIN))
                assert (invalid.status_code, invalid.json()["error"]["code"]) == (422, "invalid_period")
