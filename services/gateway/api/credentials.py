"""Certificates and CoC Documents as W3C Verifiable Credentials (VC-JOSE-COSE, `application/vc+jwt`), the
certificates' Bitstring Status Lists, and the issuer's keys (`/.well-known/did.json`, `/.well-known/jwks.json`).

The credentials are issued by the gateway with its own Ed25519 key (`credential_signing_key`, else one
generated once and kept in its database): the certificates and accounting services' keys are private to
them, and the gateway only learns their public halves. The signed forms those services made stay as
they were (`signed_certificate`, a CoC Document's `signature`), and each certificate credential carries
the certificate as published."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from pymongo.errors import DuplicateKeyError

from contracts.signing import Signer, b64url, seed_from_text
from services.gateway.adapters import store
from services.gateway.api.deps import ApiError, Caller, GatewayDep
from services.gateway.domain import access, credentials
from services.gateway.domain.credentials import MEDIA_TYPE, PURPOSES

router = APIRouter(tags=["verifiable credentials"])

VC_RESPONSE: dict[int | str, dict[str, Any]] = {200: {
    "description": "The credential as a compact JWS (VC-JOSE-COSE, `typ: vc+jwt`).",
    "content": {MEDIA_TYPE: {"schema": {"type": "string"}}}}}


def issuer_did(base_url: str) -> str:
    """did:web of the public address (did:web method: the port's colon percent-encoded, a path's `/` as `:`)."""
    parts = urlsplit(base_url)
    path = ":".join(quote(p, safe="") for p in parts.path.split("/") if p)
    return "did:web:" + quote(parts.netloc, safe="") + (f":{path}" if path else "")


async def credential_signer(gw: GatewayDep) -> Signer:
    if gw.settings.credential_signing_key is not None:
        return Signer.from_seed(seed_from_text(gw.settings.credential_signing_key.get_secret_value()))
    doc = await gw.db[store.CREDENTIAL_KEYS].find_one({"_id": "current"})
    if doc is None:  # first use: one key, kept (two gateways starting at once keep the first one written)
        await gw.db[store.CREDENTIAL_KEYS].update_one(
            {"_id": "current"}, {"$setOnInsert": {"seed": b64url(Signer.generate().seed)}}, upsert=True)
        doc = await gw.db[store.CREDENTIAL_KEYS].find_one({"_id": "current"})
    assert doc is not None
    return Signer.from_seed(seed_from_text(doc["seed"]))


def _issuer(gw: GatewayDep) -> dict[str, Any]:
    return {"id": issuer_did(gw.settings.public_base_url), "name": gw.settings.credential_issuer_name}


async def _signed(gw: GatewayDep, credential: dict[str, Any]) -> Response:
    signer = await credential_signer(gw)
    return Response(credentials.sign(credential, signer, issuer_did(gw.settings.public_base_url)), media_type=MEDIA_TYPE)


async def status_index(gw: GatewayDep, certificate_id: str) -> int:
    """The certificate's bit in the status lists: drawn at random among the free ones on first use (Bitstring
    Status List v1.0 section 6.5: random positions, so that a position says nothing of when a certificate
    was issued), reserved in `status_indices`, never changed."""
    doc = await gw.db[store.CERTIFICATES].find_one({"_id": certificate_id}, {"status_index": 1})
    for _ in range(32):
        if doc is not None and "status_index" in doc:
            return int(doc["status_index"])
        candidate = secrets.randbelow(credentials.MIN_BITS)
        try:
            await gw.db[store.STATUS_INDICES].insert_one({"_id": candidate, "certificate_id": certificate_id})
        except DuplicateKeyError:
            continue  # taken: draw again
        taken = await gw.db[store.CERTIFICATES].update_one(
            {"_id": certificate_id, "status_index": {"$exists": False}}, {"$set": {"status_index": candidate}})
        if taken.modified_count == 0:  # another request gave it one first
            await gw.db[store.STATUS_INDICES].delete_one({"_id": candidate})
        doc = await gw.db[store.CERTIFICATES].find_one({"_id": certificate_id}, {"status_index": 1})
    raise ApiError(503, "status_list_full", "no free position in the status lists was found: send it again")


@router.get("/credentials/certificates/{certificate}", response_class=Response, responses=VC_RESPONSE,
            summary="A certificate (by number or id) as a Verifiable Credential: UNTP Digital Conformity Credential, "
                    "vc+jwt, with its status list entries")
async def certificate_credential(gw: GatewayDep, certificate: str) -> Response:
    doc = await gw.db[store.CERTIFICATES].find_one({"$or": [{"certificate_number": certificate}, {"_id": certificate}]})
    if doc is None or not doc.get("certificate"):
        raise ApiError(404, "not_found", "no certificate has this number or id")
    c = doc["certificate"]
    member = await gw.db[store.MEMBERS].find_one({"_id": c["organisation_id"]})
    credential = credentials.certificate_credential(
        c, holder_name=member["name"] if member else c["organisation_id"], issuer=_issuer(gw),
        base_url=gw.settings.public_base_url, status_index=await status_index(gw, doc["_id"]),
        untp_context=gw.settings.untp_dcc_context)
    return await _signed(gw, credential)


@router.get("/credentials/status/{purpose}", response_class=Response, responses=VC_RESPONSE,
            summary="Bitstring Status List credential of the certificates (purpose: revocation or suspension)")
async def status_list(gw: GatewayDep, purpose: str) -> Response:
    if purpose not in PURPOSES:
        raise ApiError(404, "not_found", f"the status lists are {', '.join(PURPOSES)}")
    statuses = {int(d["status_index"]): d.get("status", "") async for d in gw.db[store.CERTIFICATES].find(
        {"status_index": {"$exists": True}}, {"status_index": 1, "status": 1})}
    credential = credentials.status_list_credential(
        gw.settings.public_base_url, purpose, credentials.flagged(statuses, purpose), issuer=_issuer(gw),
        now=gw.runtime.clock.now())
    response = await _signed(gw, credential)
    response.headers["cache-control"] = "max-age=60"
    return response


@router.get("/v1/documents/{document_id}/credential", response_class=Response, responses=VC_RESPONSE,
            summary="One CoC Document you issued or received, as a Verifiable Credential (vc+jwt)")
async def document_credential(gw: GatewayDep, caller: Caller, document_id: str) -> Response:
    d = await gw.db[store.DOCUMENTS].find_one({"_id": document_id})
    if d is None or not access.may_read_document(caller, d["issuer_organisation_id"], d["recipient_organisation_id"]):
        raise ApiError(404, "not_found", "no CoC Document of yours has this id")
    return await _signed(gw, credentials.document_credential(d["document"], issuer=_issuer(gw),
                                                             base_url=gw.settings.public_base_url))


def _public_jwk(signer: Signer, did: str) -> dict[str, Any]:
    return {**signer.jwk, "kid": f"{did}#{signer.kid}"}


async def credential_jwk(gw: GatewayDep) -> dict[str, Any]:
    """The public key the credentials are signed with, under the `kid` their headers name."""
    return _public_jwk(await credential_signer(gw), issuer_did(gw.settings.public_base_url))


@router.get("/.well-known/jwks.json", summary="The public key the verifiable credentials are signed with (JWKS)")
async def jwks(gw: GatewayDep) -> JSONResponse:
    did = issuer_did(gw.settings.public_base_url)
    return JSONResponse({"keys": [_public_jwk(await credential_signer(gw), did)]})


@router.get("/.well-known/did.json", summary="The credential issuer's DID document (did:web)")
async def did_document(gw: GatewayDep) -> JSONResponse:
    did = issuer_did(gw.settings.public_base_url)
    jwk = _public_jwk(await credential_signer(gw), did)
    method = {"id": jwk["kid"], "type": "JsonWebKey", "controller": did, "publicKeyJwk": jwk}
    return JSONResponse({"@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/jwk/v1"],
                         "id": did, "verificationMethod": [method], "assertionMethod": [jwk["kid"]]})
