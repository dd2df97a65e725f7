"""A member's certification standing, for the member itself and the secretariat."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from services.gateway.adapters import store
from services.gateway.api.deps import ApiError, Caller, GatewayDep, respond

router = APIRouter(tags=["membership"])


@router.get("/v1/members/{organisation_id}/certification",
            summary="Whether a member's certification is at risk, extended or forfeited (the member or the secretariat)")
async def certification_standing(gw: GatewayDep, caller: Caller, organisation_id: str) -> Any:
    if not (caller.is_secretariat or caller.organisation_id == organisation_id):
        raise ApiError(404, "not_found", "no member of yours has this id")
    doc = await gw.db[store.MEMBERS].find_one({"_id": organisation_id})
    if doc is None:
        raise ApiError(404, "not_found", "no member has this id")
    standing = doc.get("certification") or {"status": "in_good_standing"}
    return respond({"organisation_id": organisation_id, "membership_class": doc.get("membership_class"),
                    "joined_on": doc.get("joined_on"), "certification": standing})
