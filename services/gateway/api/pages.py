"""Public pages, no login: certificate search, document verification, the claim approval page a
shopper reaches by scanning the pack's QR code. Server-rendered, readable on a phone."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.gateway.adapters import store
from services.gateway.api.certification import search
from services.gateway.api.credentials import credential_jwk
from services.gateway.api.deps import GatewayDep
from services.gateway.domain import jws
from services.gateway.domain.qr import svg
from services.gateway.signing_keys import known_keys
from services.gateway.templates import render

router = APIRouter(tags=["public pages"])
CURRENT = ("active", "provisional")


def page(template: str, http_status: int = 200, /, **context: Any) -> HTMLResponse:
    return HTMLResponse(render(template, **context), status_code=http_status)


async def _names(gw: GatewayDep, organisation_ids: list[str]) -> dict[str, str]:
    return {d["_id"]: d["name"] async for d in gw.db[store.MEMBERS].find({"_id": {"$in": organisation_ids}})}


@router.get("/", response_class=HTMLResponse, summary="Certificate search form")
async def home() -> HTMLResponse:
    return page("search.html", q=None, results=[], names={})


@router.get("/certificates", response_class=HTMLResponse, summary="Search certificates by number, organisation or site")
async def search_page(gw: GatewayDep, q: Annotated[str | None, Query(max_length=120)] = None) -> HTMLResponse:
    docs = await search(gw, q)
    results = [d["certificate"] for d in docs]
    return page("search.html", q=q, results=results, names=await _names(gw, [c["organisation_id"] for c in results]))


@router.get("/certificates/{number}", response_class=HTMLResponse, summary="One certificate and its current status")
async def certificate_page(gw: GatewayDep, number: str) -> HTMLResponse:
    doc = await gw.db[store.CERTIFICATES].find_one({"$or": [{"certificate_number": number}, {"_id": number}]})
    if doc is None:
        return page("message.html", 404, title="Certificate not found", message=f"No certificate has the number {number}.")
    c = doc["certificate"]
    names = await _names(gw, [c["organisation_id"]])
    return page("certificate.html", c=c, name=names.get(c["organisation_id"], c["organisation_id"]))


def claim_url(gw: GatewayDep, code: str) -> str:
    return f"{gw.settings.public_base_url.rstrip('/')}/c/{quote(code, safe='')}"


@router.get("/c/{code}/qr.svg", summary="The QR code (SVG) that links to a claim approval page")
async def claim_qr(gw: GatewayDep, code: str) -> Response:
    claim = await gw.db[store.CLAIMS].find_one({"approval_code": code}, {"_id": 1})
    if claim is None:
        return Response(status_code=404, content="unknown claim code", media_type="text/plain")
    return Response(svg(claim_url(gw, code)), media_type="image/svg+xml")


@router.get("/verify", response_class=HTMLResponse, summary="Verify a pasted document or code")
async def verify_form() -> HTMLResponse:
    return page("verify.html", pasted=None, result=None)


VERIFY_BODY = {"requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": {
    "type": "object", "required": ["document"],
    "properties": {"document": {"type": "string", "minLength": 1, "maxLength": 60000, "pattern": r"\S",
                                "description": "A compact JWS, a claim code or a certificate number."}}}}}}}


@router.post("/verify", response_class=HTMLResponse, openapi_extra=VERIFY_BODY,
             summary="Verify a signed certificate or CoC Document (compact JWS), or look up a code")
async def verify(gw: GatewayDep, request: Request) -> Response:
    raw = (await request.body()).decode("utf-8", errors="replace")
    pasted = (parse_qs(raw).get("document") or [""])[0].strip()[:60000]
    if not pasted:
        return page("verify.html", 400, pasted="", result={"title": "Nothing to verify", "verdict": "unknown",
                                                         "lines": ["Paste a signed document or a code."], "link": None})
    if not jws.looks_like_jws(pasted):
        return await _lookup_code(gw, pasted)
    return page("verify.html", pasted=pasted, result=await _verify_jws(gw, pasted))


async def _verify_jws(gw: GatewayDep, text: str) -> dict[str, Any]:
    """The verdict on a pasted compact JWS: its signature checked against the keys known here, what
    it is (a certificate or a CoC Document, with their status now), whether the platform published it."""
    keys = [*await known_keys(gw.db, gw.settings.verification_keys), await credential_jwk(gw)]
    checked = jws.check(text, keys)
    payload = _signed_subject(checked.payload or {})
    if "certificate_number" in payload and "certificate_id" in payload:
        published, title, link, lines = await _pasted_certificate(gw, text, payload)
    elif "document_id" in payload:
        published, title, link, lines = await _pasted_document(gw, text, payload)
    else:
        published, title, link, lines = False, "Unrecognised document", None, []
    verdict, line = _verdict(checked, published)
    return {"title": title, "verdict": verdict, "lines": [line, *lines], "link": link}


def _signed_subject(payload: dict[str, Any]) -> dict[str, Any]:
    """What a signed payload is about: itself, or a verifiable credential's subject (its certificate)."""
    subject = payload.get("credentialSubject")
    if isinstance(subject, dict):  # a verifiable credential (api/credentials.py)
        return subject["certificate"] if isinstance(subject.get("certificate"), dict) else subject
    return payload


Pasted = tuple[bool, str, str | None, list[str]]
"""Whether the platform published exactly that text, the title, a link to its record, what to say."""


async def _pasted_certificate(gw: GatewayDep, text: str, payload: dict[str, Any]) -> Pasted:
    record = await gw.db[store.CERTIFICATES].find_one({"_id": str(payload["certificate_id"])})
    published = record is not None and text in record.get("signatures", [])
    number = str(payload["certificate_number"])
    lines = [] if record is None else [
        f"Its current status is {record['status']} (revision {record['revision']}); "
        f"the pasted copy is revision {payload.get('revision')}."]
    return published, f"Certificate {number}", f"/certificates/{quote(number)}", lines


async def _pasted_document(gw: GatewayDep, text: str, payload: dict[str, Any]) -> Pasted:
    record = await gw.db[store.DOCUMENTS].find_one({"_id": str(payload["document_id"])})
    published = record is not None and record.get("signature") == text
    lines = [f"Issued by {payload.get('issuer_organisation_id')} to {payload.get('recipient_organisation_id')} "
             f"on {payload.get('issued_on')} for {payload.get('coc_mass_kg')} kg of {payload.get('material_category')}."]
    issuer_cert = await gw.db[store.CERTIFICATES].find_one({"certificate_number": payload.get("issuer_certificate_number")})
    if issuer_cert is not None:
        lines.append(f"The issuer's certificate {issuer_cert['certificate_number']} is now {issuer_cert['status']}.")
    return published, f"CoC Document {payload['document_id']}", None, lines


def _verdict(checked: jws.JwsCheck, published: bool) -> tuple[str, str]:
    """Invalid when the signature fails; valid when it checks or the text is what the platform
    published; else unknown. With the sentence that says so."""
    if checked.signature_valid is False:
        return "invalid", f"Not authentic: {checked.problem}."
    if checked.signature_valid:
        return "valid", f"Authentic: the signature matches the ASI key {checked.key_id}."
    if published:
        return "valid", "Authentic: it is exactly the document the platform published."
    return "unknown", "It could not be verified: its key is not known here and the platform never published it."


async def _lookup_code(gw: GatewayDep, code: str) -> Response:
    if await gw.db[store.CLAIMS].find_one({"approval_code": code}, {"_id": 1}):
        return RedirectResponse(f"/c/{quote(code, safe='')}", status_code=303)
    cert = await gw.db[store.CERTIFICATES].find_one({"$or": [{"certificate_number": code}, {"certificate_number": code.upper()}]})
    if cert is not None:
        return RedirectResponse(f"/certificates/{quote(cert['certificate_number'], safe='')}", status_code=303)
    doc = await gw.db[store.DOCUMENTS].find_one({"_id": code})
    if doc is not None:
        d = doc["document"]
        result = {"title": f"CoC Document {code}", "verdict": "valid", "link": None,
                  "lines": [f"The platform issued this document on {d['issued_on']} "
                            f"(issuer {d['issuer_organisation_id']}, certificate {d['issuer_certificate_number']})."]}
        return page("verify.html", pasted=code, result=result)
    return page("verify.html", 404, pasted=code, result={
        "title": "Not found", "verdict": "unknown", "link": None,
        "lines": ["No certificate, CoC Document or claim approval has this number or code."]})
