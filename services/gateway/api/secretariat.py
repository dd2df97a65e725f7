"""The secretariat: API keys, registry and certificate commands, ledger commands."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body
from pydantic import BaseModel, Field, WithJsonSchema

from contracts.common import Identifier, Role
from services.gateway.adapters import store
from services.gateway.api.deps import ApiError, Caller, GatewayDep, StrictBody, publish, respond, role
from services.gateway.domain import keys
from services.gateway.domain.access import Principal
from services.gateway.inputs import CertificateCommandInput, LedgerCommandInput

router = APIRouter(tags=["secretariat"])
Secretariat = Annotated[Principal, role(Role.SECRETARIAT)]


class NewKeyRequest(StrictBody):
    organisation_id: Identifier = Field(description="Organisation the key acts for.")
    role: Annotated[Role, WithJsonSchema({"type": "string", "enum": [r.value for r in Role if r is not Role.SERVICE]})] \
        = Field(description="Role the key acts in (not `service`, the platform's own).")
    label: str = Field(default="", max_length=200, description="A note for you, e.g. 'ERP integration'.")


class CreatedKey(BaseModel):
    key_id: str
    token: str = Field(description="The key itself: shown once, only its hash is kept.")
    organisation_id: str
    role: Role


@router.post("/v1/keys", status_code=201, response_model=CreatedKey, tags=["keys"],
             summary="Create an API key for an organisation and role (the token is shown once)")
async def create_key(gw: GatewayDep, caller: Secretariat, request: NewKeyRequest) -> Any:
    if request.role is Role.SERVICE:
        raise ApiError(422, "invalid_role", "keys are for organisations; `service` is the platform's own role")
    new = keys.new_key()
    await gw.db[store.KEYS].insert_one({
        "_id": new.key_id, "secret_hash": new.secret_hash, "organisation_id": request.organisation_id,
        "role": request.role.value, "label": request.label, "created_at": gw.runtime.clock.now(),
        "created_by": caller.organisation_id, "revoked_at": None})
    return respond({"key_id": new.key_id, "token": new.token, "organisation_id": request.organisation_id,
                    "role": request.role.value}, 201)


@router.get("/v1/keys", tags=["keys"], summary="API keys (yours; the secretariat sees all)")
async def list_keys(gw: GatewayDep, caller: Caller) -> Any:
    query = {} if caller.is_secretariat else {"organisation_id": caller.organisation_id}
    docs = gw.db[store.KEYS].find(query, {"secret_hash": 0}).sort("created_at", 1).limit(1000)
    return respond({"keys": [{"key_id": d["_id"], **d} async for d in docs]})


@router.delete("/v1/keys/{key_id}", tags=["keys"], summary="Revoke an API key (your organisation's, or any for the secretariat)")
async def revoke_key(gw: GatewayDep, caller: Caller, key_id: str) -> Any:
    doc = await gw.db[store.KEYS].find_one({"_id": key_id})
    if doc is None or not (caller.is_secretariat or doc["organisation_id"] == caller.organisation_id):
        raise ApiError(404, "not_found", "no key of yours has this id")
    now = gw.runtime.clock.now()
    await gw.db[store.KEYS].update_one({"_id": key_id, "revoked_at": None}, {"$set": {"revoked_at": now}})
    return respond({"key_id": key_id, "revoked": True})


@router.get("/v1/me", tags=["keys"], summary="Who your key acts for")
async def me(caller: Caller) -> Any:
    return respond({"organisation_id": caller.organisation_id, "role": caller.role.value, "key_id": caller.key_id})


@router.post("/v1/certificate-commands", status_code=202,
             summary="Registry and certificate commands (register member/site/body; suspend, reinstate, withdraw, change scope)")
async def certificate_command(gw: GatewayDep, caller: Secretariat,
                              command: Annotated[CertificateCommandInput, Body()]) -> Any:
    message = command.build(command.CONTRACT, caller.actor, gw.runtime.clock.now())
    return respond(await publish(gw, caller, message, command), 202)


@router.post("/v1/ledger-commands", status_code=202, summary="Close an account's period; assign a rule set")
async def ledger_command(gw: GatewayDep, caller: Secretariat, command: Annotated[LedgerCommandInput, Body()]) -> Any:
    message = command.build(command.CONTRACT, caller.actor, gw.runtime.clock.now())
    return respond(await publish(gw, caller, message, command), 202)
