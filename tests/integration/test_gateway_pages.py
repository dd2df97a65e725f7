"""The public pages in a real headless Chromium (Debian's, driven by Playwright): a certificate
search, the page a shopper's scan opens for an approved claim and for a revoked one, and the
verification of a pasted signed certificate.

Without a Chromium these tests FAIL, unless ASI_ALLOW_NO_BROWSER=1 outside CI (`make test` sets it: then they
are skipped and the run's summary says how to enable them); see tests/browser.py."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from contracts.claims import (
    CertificateEvidence,
    ClaimApproved,
    ClaimProduct,
    ClaimRequested,
    ClaimRevoked,
    Evidence,
)
from contracts.common import Reason, Role
from devstack.gateway_testing import ServedGateway, certificate, certificate_changed
from tests.browser import chromium_or_skip
from tests.integration.test_gateway_api import gateway_settings, member_registered
from tests.support import NOW, actor, unique

pytestmark = pytest.mark.integration

BROWSER_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium_path() -> str:
    return chromium_or_skip()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign(key: Ed25519PrivateKey, kid: str, payload: dict[str, Any]) -> str:
    header = b64url(json.dumps({"alg": "EdDSA", "kid": kid}, separators=(",", ":")).encode())
    body = b64url(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode())
    return f"{header}.{body}.{b64url(key.sign(f'{header}.{body}'.encode()))}"


def decisions(claim_id: str, claimant: str, code: str, cert_id: str, number: str, *, revoked: bool) -> list[Any]:
    who = actor("claims", Role.SERVICE)
    requested = ClaimRequested.create(
        actor=actor(claimant, Role.BRAND_OWNER), occurred_at=NOW, claim_id=claim_id, claimant_organisation_id=claimant,
        product=ClaimProduct(product_id="GTIN-0400", name="Sparkling water 330 ml", aluminium_mass_per_unit_kg="0.013",
                             units=100000),
        claim_type="on_pack_logo", wording="Made with ASI certified aluminium", artwork_reference="ART-7",
        markets=["DE"], period_start=date(2026, 6, 1), period_end=date(2026, 12, 31))
    evidence = Evidence(certificates=[CertificateEvidence(certificate_id=cert_id, certificate_number=number,
                        standard="chain_of_custody", status="active", valid_until=date(2029, 1, 9))],
                        claimed_mass_kg="1300", wording_rules_version="w1", checked_at=NOW)
    out = [requested, ClaimApproved.create(actor=who, occurred_at=NOW, cause=requested, claim_id=claim_id,
                                           claimant_organisation_id=claimant, approval_code=code,
                                           valid_until=date(2029, 1, 9), evidence=evidence)]
    if revoked:
        out.append(ClaimRevoked.create(actor=who, occurred_at=NOW + timedelta(days=1), cause=requested, claim_id=claim_id,
                                       claimant_organisation_id=claimant, approval_code=code, reasons=[Reason(
                                           code="certificate_withdrawn", message="The certificate behind it was withdrawn.")]))
    return out


async def test_public_pages_in_a_real_browser(stack, sender):
    executable = chromium_path()
    from playwright.async_api import async_playwright

    key = Ed25519PrivateKey.generate()
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64url(raw), "kid": "test-key-1"}
    producer, brand, other_brand = unique("producer"), unique("brand"), unique("brand")
    good_id, bad_id = unique("cert"), unique("cert")
    good_number, bad_number = f"ASI-COC-{uuid.uuid4().hex[:6].upper()}", f"ASI-COC-{uuid.uuid4().hex[:6].upper()}"
    site = unique("site")
    now = datetime.now(UTC)
    good = certificate(good_id, good_number, producer, site, updated_at=now)
    signed = sign(key, "test-key-1", good.model_dump(mode="json"))
    code_ok, code_revoked = f"OK{uuid.uuid4().hex[:6].upper()}", f"RV{uuid.uuid4().hex[:6].upper()}"

    await sender.send(member_registered(producer, "Alpha Remelt GmbH"))
    await sender.send(certificate_changed(good_id, good_number, producer, site, signed=signed, occurred_at=now))
    await sender.send(certificate_changed(bad_id, bad_number, producer, site))
    await sender.send(certificate_changed(bad_id, bad_number, producer, site, status="withdrawn", revision=2,
                                          change="withdrawn"))
    for message in decisions(unique("claim"), brand, code_ok, good_id, good_number, revoked=False):
        await sender.send(message)
    for message in decisions(unique("claim"), other_brand, code_revoked, bad_id, bad_number, revoked=True):
        await sender.send(message)

    settings = gateway_settings(stack, verification_keys=[jwk])
    with ServedGateway(settings) as gateway:
        settings.public_base_url = "https://verify.example.org"  # a loopback base prints no QR (api/claim_page.py)
        async with httpx.AsyncClient(base_url=gateway.url) as http:
            await _until(http, f"/c/{code_revoked}", "revoked")
            await _until(http, f"/c/{code_ok}", "approved", contains=("Sparkling water 330 ml",))
            await _until(http, f"/certificates/{bad_number}", "withdrawn")
            await _until(http, f"/certificates/{good_number}", "active", contains=("Alpha Remelt GmbH",))
            tampered = signed[:-6] + ("AAAAAA" if not signed.endswith("AAAAAA") else "BBBBBB")
            verdict = await http.post("/verify", data={"document": tampered})
            assert 'data-status="invalid"' in verdict.text

        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=executable, args=BROWSER_ARGS)
            try:
                page = await browser.new_page(viewport=PHONE, is_mobile=True)
                # search a certificate by its number from the home page
                await page.goto(gateway.url + "/")
                await assert_fits_a_phone(page)
                await page.fill("#q", good_number)
                async with page.expect_navigation():  # measured on the answer, not mid-navigation
                    await page.click("button[type=submit]")
                await assert_fits_a_phone(page)
                row = page.locator("tr.result")
                assert await row.count() == 1
                assert await row.locator(".status").get_attribute("data-status") == "active"
                await row.locator("a").click()
                assert good_number in await page.locator("h1").inner_text()
                assert "Alpha Remelt GmbH" in await page.content()
                await assert_fits_a_phone(page)
                # searching by organisation finds both, the current one first
                await page.goto(gateway.url + f"/certificates?q={producer}")
                statuses = [await s.get_attribute("data-status") for s in await page.locator("tr.result .status").all()]
                assert statuses == ["active", "withdrawn"]
                await assert_fits_a_phone(page)

                # the scan of an approved claim
                await page.goto(gateway.url + f"/c/{code_ok}")
                assert await page.locator("#claim-status .status").get_attribute("data-status") == "approved"
                body = await page.locator("main").inner_text()
                assert "Sparkling water 330 ml" in body and good_number in body
                assert await page.locator("tr.certificate .status").get_attribute("data-status") == "active"
                qr = page.locator(".qr svg")
                assert await qr.count() == 1 and (await qr.bounding_box())["width"] > 100
                await assert_fits_a_phone(page)

                # the scan of a revoked one
                await page.goto(gateway.url + f"/c/{code_revoked}")
                assert await page.locator("#claim-status .status").get_attribute("data-status") == "revoked"
                assert "withdrawn" in await page.locator("main").inner_text()
                assert await page.locator("tr.certificate .status").get_attribute("data-status") == "withdrawn"
                await assert_fits_a_phone(page)

                # an unknown code says so
                response = await page.goto(gateway.url + "/c/NOSUCHCODE")
                assert response.status == 404 and "not verified" in await page.content()
                await assert_fits_a_phone(page)

                # paste the signed certificate
                await page.goto(gateway.url + "/verify")
                await page.fill("#document", signed)
                async with page.expect_navigation():
                    await page.click("button[type=submit]")
                assert await page.locator("#result .status").get_attribute("data-status") == "valid"
                assert "current status is active" in await page.locator("#result").inner_text()
                await assert_fits_a_phone(page)
                # a claim code pasted leads to its page
                await page.goto(gateway.url + "/verify")
                await page.fill("#document", code_revoked)
                await page.click("button[type=submit]")
                await page.wait_for_url(f"**/c/{code_revoked}")
            finally:
                await browser.close()


PHONE = {"width": 390, "height": 844}
OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const cut = [];
  for (const el of document.querySelectorAll('body *')) {
    const box = el.getBoundingClientRect();
    if (box.width > 0 && (box.right > width + 1 || box.left < -1)) {
      cut.push(`${el.tagName.toLowerCase()}${el.className ? '.' + el.className : ''} ${Math.round(box.left)}..${Math.round(box.right)}`);
    }
  }
  return {width, scroll: document.documentElement.scrollWidth, cut: cut.slice(0, 10)};
}"""


async def assert_fits_a_phone(page: Any) -> None:
    """Nothing sticks out of the viewport sideways: no horizontal scroll, no element (a status column) cut."""
    seen = await page.evaluate(OVERFLOW)
    assert seen["scroll"] <= seen["width"] + 1 and seen["cut"] == [], f"{page.url} overflows a phone: {seen}"


async def _until(http: httpx.AsyncClient, path: str, text: str, timeout: float = 60.0,
                 contains: tuple[str, ...] = ()) -> None:
    """Until `path` shows status `text` and every one of `contains` (a page joins read models fed by
    different topics and partitions, which the gateway reads in no set order)."""
    import asyncio

    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        response = await http.get(path)
        if f'data-status="{text}"' in response.text and all(c in response.text for c in contains):
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{path} never showed {text}: {response.status_code} {response.text[:500]}")
        await asyncio.sleep(0.1)


async def test_the_api_docs_render_without_internet(stack):
    """/docs must not need a CDN: every request the page makes stays on the gateway, and Swagger UI renders."""
    executable = chromium_path()
    from playwright.async_api import async_playwright

    with ServedGateway(gateway_settings(stack)) as gateway:
        async with httpx.AsyncClient(base_url=gateway.url) as http:
            for path in ("/docs", "/redoc"):
                answer = await http.get(path)
                html = answer.text
                assert "cdn." not in html and "https://" not in html.replace("https://fastapi", ""), html
                assert "http" not in answer.headers["content-security-policy"]  # no outside host allowed
        outside: list[str] = []
        refused: list[str] = []

        async def only_the_gateway(route: Any) -> None:
            if route.request.url.startswith(gateway.url):
                await route.continue_()
            else:
                outside.append(route.request.url)
                await route.abort()

        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=executable, args=BROWSER_ARGS)
            try:
                page = await browser.new_page(viewport=PHONE, is_mobile=True)
                page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
                await page.route("**/*", only_the_gateway)
                await page.goto(gateway.url + "/docs")
                await page.wait_for_selector(".swagger-ui .opblock", state="attached", timeout=20_000)
                assert "ASI platform gateway" in await page.locator(".swagger-ui .info .title").inner_text()
                assert await page.locator(".swagger-ui .opblock").count() > 10
                await page.goto(gateway.url + "/redoc")
                await page.wait_for_selector("[data-section-id]", state="attached", timeout=20_000)
                assert outside == [], f"/docs reached outside the gateway: {outside}"
                # ReDoc's bundle points its logo at cdn.redoc.ly: refusing outside hosts is the CSP's job;
                # refusing one of the gateway's own assets or inline code would break the page
                own = [m for m in refused if "https://" not in m or gateway.url in m]
                assert own == [], f"the pages' own Content-Security-Policy refused: {own}"
            finally:
                await browser.close()
