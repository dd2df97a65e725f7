"""What every endpoint shares: the caller's credential, publishing onto a topic, JSON answers."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import Depends, Request
from pymongo import UpdateOne
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from contracts.common import Envelope, Role
from contracts.topics import topic_for
from libs.logs import get_logger
from libs.service import Runtime
from libs.tracing import current_headers
from services.gateway.adapters import store
from services.gateway.config import Settings
from services.gateway.domain import keys
from services.gateway.domain.access import AccessDenied, Principal, require_role

log = get_logger("services.gateway")


class ApiError(Exception):
    """An answer other than success: HTTP status, a stable code and a message."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    return {"error": error}


@dataclass
class Gateway:
    """What the endpoints need, held on `app.state.gateway`."""

    settings: Settings
    runtime: Runtime

    @property
    def db(self) -> store.Db:
        return self.runtime.db


def gateway(request: Request) -> Gateway:
    return request.app.state.gateway


GatewayDep = Annotated[Gateway, Depends(gateway)]

_bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer asi_<key id>_<secret>`")
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="Or the key in `X-API-Key`.")


async def principal(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    api_key: Annotated[str | None, Depends(_api_key)],
) -> Principal:
    gw: Gateway = request.app.state.gateway
    token = (bearer.credentials if bearer else None) or api_key
    if not token:
        raise ApiError(401, "unauthenticated", "send your API key as `Authorization: Bearer <key>` or `X-API-Key`")
    bootstrap = gw.settings.bootstrap_admin_key.get_secret_value() if gw.settings.bootstrap_admin_key else None
    if keys.bootstrap_matches(token, bootstrap):
        return Principal(gw.settings.secretariat_organisation_id, Role.SECRETARIAT, "bootstrap")
    parsed = keys.parse_token(token)
    record = await gw.db[store.KEYS].find_one({"_id": parsed[0]}) if parsed else None
    if parsed is None or record is None or not keys.secret_matches(parsed[1], record["secret_hash"]):
        raise ApiError(401, "invalid_key", "this API key is not valid")
    if record.get("revoked_at") is not None:
        raise ApiError(401, "key_revoked", "this API key was revoked")
    return Principal(record["organisation_id"], Role(record["role"]), record["_id"])


Caller = Annotated[Principal, Depends(principal)]


def role(*roles: Role) -> Any:
    async def check(caller: Caller) -> Principal:
        require_role(caller, *roles)
        return caller

    return Depends(check)


def as_json(value: Any) -> Any:
    """Exact decimals as strings, times as ISO 8601, Mongo `_id` dropped."""
    if isinstance(value, dict):
        return {k: as_json(v) for k, v in value.items() if k != "_id"}
    if isinstance(value, list | tuple):
        return [as_json(v) for v in value]
    if isinstance(value, Decimal):
        return format(value, "f")
    if hasattr(value, "to_decimal"):
        return format(value.to_decimal(), "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def respond(content: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(as_json(content), status_code=status)


async def publish(gw: Gateway, caller: Principal, message: Envelope, **record: Any) -> dict[str, Any]:
    """Publish a command or event on its contract topic; returns once the broker has it."""
    topic = topic_for(message)
    try:
        await gw.runtime.broker.publish(
            topic.encode(message), topic.name, key=topic.key_of(message).encode(),
            headers={"content-type": "application/json", **current_headers()},
        )
    except Exception as exc:  # noqa: BLE001 - any broker failure is a 503 to the caller
        log.warning("publish_failed", topic=topic.name, error=repr(exc)[:300])
        raise ApiError(503, "broker_unavailable", "the message could not be handed to the broker; send it again "
                       "(with the same event_id)") from exc
    await gw.db[store.SUBMISSIONS].update_one({"_id": str(message.event_id)}, {"$setOnInsert": {
        "organisation_id": caller.organisation_id, "role": caller.role.value, "key_id": caller.key_id,
        "topic": topic.name, "type": message.type, "submitted_at": gw.runtime.clock.now(), **record}}, upsert=True)
    return {"event_id": str(message.event_id), "type": message.type, "topic": topic.name}


async def publish_many(gw: Gateway, caller: Principal, messages: list[Envelope]) -> None:
    """Publish many messages at once (each on its own topic and key) and wait for every ack."""
    if not messages:
        return
    pending = []
    try:
        for message in messages:
            topic = topic_for(message)
            result = await gw.runtime.broker.publish(
                topic.encode(message), topic.name, key=topic.key_of(message).encode(),
                headers={"content-type": "application/json", **current_headers()}, no_confirm=True,
            )
            if isinstance(result, asyncio.Future):
                pending.append(result)
        await asyncio.gather(*pending)
    except Exception as exc:  # noqa: BLE001
        log.warning("publish_failed", error=repr(exc)[:300])
        raise ApiError(503, "broker_unavailable", "the batch could not be handed to the broker; send it again "
                       "(the same event ids make it safe)") from exc
    now = gw.runtime.clock.now()
    await gw.db[store.SUBMISSIONS].bulk_write([
        UpdateOne({"_id": str(m.event_id)}, {"$setOnInsert": {
            "organisation_id": caller.organisation_id, "role": caller.role.value, "key_id": caller.key_id,
            "topic": topic_for(m).name, "type": m.type, "submitted_at": now,
            "site_id": getattr(m, "site_id", None)}}, upsert=True)
        for m in messages
    ], ordered=False)


def loads_exact(raw: bytes) -> Any:
    """JSON with numbers read as exact decimals (never binary floats)."""
    try:
        return json.loads(raw, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "invalid_json", f"the body is not JSON: {exc}") from exc


def denied(exc: AccessDenied) -> ApiError:
    return ApiError(exc.status, exc.code, exc.message)
