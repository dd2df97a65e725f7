"""The upstream of a CoC Document (issue 21): the holder's view under `/v1`, the public's outside it,
and the per-member setting that lets the public see a supplier's name."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from services.gateway import upstream
from services.gateway.adapters import store
from services.gateway.api.deps import ApiError, Caller, GatewayDep, StrictBody, respond
from services.gateway.domain import access

router = APIRouter(tags=["supply-chain mapping"])


@router.get("/v1/documents/{document_id}/upstream",
            summary="The upstream of a CoC Document you issued or received, level by level, with supplier names")
async def holder_upstream(gw: GatewayDep, caller: Caller, document_id: str) -> Any:
    record = await gw.db[store.DOCUMENTS].find_one({"_id": document_id})
    if record is None or not access.may_read_document(caller, record["issuer_organisation_id"],
                                                      record["recipient_organisation_id"]):
        raise ApiError(404, "not_found", "no CoC Document of yours has this id")
    return respond(upstream.view(await upstream.compute(gw.db, record), caller))


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
