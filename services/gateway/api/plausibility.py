"""Plausibility alerts for the secretariat (issue 18 item 7), newest first, each with its evidence.
The claims service raises them (`PlausibilityAlertRaised` on `claims.decisions.v1`); they decide
nothing, so there is nothing to act on here but to look."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from contracts.common import Role
from services.gateway.adapters import store
from services.gateway.api.deps import GatewayDep, respond, role
from services.gateway.domain.access import Principal

router = APIRouter(tags=["secretariat"])
Secretariat = Annotated[Principal, role(Role.SECRETARIAT)]


@router.get("/v1/plausibility-alerts",
            summary="Plausibility alerts (never a decision), newest first, each naming its evidence")
async def plausibility_alerts(gw: GatewayDep, caller: Secretariat,
                              code: Annotated[str | None, Query(max_length=100)] = None,
                              limit: Annotated[int, Query(ge=1, le=500)] = 200) -> Any:
    query = {"reasons.code": code} if code else {}
    docs = gw.db[store.PLAUSIBILITY_ALERTS].find(query).sort([("raised_at", -1), ("_id", 1)]).limit(limit)
    return respond({"alerts": [d async for d in docs]})
