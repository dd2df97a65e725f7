"""The gateway's front door, one ASGI middleware in front of every route:

1. who is calling: the API key is checked here, once per request (the endpoints read the result);
2. the rate limit, per authenticated organisation, or per client address for a request without a
   valid key (a junk key is no key: it cannot open a fresh bucket);
3. the body: read in full up to `max_request_bytes` (413 beyond, chunked or not) and, unless it is a
   form, refused with 400 `too_deeply_nested` when its JSON nests deeper than `max_json_depth`, all
   before any parser sees it;
4. what every answer carries: security headers (CSP, nosniff, frame-ancestors, Referrer-Policy),
   `Cache-Control: no-store` on the API, and redirects without the caller's Host header.
"""

from __future__ import annotations

import json
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.gateway.api.deps import ApiError, Gateway, authenticate, error_body
from services.gateway.config import Settings
from services.gateway.domain.limits import nesting_depth_exceeds
from services.gateway.domain.ratelimit import RateLimiter

PAGE_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; "
            "frame-ancestors 'none'; base-uri 'none'")
# /docs and /redoc: every asset is served by the gateway (fastapi-offline); Swagger UI starts from an
# inline script and ReDoc renders in a blob: worker, so those two allowances stay, and no outside host.
DOCS_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; worker-src 'self' blob:; frame-ancestors 'none'; base-uri 'none'; "
            "form-action 'self'")
DOCS_PATHS = ("/docs", "/redoc")
SECURITY_HEADERS = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"),
                    (b"x-frame-options", b"DENY")]
FORMS = (b"application/x-www-form-urlencoded", b"multipart/form-data")


class FrontDoor:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.max_bytes = settings.max_request_bytes
        self.limiter = RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst)
        self.exempt = frozenset(settings.rate_limit_exempt_organisations)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send = self._dressed(scope, send)
        headers = {k.decode("latin-1").lower(): v for k, v in scope.get("headers", [])}
        try:
            body = await self._admitted(scope, headers, receive)
        except ApiError as exc:
            await reply(send, exc.status, exc.code, exc.message, exc.headers if isinstance(exc, _Refused) else None)
            return
        await self.app(scope, receive if body is None else _replay(body, receive), send)

    async def _admitted(self, scope: Scope, headers: dict[str, bytes], receive: Receive) -> bytes | None:
        """The request's body (None when it announces none) once it passed the front door's checks,
        in order: the key (`scope["state"]["caller"]`), the rate limit, the body's size, the JSON's
        nesting; else the ApiError to answer."""
        caller = await self._caller(scope, headers)
        self._take_rate(scope, caller)
        body = await self._body(headers, receive)
        content_type = headers.get("content-type", b"").lower()
        if body and not content_type.startswith(FORMS) and nesting_depth_exceeds(body, self.settings.max_json_depth):
            raise ApiError(400, "too_deeply_nested",
                           f"the JSON body nests arrays and objects deeper than {self.settings.max_json_depth} levels")
        return body

    async def _caller(self, scope: Scope, headers: dict[str, bytes]) -> Any:
        """Who the key names (a Principal, an ApiError for a bad key, None without one), kept on the scope."""
        gw: Gateway = scope["app"].state.gateway
        try:
            caller = await authenticate(gw, _token(headers))
        except Exception as exc:  # noqa: BLE001 - the key store does not answer: nothing can be checked
            raise ApiError(503, "unavailable", "the gateway cannot check keys right now; try again") from exc
        scope.setdefault("state", {})["caller"] = caller
        return caller

    def _take_rate(self, scope: Scope, caller: Any) -> None:
        """One request from the caller's organisation (by client address without a valid key), unless
        the organisation is exempt; too many: 429 with when to retry."""
        organisation = None if isinstance(caller, ApiError) or caller is None else caller.organisation_id
        if organisation is not None and organisation in self.exempt:
            return
        client = scope.get("client") or ("?", 0)
        bucket = f"org:{organisation}" if organisation else f"ip:{client[0]}"
        wait = self.limiter.take(bucket, time.monotonic())
        if wait > 0:
            raise _Refused(429, "rate_limited", "too many requests; slow down", {"retry-after": str(int(wait) + 1)})

    async def _body(self, headers: dict[str, bytes], receive: Receive) -> bytes | None:
        """The whole body (None when the request announces none), bounded by `max_request_bytes`."""
        length = headers.get("content-length")
        if length is not None:
            try:
                announced = int(length)
            except ValueError as exc:
                raise ApiError(400, "bad_request", "invalid Content-Length") from exc
            if announced > self.max_bytes:
                raise ApiError(413, "request_too_large", f"the body is larger than {self.max_bytes} bytes")
        elif b"chunked" not in headers.get("transfer-encoding", b"").lower():
            return None
        chunks, received = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > self.max_bytes:
                raise ApiError(413, "request_too_large", f"the body is larger than {self.max_bytes} bytes")
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    def _dressed(self, scope: Scope, send: Send) -> Send:
        path: str = scope.get("path", "")
        csp = DOCS_CSP if path.startswith(DOCS_PATHS) else PAGE_CSP
        api = path.startswith(("/v1/", "/epcis/"))

        async def dressed(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in SECURITY_HEADERS if k not in present]
                if b"content-security-policy" not in present:
                    extra.append((b"content-security-policy", csp.encode()))
                if api and b"cache-control" not in present:
                    extra.append((b"cache-control", b"no-store"))
                headers = [(k, _relative(v) if k.lower() == b"location" else v) for k, v in message.get("headers", [])]
                message = {**message, "headers": headers + extra}
            await send(message)

        return dressed


class _Refused(ApiError):
    """A refusal answered with headers of its own (`retry-after`)."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str]) -> None:
        super().__init__(status, code, message)
        self.headers = headers


def _token(headers: dict[str, bytes]) -> str | None:
    authorization = headers.get("authorization", b"").decode("latin-1").strip()
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    api_key = headers.get("x-api-key", b"").decode("latin-1").strip()
    return api_key or None


def _relative(location: bytes) -> bytes:
    """A redirect never names a host taken from the request: `http://<Host>/x/` becomes `/x/`."""
    text = location.decode("latin-1")
    if "://" in text.split("?", 1)[0]:
        rest = text.split("://", 1)[1]
        path = rest[rest.find("/"):] if "/" in rest else "/"
        return ("/" + path.lstrip("/")).encode("latin-1")
    if text.startswith("//"):
        return ("/" + text.lstrip("/")).encode("latin-1")
    return location


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


async def reply(send: Send, status: int, code: str, message: str, extra: dict[str, str] | None = None) -> None:
    body = json.dumps(error_body(code, message)).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.encode(), v.encode()) for k, v in (extra or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


