"""Producers: plant events (single, batch, EPCIS 2.0), refusals, balances, statements, CoC Documents."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Request
from pydantic import BaseModel, Field, ValidationError

from contracts.common import Role
from services.gateway.adapters import store
from services.gateway.api.deps import (ApiError, Caller, GatewayDep, Outgoing, StrictBody, denied, loads_exact, publish,
                                      publish_many, respond, role)
from services.gateway.domain import access, epcis
from services.gateway.domain.access import AccessDenied, Principal
from services.gateway.inputs import PLANT_INPUT, PlantEventInput

router = APIRouter(tags=["producers"])
Producer = Annotated[Principal, role(Role.PRODUCER, Role.SECRETARIAT)]


class Accepted(BaseModel):
    event_id: str = Field(description="Id of the published message.")
    type: str = Field(description="Its type tag.")
    topic: str = Field(description="Topic it was published on.")


class ItemResult(BaseModel):
    index: int = Field(description="Position of the item in the request.")
    status: Literal["accepted", "refused"] = Field(description="Accepted: published; refused: not published.")
    event_id: str | None = Field(default=None, description="Event id of the published plant event.")
    error: dict[str, Any] | None = Field(default=None, description="Why the item was refused: code, message, details.")


class BatchResult(BaseModel):
    accepted: int
    refused: int
    results: list[ItemResult]


class Batch(StrictBody):
    events: list[dict[str, Any]] = Field(
        min_length=1, max_length=10_000, description="Plant events, each shaped as for POST /v1/plant-events.")


async def prepare_items(gw: GatewayDep, caller: Principal, bodies: list[tuple[int, Any]],
                        refused: list[ItemResult]) -> list[tuple[int, Outgoing]]:
    """Each body checked against the plant-event contract and the caller's sites; what fails is added to
    `refused`, what passes is returned ready to publish."""
    if len(bodies) + len(refused) > gw.settings.max_batch_items:
        raise ApiError(413, "batch_too_large", f"at most {gw.settings.max_batch_items} events per request")
    parsed: list[tuple[int, Any]] = []
    for index, body in bodies:
        try:
            parsed.append((index, PLANT_INPUT.validate_python(body)))
        except ValidationError as exc:
            refused.append(ItemResult(index=index, status="refused", error={
                "code": "invalid_event", "message": "the event does not match the plant-event contract",
                "details": _errors(exc)}))
    owners = await store.site_owners(gw.db, list({p.site_id for _, p in parsed}))
    now = gw.runtime.clock.now()
    messages: list[tuple[int, Outgoing]] = []
    for index, item in parsed:
        try:
            access.require_own_site(caller, item.site_id, owners)
            message = item.build(item.CONTRACT, caller.actor, now)
            messages.append((index, Outgoing.of(caller, message, item, site_id=item.site_id)))
        except AccessDenied as exc:
            refused.append(ItemResult(index=index, status="refused", error={"code": exc.code, "message": exc.message}))
        except ValidationError as exc:
            refused.append(ItemResult(index=index, status="refused", error={
                "code": "invalid_event", "message": "the event does not match the plant-event contract",
                "details": _errors(exc)}))
    return messages


async def publish_items(gw: GatewayDep, caller: Principal, messages: list[tuple[int, Outgoing]],
                        refused: list[ItemResult]) -> BatchResult:
    conflicts = await publish_many(gw, caller, [m for _, m in messages])
    results = list(refused)
    for (index, outgoing), conflict in zip(messages, conflicts, strict=True):
        results.append(ItemResult(index=index, status="accepted", event_id=outgoing.event_id) if conflict is None else
                       ItemResult(index=index, status="refused", event_id=outgoing.event_id,
                                  error={"code": conflict.code, "message": conflict.message}))
    results.sort(key=lambda r: r.index)
    accepted = sum(r.status == "accepted" for r in results)
    return BatchResult(accepted=accepted, refused=len(results) - accepted, results=results)


async def _submit_items(gw: GatewayDep, caller: Principal, bodies: list[tuple[int, Any]],
                        refused: list[ItemResult]) -> BatchResult:
    return await publish_items(gw, caller, await prepare_items(gw, caller, bodies, refused), refused)


def _errors(exc: ValidationError) -> list[dict[str, Any]]:
    return [{"field": ".".join(str(p) for p in e["loc"]), "code": e["type"], "message": e["msg"]} for e in exc.errors()[:20]]


@router.post("/v1/plant-events", status_code=202, response_model=Accepted,
             summary="Submit one plant event (received, transformed, shipped, cancelled)")
async def submit_plant_event(gw: GatewayDep, caller: Producer, event: Annotated[PlantEventInput, Body()]) -> Any:
    owners = await store.site_owners(gw.db, [event.site_id])
    try:
        access.require_own_site(caller, event.site_id, owners)
    except AccessDenied as exc:
        raise denied(exc) from exc
    message = event.build(event.CONTRACT, caller.actor, gw.runtime.clock.now())
    return respond(await publish(gw, caller, message, event, site_id=event.site_id), 202)


@router.post("/v1/plant-events/batch", response_model=BatchResult,
             summary="Submit many plant events; each item is accepted or refused on its own")
async def submit_plant_events(gw: GatewayDep, caller: Producer, batch: Batch) -> Any:
    result = await _submit_items(gw, caller, list(enumerate(batch.events)), [])
    return respond(result.model_dump())


EPCIS_DOCUMENT = {
    "type": "object", "required": ["epcisBody"],
    "description": "EPCIS 2.0 EPCISDocument (JSON-LD); each event of eventList is mapped and answered on its own "
                   "(see the gateway README for the mapping). At most GATEWAY_MAX_BATCH_ITEMS events.",
    "properties": {"type": {"const": "EPCISDocument"}, "epcisBody": {
        "type": "object", "required": ["eventList"],
        "properties": {"eventList": {"type": "array", "items": {"type": "object"}}}}}}
EPCIS_BODY = {"requestBody": {"required": True, "content": {
    "application/ld+json": {"schema": EPCIS_DOCUMENT}, "application/json": {"schema": EPCIS_DOCUMENT}}}}


@router.post("/v1/plant-events/epcis", response_model=BatchResult, openapi_extra=EPCIS_BODY,
             summary="Submit an EPCIS 2.0 JSON-LD capture document (see the gateway README for the mapping)")
async def submit_epcis(gw: GatewayDep, caller: Producer, request: Request) -> Any:
    document = loads_exact(await request.body())
    try:
        registry = await store.gs1_registry(gw.db, epcis.gs1_numbers(document), caller.organisation_id)
        mapped = epcis.map_document(document, caller.organisation_id, registry)
    except ValueError as exc:
        raise ApiError(422, "epcis_invalid", str(exc)) from exc
    refused = [ItemResult(index=m.index, status="refused", error={"code": m.code, "message": m.message})
               for m in mapped if m.body is None]
    bodies = [(m.index, m.body) for m in mapped if m.body is not None]
    result = await _submit_items(gw, caller, bodies, refused)
    return respond(result.model_dump())


@router.get("/v1/submissions/{event_id}", summary="What became of a message you submitted")
async def submission(gw: GatewayDep, caller: Caller, event_id: str) -> Any:
    record = await gw.db[store.SUBMISSIONS].find_one({"_id": event_id}, {"key": 0, "value": 0})
    if record is None or not (caller.is_secretariat or record["organisation_id"] == caller.organisation_id):
        raise ApiError(404, "not_found", "no submission of yours has this event id")
    status = await gw.db[store.EVENT_STATUS].find_one({"_id": store.status_id(event_id, record.get("site_id"))}) or {
        "status": "submitted"}
    return respond({"event_id": event_id, "type": record["type"], "topic": record["topic"],
                    "submitted_at": record["submitted_at"],
                    **{k: v for k, v in status.items() if k not in ("_id", "topic", "event_id")},
                    "status_from": status.get("topic")})


@router.get("/v1/sites", summary="Your organisation's registered sites")
async def my_sites(gw: GatewayDep, caller: Caller) -> Any:
    return respond({"sites": [{"site_id": s["_id"], **s} for s in await store.sites_of(gw.db, caller.organisation_id)]})


@router.get("/v1/refusals", summary="Refused and held plant events (and refused designations) of your sites")
async def refusals(gw: GatewayDep, caller: Producer, site_id: str | None = None,
                   limit: Annotated[int, Query(ge=1, le=500)] = 100) -> Any:
    own = [s["_id"] for s in await store.sites_of(gw.db, caller.organisation_id)]
    if site_id is not None:
        if site_id not in own and not caller.is_secretariat:
            raise ApiError(403, "site_not_yours", f"site {site_id!r} is not a registered site of {caller.organisation_id}")
        own = [site_id]
    query = {"site_id": {"$in": own}, "status": {"$in": ["refused", "held", "designation_refused"]}}
    docs = gw.db[store.EVENT_STATUS].find(query).sort("updated_at", -1).limit(limit)
    return respond({"refusals": [{**d, "event_id": d.get("event_id", d["_id"])} async for d in docs]})


async def _visible_account(gw: GatewayDep, caller: Principal, account_id: str) -> None:
    site = account_id.removeprefix("site:")
    owners = await store.site_owners(gw.db, [site]) if account_id.startswith("site:") else {}
    if not access.may_read_account(caller, account_id, owners):
        raise ApiError(404, "not_found", "no account of yours has this id")


@router.get("/v1/accounts", summary="Balances of your organisation's accounts (its sites and its group accounts); "
                                 "the secretariat's: every account, or one organisation's")
async def accounts(gw: GatewayDep, caller: Producer, organisation_id: Annotated[str | None, Query(
        max_length=200, description="The secretariat only: this organisation's accounts.")] = None) -> Any:
    if caller.is_secretariat and organisation_id is None:
        docs = gw.db[store.BALANCES].find({}).sort("_id", 1).limit(1000)
        return respond({"accounts": [{"account_id": d["_id"], **_shown(d)} async for d in docs]})
    org = organisation_id if caller.is_secretariat and organisation_id else caller.organisation_id
    ids = [f"site:{s['_id']}" for s in await store.sites_of(gw.db, org)]
    ids.append(f"group:{org}")
    scopes = {"$regex": f"^{re.escape(f'group:{org}/')}"}  # one pool per CoC certification scope
    docs = gw.db[store.BALANCES].find({"$or": [{"_id": {"$in": ids}}, {"_id": scopes}]}).sort("_id", 1)
    return respond({"accounts": [{"account_id": d["_id"], **_shown(d)} async for d in docs]})


@router.get("/v1/accounts/{account_id:path}/statements", summary="Period statements of one account, newest first")
# `:path`: a group account's id holds a slash (`group:<organisation>/<certificate>`). Declared before
# the balance route, which would otherwise take `<id>/statements` as an account id.
async def statements(gw: GatewayDep, caller: Producer, account_id: str) -> Any:
    await _visible_account(gw, caller, account_id)
    docs = gw.db[store.STATEMENTS].find({"account_id": account_id}).sort("period_id", -1).limit(100)
    return respond({"statements": [d["statement"] async for d in docs]})


@router.get("/v1/accounts/{account_id:path}", summary="One account's balance")
async def account(gw: GatewayDep, caller: Producer, account_id: str) -> Any:
    await _visible_account(gw, caller, account_id)
    doc = await gw.db[store.BALANCES].find_one({"_id": account_id})
    if doc is None:
        raise ApiError(404, "not_found", "this account has no entries yet")
    return respond({"account_id": account_id, **_shown(doc)})


def _shown(balance: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in balance.items() if k not in ("through", "ahead", "status_at")}


@router.get("/v1/documents", summary="CoC Documents your organisation issued or received")
async def documents(gw: GatewayDep, caller: Caller, direction: Literal["issued", "received", "all"] = "all",
                    limit: Annotated[int, Query(ge=1, le=500)] = 100) -> Any:
    me = caller.organisation_id
    query = {"issued": {"issuer_organisation_id": me}, "received": {"recipient_organisation_id": me},
             "all": {"$or": [{"issuer_organisation_id": me}, {"recipient_organisation_id": me}]}}[direction]
    docs = gw.db[store.DOCUMENTS].find(query).sort("issued_on", -1).limit(limit)
    return respond({"documents": [{"document": d["document"], "signature": d["signature"], "key_id": d["key_id"]}
                                  async for d in docs]})


@router.get("/v1/documents/{document_id}", summary="One CoC Document you issued or received, with its signature")
async def document(gw: GatewayDep, caller: Caller, document_id: str) -> Any:
    d = await gw.db[store.DOCUMENTS].find_one({"_id": document_id})
    if d is None or not access.may_read_document(caller, d["issuer_organisation_id"], d["recipient_organisation_id"]):
        raise ApiError(404, "not_found", "no CoC Document of yours has this id")
    return respond({"document": d["document"], "signature": d["signature"], "key_id": d["key_id"]})
