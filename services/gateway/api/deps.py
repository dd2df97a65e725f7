"""What every endpoint shares: the caller's credential, publishing onto a topic, JSON answers."""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict
from pymongo.errors import BulkWriteError

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


class StrictBody(BaseModel):
    """A request body that refuses fields it does not know (a typo must not be silently ignored)."""

    model_config = ConfigDict(extra="forbid")


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


async def authenticate(gw: Gateway, token: str | None) -> Principal | ApiError | None:
    """Who the key acts for; an ApiError saying why it is not valid; None without a key. Called once
    per request by the front door (`services/gateway/frontdoor.py`), which keys the rate limit on it."""
    if not token:
        return None
    bootstrap = gw.settings.bootstrap_admin_key.get_secret_value() if gw.settings.bootstrap_admin_key else None
    if keys.bootstrap_matches(token, bootstrap):
        return Principal(gw.settings.secretariat_organisation_id, Role.SECRETARIAT, "bootstrap")
    parsed = keys.parse_token(token)
    record = await gw.db[store.KEYS].find_one({"_id": parsed[0]}) if parsed else None
    if parsed is None or record is None or not keys.secret_matches(parsed[1], record["secret_hash"]):
        return ApiError(401, "invalid_key", "this API key is not valid")
    if record.get("revoked_at") is not None:
        return ApiError(401, "key_revoked", "this API key was revoked")
    return Principal(record["organisation_id"], Role(record["role"]), record["_id"])


async def principal(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    api_key: Annotated[str | None, Depends(_api_key)],
) -> Principal:
    if "caller" in request.scope.get("state", {}):
        caller = request.scope["state"]["caller"]
    else:
        caller = await authenticate(request.app.state.gateway, (bearer.credentials if bearer else None) or api_key)
    if caller is None:
        raise ApiError(401, "unauthenticated", "send your API key as `Authorization: Bearer <key>` or `X-API-Key`")
    if isinstance(caller, ApiError):
        raise caller
    return caller


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


ENVELOPE_FIELDS = {"event_id", "schema_version", "occurred_at", "correlation_id", "causation_id", "actor"}


def fingerprint(caller: Principal, message: Envelope, sent: BaseModel | None = None) -> str:
    """What makes a resend the same submission: the caller's organisation and what it sent (the body
    without its event id; without a body, the message without the envelope the gateway fills in)."""
    body = (sent.model_dump(mode="json", exclude={"event_id"}) if sent is not None
            else message.model_dump(mode="json", exclude=ENVELOPE_FIELDS))
    canonical = json.dumps({"organisation_id": caller.organisation_id, "type": message.type, "body": body},
                           sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Outgoing:
    """A message ready for its topic, with what the submission record keeps of it."""

    event_id: str
    type: str
    topic: str
    key: bytes
    value: bytes
    fingerprint: str
    record: dict[str, Any]

    @classmethod
    def of(cls, caller: Principal, message: Envelope, sent: BaseModel | None = None, **record: Any) -> Outgoing:
        topic = topic_for(message)
        return cls(str(message.event_id), message.type, topic.name, topic.key_of(message).encode(), topic.encode(message),
                   fingerprint(caller, message, sent), record)

    def answer(self) -> dict[str, Any]:
        return {"event_id": self.event_id, "type": self.type, "topic": self.topic}


CONFLICT = "this event_id was already used for a different message; send a new event_id (resending the same " \
           "message with the same event_id is safe)"


async def _claim_ids(gw: Gateway, caller: Principal, items: list[Outgoing]) -> list[Outgoing | ApiError]:
    """Record each submission under its event id before it is published. Per item: what to publish
    (the new message, or for an identical resend the bytes stored the first time, so the platform
    sees one message and the caller the same answer), or a 409 when the id was used for another
    message or by another organisation."""
    now = gw.runtime.clock.now()
    docs: dict[str, dict[str, Any]] = {}
    for o in items:
        docs.setdefault(o.event_id, {
            "_id": o.event_id, "organisation_id": caller.organisation_id, "role": caller.role.value,
            "key_id": caller.key_id, "topic": o.topic, "type": o.type, "submitted_at": now,
            "fingerprint": o.fingerprint, "key": o.key, "value": o.value, **o.record})
    stored = await _first_submissions(gw, docs)
    return [_resend_or_conflict(caller, o, stored[o.event_id]) for o in items]


async def _first_submissions(gw: Gateway, docs: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each event id's first submission: the one inserted now, or the one stored before (a duplicate
    key on insert)."""
    ids = list(docs)
    taken: list[str] = []
    try:
        await gw.db[store.SUBMISSIONS].insert_many(list(docs.values()), ordered=False)
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors", [])
        if any(e.get("code") != 11000 for e in errors):
            raise
        taken = [ids[e["index"]] for e in errors]
    stored = {d["_id"]: d for d in docs.values() if d["_id"] not in taken}
    if taken:
        stored.update({d["_id"]: d async for d in gw.db[store.SUBMISSIONS].find({"_id": {"$in": taken}})})
    return stored


def _resend_or_conflict(caller: Principal, o: Outgoing, first: dict[str, Any]) -> Outgoing | ApiError:
    """What to publish for a submission given the first one under its event id: the first's bytes
    when it is the same message from the same organisation, else a 409."""
    same = first.get("organisation_id") == caller.organisation_id and first.get("fingerprint") == o.fingerprint
    if not same or first.get("value") is None:
        return ApiError(409, "event_id_conflict", CONFLICT)
    return Outgoing(o.event_id, first["type"], first["topic"], bytes(first["key"]), bytes(first["value"]),
                    o.fingerprint, {})


async def publish(gw: Gateway, caller: Principal, message: Envelope, sent: BaseModel | None = None,
                  **record: Any) -> dict[str, Any]:
    """Publish a command or event on its contract topic; returns once the broker has it. An identical
    resend (same event id, same body, same organisation) is the same submission; a different one is 409."""
    [outgoing] = await _claim_ids(gw, caller, [Outgoing.of(caller, message, sent, **record)])
    if isinstance(outgoing, ApiError):
        raise outgoing
    try:
        await gw.runtime.broker.publish(outgoing.value, outgoing.topic, key=outgoing.key,
                                        headers={"content-type": "application/json", **current_headers()})
    except Exception as exc:  # noqa: BLE001 - any broker failure is a 503 to the caller
        log.warning("publish_failed", topic=outgoing.topic, error=type(exc).__name__)
        raise ApiError(503, "broker_unavailable", "the message could not be handed to the broker; send it again "
                       "(with the same event_id)") from exc
    return outgoing.answer()


async def publish_many(gw: Gateway, caller: Principal, items: list[Outgoing]) -> list[ApiError | None]:
    """Publish many messages at once (each on its own topic and key) and wait for every ack; returns,
    per item, None (published) or why it was refused (a conflicting event id: not published)."""
    if not items:
        return []
    outcome = await _claim_ids(gw, caller, items)
    pending = []
    published: set[str] = set()
    try:
        for outgoing in outcome:
            if isinstance(outgoing, ApiError) or outgoing.event_id in published:
                continue
            published.add(outgoing.event_id)
            result = await gw.runtime.broker.publish(outgoing.value, outgoing.topic, key=outgoing.key,
                                                     headers={"content-type": "application/json", **current_headers()}, no_confirm=True)
            if isinstance(result, asyncio.Future):
                pending.append(result)
        await asyncio.gather(*pending)
    except Exception as exc:  # noqa: BLE001
        log.warning("publish_failed", error=type(exc).__name__)
        raise ApiError(503, "broker_unavailable", "the batch could not be handed to the broker; send it again "
                       "(the same event ids make it safe)") from exc
    return [o if isinstance(o, ApiError) else None for o in outcome]


def loads_exact(raw: bytes) -> Any:
    """JSON with numbers read as exact decimals (never binary floats)."""
    try:
        return json.loads(raw, parse_float=Decimal)
    except RecursionError as exc:
        raise ApiError(400, "too_deeply_nested", "the JSON body nests arrays and objects too deeply") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "invalid_json", f"the body is not JSON: {exc}") from exc


def denied(exc: AccessDenied) -> ApiError:
    return ApiError(exc.status, exc.code, exc.message)
