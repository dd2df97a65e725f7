"""The public claim page a shopper reaches by scanning the pack's QR code (issue 18 items 3 and 8):
the holder's name, the approved text, product and quantity, the certificates it rests on with their
status now (provisional marked as such, never like active), phone-sized, the QR address from the
configured public base URL (no QR when that is a loopback address); a footprint claim shows where its
number comes from (the PACT footprint, who declared it, who assured it). A pilot claim type says "pilot,
not an ASI claim" and the page carries no ASI name. Registered before `pages.py`, whose `/c/{code}`
it replaces. The page is templates/claim_public.html."""

from __future__ import annotations

from decimal import Decimal
from ipaddress import ip_address
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from services.gateway.adapters import store
from services.gateway.api.deps import GatewayDep
from services.gateway.api.pages import page
from services.gateway.domain.qr import svg
from services.gateway.templates import render

router = APIRouter(tags=["public pages"])
CURRENT = ("active", "provisional")
PILOT_LABEL = "pilot, not an ASI claim"

def public_url(base: str, code: str) -> str | None:
    """The page's public address, or None when the base URL is a loopback (it would print 127.0.0.1)."""
    host = urlsplit(base).hostname or ""
    try:
        loopback = host == "localhost" or ip_address(host).is_loopback or ip_address(host).is_unspecified
    except ValueError:
        loopback = False
    return None if loopback or not host else f"{base.rstrip('/')}/c/{quote(code, safe='')}"


def _percent(share: Any) -> str:
    return f"{(Decimal(str(share)) * 100).normalize():f}%"


def recycled_line(evidence: dict[str, Any]) -> str | None:
    """The recycled share accounting computed for the CoC Documents behind the claim, with its pre- and
    post-consumer split (issue 18 item 4), as the page shows it; None when the evidence states none."""
    allocation = evidence.get("allocation") or {}
    share = allocation.get("recycled_content_share")
    if share is None:
        return None
    pre, post = allocation.get("recycled_pre_consumer_share"), allocation.get("recycled_post_consumer_share")
    split = f" ({_percent(pre)} pre-consumer, {_percent(post)} post-consumer)" if pre is not None and post is not None else ""
    return f"{_percent(share)}{split}, computed from eligible scrap in the CoC books (ISO 14021, mass balance)"


def certificate_css(status: str) -> str:
    return {"active": "ok", "provisional": "warn"}.get(status, "bad")


@router.get("/c/{code}", response_class=HTMLResponse, summary="A claim approval: the page its QR code opens")
async def public_claim_page(gw: GatewayDep, code: str) -> HTMLResponse:
    claim = await gw.db[store.CLAIMS].find_one({"approval_code": code})
    if claim is None:
        return page("message.html", 404, title="Unknown claim code",
                    message=f"No ASI claim approval has the code {code}. The claim on this pack is not verified.")
    evidence = claim.get("evidence") or {}
    certificates = await _certificates_now(gw, evidence.get("certificates", []))
    warning = None
    if claim.get("status") == "approved" and any(c["status"] not in CURRENT for c in certificates):
        warning = "A certificate behind this claim is no longer current; the approval is under review."
    claimant_id = claim.get("claimant_organisation_id", "")
    member = await gw.db[store.MEMBERS].find_one({"_id": claimant_id})
    url = public_url(gw.settings.public_base_url, code)
    recycled = (claim.get("request") or {}).get("claim_type") == "recycled_content"
    html = render("claim_public.html",
        code=code, claim=claim, status=claim.get("status", "unknown"), request=claim.get("request"),
        claimant=(member or {}).get("name", claimant_id), certificates=certificates, warning=warning,
        pilot=bool(claim.get("pilot")), pilot_label=PILOT_LABEL, mass_kg=evidence.get("claimed_mass_kg", ""),
        footprint=evidence.get("footprint"),  # issue 18 item 5: the origin of a footprint claim's number
        qr=svg(url) if url else "", url=url,
        recycled=recycled_line(evidence) if recycled else None)
    return HTMLResponse(html)


async def _certificates_now(gw: GatewayDep, listed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The certificates the claim's evidence lists, each with its status now (as listed when the
    gateway does not know it)."""
    current = {d["_id"]: d async for d in gw.db[store.CERTIFICATES].find(
        {"_id": {"$in": [e["certificate_id"] for e in listed]}})}
    certificates: list[dict[str, Any]] = []
    for e in listed:
        status = current.get(e["certificate_id"], {}).get("status", e["status"])
        certificates.append({"number": e["certificate_number"], "standard": e["standard"], "status": status,
                             "css": certificate_css(status)})
    return certificates
