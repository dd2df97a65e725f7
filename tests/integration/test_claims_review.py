"""Issue 18 item 1 end to end: a brand requests an on-pack claim through the gateway, it waits in the
secretariat's queue with its mass reserved, the secretariat approves it with a comment through the
gateway (API, and the /review page in a browser at a phone's size), and the public page shows it.
The test plays certificates and accounting (as tests/integration/test_claims_saga.py does)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from contracts.claims import ClaimApproved, ClaimAwaitingReview
from contracts.ledger import AllocateForClaim, DebitClaimMass, ReleaseAllocation
from libs.clock import ManualClock
from services.claims.app import build_runtime
from services.claims.config import Settings as ClaimsSettings
from devstack.gateway_testing import ServedGateway
from tests.browser import chromium_or_skip
from tests.integration.test_claims_saga import certified_brand, granted, of
from tests.integration.test_claims_saga import until as until_stored
from tests.integration.test_gateway_api import ADMIN, auth, gateway_settings
from tests.support import NOW, running, service_settings, unique
from tests.unit.claims.builders import request

pytestmark = pytest.mark.integration

FREE_WORDING = "Our cans: ASI Responsible Aluminium Sourcing. Learn more at aluminium-stewardship.org"


def body(claim_id: str) -> dict[str, Any]:
    wanted = request(claim_id=claim_id, wording=FREE_WORDING, artwork_reference=f"ART-{claim_id}")
    return wanted.model_dump(mode="json", include={"claim_id", "product", "claim_type", "wording",
                                                   "artwork_reference", "link", "markets", "period_start",
                                                   "period_end"})


async def until(probe, timeout: float = 60.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        found = await probe()
        if found:
            return found
        assert asyncio.get_running_loop().time() < deadline, "never happened"
        await asyncio.sleep(0.1)


async def requested_and_waiting(http: httpx.AsyncClient, sender, recorder, org: str) -> tuple[str, str]:
    """A brand key requests a free-wording on-pack claim; accounting grants; the claim reaches the queue."""
    created = await http.post("/v1/keys", json={"organisation_id": org, "role": "brand_owner"}, headers=auth(ADMIN))
    token = created.json()["token"]
    claim_id = unique("claim")
    sent = await http.post("/v1/claims", json={**body(claim_id), "claimant_organisation_id": org}, headers=auth(token))
    assert sent.status_code == 202, sent.text
    [allocate] = await recorder.wait_for(AllocateForClaim, of(claim_id))
    await sender.send(granted(claim_id, org, "13000", allocate))
    await recorder.wait_for(ClaimAwaitingReview, of(claim_id))
    return claim_id, token


async def queued(http: httpx.AsyncClient, claim_id: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        claims = (await http.get("/v1/review-queue", headers=auth(ADMIN))).json()["claims"]
        # The wording comes from the request topic, the status from the decisions: wait for both.
        return next((c for c in claims if c["claim_id"] == claim_id and c["wording"]), None)
    return await until(probe)


async def test_a_free_wording_claim_waits_for_review_and_the_secretariat_approves_it_through_the_gateway(
        stack, recorder, sender):
    claims_settings = service_settings(ClaimsSettings, stack)
    async with running(build_runtime, claims_settings, clock=ManualClock(NOW)) as runtime:
        org, _, _ = await certified_brand(sender, runtime)
        with ServedGateway(gateway_settings(stack, public_base_url="https://verify.example.org")) as gateway:
            async with httpx.AsyncClient(base_url=gateway.url) as http:
                claim_id, brand_token = await requested_and_waiting(http, sender, recorder, org)
                item = await queued(http, claim_id)
                assert item["artwork_reference"] == f"ART-{claim_id}" and item["wording"] == FREE_WORDING
                assert item["evidence"]["allocation"]["mass_kg"] == "13000" and item["waited_seconds"] >= 0
                # Nothing is spent while it waits: no debit, no release.
                assert not recorder.messages(kind=DebitClaimMass | ReleaseAllocation, where=of(claim_id))
                # Only the secretariat decides.
                refused = await http.post(f"/v1/claims/{claim_id}/review", json={"decision": "approve", "comment": "ok"},
                                          headers=auth(brand_token))
                assert refused.status_code == 403
                sent = await http.post(f"/v1/claims/{claim_id}/review",
                                       json={"decision": "approve", "comment": "logo size and link checked"},
                                       headers=auth(ADMIN))
                assert sent.status_code == 202, sent.text
                [approved] = await recorder.wait_for(ClaimApproved, of(claim_id))
                assert approved.review.comment == "logo size and link checked"
                assert approved.review.decided_by == gateway.settings.secretariat_organisation_id
                assert approved.review.reviewer_key_id == "bootstrap"
                [debit] = await recorder.wait_for(DebitClaimMass, of(claim_id))
                assert debit.approval_code == approved.approval_code
                again = await http.post(f"/v1/claims/{claim_id}/review", json={"decision": "refuse", "comment": "no"},
                                        headers=auth(ADMIN))
                assert again.status_code in (202, 409)  # 409 once the gateway has seen the approval

                async def public() -> str | None:
                    page = await http.get(f"/c/{approved.approval_code}")
                    # The holder's name comes from the member's event, on another topic: wait for it too.
                    done = 'data-status="approved"' in page.text and "Fizzy Drinks" in page.text
                    return page.text if done else None
                shown = await until(public)
                assert FREE_WORDING in shown and "Fizzy Drinks" in shown
                assert "https://verify.example.org/c/" in shown and "127.0.0.1" not in shown


async def test_the_review_page_and_the_public_page_at_a_phones_size(stack, recorder, sender):
    executable = chromium_or_skip()
    from playwright.async_api import async_playwright

    from tests.integration.test_gateway_pages import assert_fits_a_phone

    claims_settings = service_settings(ClaimsSettings, stack)
    async with running(build_runtime, claims_settings, clock=ManualClock(NOW)) as runtime:
        org, _, _ = await certified_brand(sender, runtime)
        with ServedGateway(gateway_settings(stack, public_base_url="https://verify.example.org")) as gateway:
            async with httpx.AsyncClient(base_url=gateway.url) as http:
                claim_id, _ = await requested_and_waiting(http, sender, recorder, org)
                await queued(http, claim_id)
            async with async_playwright() as pw:
                browser = await pw.chromium.launch(executable_path=executable)
                page = await browser.new_page(viewport={"width": 390, "height": 844})
                await page.goto(f"{gateway.url}/review")
                await page.fill("#key", ADMIN)
                await page.click("button[type=submit]")
                card = page.locator(f"#claim-{claim_id}")
                await card.wait_for()
                text = await card.inner_text()
                assert f"ART-{claim_id}" in text and "waiting" in text and "13000" in text
                await assert_fits_a_phone(page)
                await page.fill(f"#comment-{claim_id}", "artwork checked on the phone")
                await card.locator("button[value=approve]").click()
                await page.locator("#done").wait_for()
                [approved] = await recorder.wait_for(ClaimApproved, of(claim_id))
                assert approved.review.comment == "artwork checked on the phone"
                for _ in range(200):
                    await page.goto(f"{gateway.url}/c/{approved.approval_code}")
                    if await page.locator('[data-status="approved"]').count():
                        break
                    await asyncio.sleep(0.1)
                assert FREE_WORDING in await page.content()
                await assert_fits_a_phone(page)
                await browser.close()


async def test_a_request_using_an_enabled_approved_text_is_approved_without_review(stack, recorder, sender):
    claims_settings = service_settings(ClaimsSettings, stack)
    async with running(build_runtime, claims_settings, clock=ManualClock(NOW)) as runtime:
        org, _, _ = await certified_brand(sender, runtime)
        with ServedGateway(gateway_settings(stack)) as gateway:
            async with httpx.AsyncClient(base_url=gateway.url) as http:
                text_id = unique("logo-en")
                template = "ASI Responsible Aluminium Sourcing. Learn more at {link}"
                for version, auto in ((1, True), (2, True)):
                    published = await http.post("/v1/claim-texts", headers=auth(ADMIN), json={
                        "text_id": text_id, "version": version, "claim_type": "on_pack_logo", "language": "en",
                        "template": template, "auto_approve": auto})
                    assert published.status_code == 202, published.text
                created = await http.post("/v1/keys", json={"organisation_id": org, "role": "brand_owner"},
                                          headers=auth(ADMIN))
                token = created.json()["token"]

                async def listed() -> list[Any] | None:
                    found = (await http.get("/v1/claim-texts?language=en", headers=auth(token))).json()["texts"]
                    return [t for t in found if t["text_id"] == text_id] or None
                assert [t["version"] for t in await until(listed)] in ([1, 2], [1])
                # Claims reads the latest version when the allocation is granted: wait until it has version 2
                # (the text and the claim sit on different partitions, read in no set order).
                await until_stored(lambda: runtime.db["texts"].count_documents({"text_id": text_id, "version": 2}), 1)
                claim_id = unique("claim")
                wanted = {**body(claim_id), "text_id": text_id, "text_version": 2,
                          "wording": template.format(link=request().link), "claimant_organisation_id": org}
                assert (await http.post("/v1/claims", json=wanted, headers=auth(token))).status_code == 202
                [allocate] = await recorder.wait_for(AllocateForClaim, of(claim_id))
                await sender.send(granted(claim_id, org, "13000", allocate))
                [approved] = await recorder.wait_for(ClaimApproved, of(claim_id))
                assert approved.review is None
                assert not recorder.messages(kind=ClaimAwaitingReview, where=of(claim_id))


async def test_a_pilot_claim_is_recorded_and_its_public_page_says_so_without_the_asi_name(stack, recorder, sender):
    from contracts.claims import ClaimType

    claims_settings = service_settings(ClaimsSettings, stack)
    async with running(build_runtime, claims_settings, clock=ManualClock(NOW)) as runtime:
        org, _, _ = await certified_brand(sender, runtime)
        claim_id = unique("claim")
        await sender.send(request(ClaimType.RECYCLED_CONTENT, claim_id=claim_id, org=org))  # a pilot by default
        [allocate] = await recorder.wait_for(AllocateForClaim, of(claim_id))
        await sender.send(granted(claim_id, org, "13000", allocate))
        [approved] = await recorder.wait_for(ClaimApproved, of(claim_id))
        assert approved.pilot
        with ServedGateway(gateway_settings(stack, public_base_url="https://verify.example.org")) as gateway:
            async with httpx.AsyncClient(base_url=gateway.url) as http:
                async def shown() -> str | None:
                    page = await http.get(f"/c/{approved.approval_code}")
                    # Status, holder's name and units come from three topics, read in no set order.
                    done = all(t in page.text for t in ('id="pilot"', "Fizzy Drinks", "1,000,000 units"))
                    return page.text if done else None
                html = await until(shown)
                assert "pilot, not an ASI claim" in html, html
                assert "Fizzy Drinks" in html, html
                assert "1,000,000 units, 13000.000 kg" in html, html
                chrome = html.split("<main>")[0] + html.split('id="claim-status"')[0].split("<main>")[1]
                assert "ASI" not in chrome.replace("pilot, not an ASI claim", "")
