"""The upstream of a CoC Document (issue 21): the holder's view under `/v1`, the public's outside it,
the per-member setting that lets the public see a supplier's name, and the document's UNTP Digital
Product Passport (holder and public JSON-LD, public page)."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from services.gateway import upstream
from services.gateway.adapters import store
from services.gateway.api.deps import ApiError, Caller, GatewayDep, StrictBody, respond
from services.gateway.api.pages import page
from services.gateway.domain import access, passport
from services.gateway.templates import render

router = APIRouter(tags=["supply-chain mapping"])


@router.get("/v1/documents/{document_id}/upstream",
            summary="The upstream of a CoC Document you issued or received, level by level, with supplier names")
async def holder_upstream(gw: GatewayDep, caller: Caller, document_id: str, detail: Annotated[
        Literal["accounts"] | None, Query(description="`accounts`: per source, what each receiving account's "
                                                      "period contributed (its share and document ids)")] = None) -> Any:
    record = await gw.db[store.DOCUMENTS].find_one({"_id": document_id})
    if record is None or not access.may_read_document(caller, record["issuer_organisation_id"],
                                                      record["recipient_organisation_id"]):
        raise ApiError(404, "not_found", "no CoC Document of yours has this id")
    return respond(upstream.view(await upstream.compute(gw.db, record), caller, accounts=detail == "accounts"))


@router.get("/documents/{document_id}/upstream",
            summary="The public upstream of a CoC Document: countries, activities, certificate numbers and shares")
async def public_upstream(gw: GatewayDep, document_id: str) -> Any:
    record = await gw.db[store.DOCUMENTS].find_one({"_id": document_id})
    if record is None:
        raise ApiError(404, "not_found", "no CoC Document has this id")
    return respond(upstream.view(await upstream.compute(gw.db, record), None))


class PublicNaming(StrictBody):
    named: bool


@router.put("/v1/members/{organisation_id}/public-naming",
            summary="Whether the public upstream of documents names this member (the member or the secretariat)")
async def public_naming(gw: GatewayDep, caller: Caller, organisation_id: str, body: PublicNaming) -> Any:
    if not (caller.is_secretariat or caller.organisation_id == organisation_id):
        raise ApiError(404, "not_found", "no member of yours has this id")
    if await gw.db[store.MEMBERS].find_one({"_id": organisation_id}, {"_id": 1}) is None:
        raise ApiError(404, "not_found", "no member has this id")
    await gw.db[store.MEMBER_SETTINGS].update_one({"_id": organisation_id}, {"$set": {
        "named": body.named, "set_by": caller.organisation_id, "set_at": gw.runtime.clock.now()}}, upsert=True)
    return respond({"organisation_id": organisation_id, "named": body.named})


# ---- the digital product passport (UNTP DPP JSON-LD) and its public page --------------------------


async def _record(gw: GatewayDep, document_id: str) -> dict[str, Any]:
    record = await gw.db[store.DOCUMENTS].find_one({"_id": document_id})
    if record is None:
        raise ApiError(404, "not_found", "no CoC Document has this id")
    return record


@router.get("/v1/documents/{document_id}/passport",
            summary="A UNTP Digital Product Passport (JSON-LD) of a CoC Document you issued or received, with the "
                    "signed document inside")
async def holder_passport(gw: GatewayDep, caller: Caller, document_id: str) -> Any:
    record = await gw.db[store.DOCUMENTS].find_one({"_id": document_id})
    if record is None or not access.may_read_document(caller, record["issuer_organisation_id"],
                                                      record["recipient_organisation_id"]):
        raise ApiError(404, "not_found", "no CoC Document of yours has this id")
    u = await upstream.compute(gw.db, record)
    return respond(passport.passport(gw.settings.public_base_url, gw.settings.passport_issuer_did, record,
                                     upstream.view(u, caller), upstream.issuer_certificates(u), public=False))


@router.get("/documents/{document_id}/passport.json",
            summary="The public UNTP Digital Product Passport of a CoC Document (no masses, names only if opted in)")
async def public_passport(gw: GatewayDep, document_id: str) -> Any:
    record = await _record(gw, document_id)
    u = await upstream.compute(gw.db, record)
    return respond(passport.passport(gw.settings.public_base_url, gw.settings.passport_issuer_did, record,
                                     upstream.view(u, None), upstream.issuer_certificates(u), public=True))


@router.get("/documents/{document_id}/passport", response_class=HTMLResponse,
            summary="The public page of a CoC Document's product passport")
async def passport_page(gw: GatewayDep, document_id: str) -> HTMLResponse:
    record = await gw.db[store.DOCUMENTS].find_one({"_id": document_id})
    if record is None:
        return page("message.html", 404, title="Unknown document", message=f"No CoC Document has the id {document_id}.")
    u = await upstream.compute(gw.db, record)
    view = upstream.view(u, None)
    p = passport.passport(gw.settings.public_base_url, gw.settings.passport_issuer_did, record, view,
                          upstream.issuer_certificates(u), public=True)
    return HTMLResponse(render("passport.html", p=p, method=view["method"],
                               json_url=f"/documents/{quote(document_id, safe='')}/passport.json"))
