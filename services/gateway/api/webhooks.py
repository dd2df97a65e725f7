"""Webhook subscriptions to certificate events: signed as Standard Webhooks, retried with backoff, logged,
replayable."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import Field

from contracts.certificates import CertificateChange
from contracts.common import Identifier, Role, UtcDatetime
from services.gateway.adapters import store
from services.gateway.api.deps import ApiError, GatewayDep, StrictBody, respond, role
from services.gateway.domain.access import Principal
from services.gateway.domain.webhooks import matches, new_secret, url_problem
from services.gateway.handlers import new_delivery

router = APIRouter(tags=["webhooks"])
Subscriber = Annotated[Principal, role(Role.CERTIFICATION_BODY, Role.SECRETARIAT)]


URL_PATTERN = r"^https?://(\[[0-9A-Fa-f:.]{2,45}\]|[A-Za-z0-9]([A-Za-z0-9.-]{0,250}[A-Za-z0-9])?)(:[1-9][0-9]{0,4})?(/[!-~]*)?$"
"""What `domain.webhooks.url_problem` can accept (http only where private targets are allowed, for tests):
a host name or an IP literal (IPv6 in brackets), a port of up to five digits. Which addresses are
refused is decided after this, on the resolved address (`url_problem`, then the dispatcher), so every
textual form of a local address gets `invalid_webhook_url`, not a pattern mismatch."""


class Subscription(StrictBody):
    url: str = Field(min_length=8, max_length=2000, pattern=URL_PATTERN, description=(
        "Where certificate events are POSTed: https, a public host (a private or local address is refused with "
        "422 `invalid_webhook_url`, see the README's SSRF rules)."))
    organisation_ids: list[Identifier] = Field(default_factory=list, max_length=1000,
                                               description="Only certificates of these organisations (empty: all).")
    changes: list[CertificateChange] = Field(default_factory=list, description="Only these changes (empty: all).")


class Replay(StrictBody):
    since: UtcDatetime = Field(description="Deliver again every certificate event that occurred at or after this time.")


async def _own(gw: GatewayDep, caller: Principal, subscription_id: str) -> dict[str, Any]:
    doc = await gw.db[store.SUBSCRIPTIONS].find_one({"_id": subscription_id})
    if doc is None or not (caller.is_secretariat or doc["organisation_id"] == caller.organisation_id):
        raise ApiError(404, "not_found", "no webhook subscription of yours has this id")
    return doc


def _view(doc: dict[str, Any]) -> dict[str, Any]:
    return {"subscription_id": doc["_id"], **{k: v for k, v in doc.items() if k not in ("_id", "secret")}}


@router.post("/v1/webhooks", status_code=201, summary="Subscribe to certificate events (the signing secret is shown once)")
async def subscribe(gw: GatewayDep, caller: Subscriber, request: Subscription) -> Any:
    problem = url_problem(request.url, gw.settings.webhook_allow_private_targets)
    if problem:
        raise ApiError(422, "invalid_webhook_url", problem)
    doc = {"_id": uuid.uuid4().hex, "organisation_id": caller.organisation_id, "url": request.url,
           "organisation_ids": list(request.organisation_ids), "changes": [c.value for c in request.changes],
           "secret": new_secret(), "active": True, "created_at": gw.runtime.clock.now()}
    await gw.db[store.SUBSCRIPTIONS].insert_one(doc)
    return respond({**_view(doc), "secret": doc["secret"]}, 201)


@router.get("/v1/webhooks", summary="Your webhook subscriptions")
async def subscriptions(gw: GatewayDep, caller: Subscriber) -> Any:
    query = {} if caller.is_secretariat else {"organisation_id": caller.organisation_id}
    return respond({"webhooks": [_view(d) async for d in gw.db[store.SUBSCRIPTIONS].find(query).limit(1000)]})


@router.delete("/v1/webhooks/{subscription_id}", summary="Stop a subscription (pending deliveries are cancelled)")
async def unsubscribe(gw: GatewayDep, caller: Subscriber, subscription_id: str) -> Any:
    await _own(gw, caller, subscription_id)
    await gw.db[store.SUBSCRIPTIONS].update_one({"_id": subscription_id}, {"$set": {"active": False}})
    return respond({"subscription_id": subscription_id, "active": False})


@router.get("/v1/webhooks/{subscription_id}/deliveries", summary="The delivery log: every attempt of every delivery")
async def deliveries(gw: GatewayDep, caller: Subscriber, subscription_id: str,
                     limit: Annotated[int, Query(ge=1, le=500)] = 100) -> Any:
    await _own(gw, caller, subscription_id)
    docs = gw.db[store.DELIVERIES].find({"subscription_id": subscription_id}, {"payload": 0}).sort(
        "created_at", -1).limit(limit)
    return respond({"deliveries": [{"delivery_id": d["_id"], **d} async for d in docs]})


@router.post("/v1/webhooks/{subscription_id}/replay", status_code=202,
             summary="Deliver again every matching certificate event since a point in time")
async def replay(gw: GatewayDep, caller: Subscriber, subscription_id: str, request: Replay) -> Any:
    sub = await _own(gw, caller, subscription_id)
    if not sub.get("active"):
        raise ApiError(409, "subscription_inactive", "this subscription was stopped")
    now = gw.runtime.clock.now()
    waiting = {d["event_id"] async for d in gw.db[store.DELIVERIES].find(
        {"subscription_id": subscription_id, "status": "pending"}, {"event_id": 1})}
    queued = []
    async for event in gw.db[store.CERTIFICATE_EVENTS].find({"occurred_at": {"$gte": request.since}}).sort(
            "occurred_at", 1).limit(10_000):
        payload = event["payload"]
        if payload["event_id"] not in waiting and matches(payload, sub.get("organisation_ids", []), sub.get("changes", [])):
            waiting.add(payload["event_id"])
            queued.append(new_delivery(sub["_id"], payload, now, replay=True))
    if queued:
        await gw.db[store.DELIVERIES].insert_many(queued)
    return respond({"subscription_id": subscription_id, "queued": len(queued)}, 202)
