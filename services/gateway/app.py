"""Composition root of the gateway: the FastAPI app, its runtime (consumers into read models),
the webhook dispatcher, limits and error handling."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from contracts import topics
from libs.logs import get_logger
from libs.service import Runtime
from services.gateway import handlers
from services.gateway.adapters import store
from services.gateway.adapters.dispatcher import Dispatcher
from services.gateway.api import certification, claims, pages, producers, secretariat, webhooks
from services.gateway.api.deps import ApiError, Gateway, error_body
from services.gateway.config import Settings
from services.gateway.domain.access import AccessDenied
from services.gateway.domain.ratelimit import RateLimiter

log = get_logger("services.gateway")

DESCRIPTION = """The ASI platform's front door. Every `/v1` call needs an API key (`Authorization: Bearer
<key>` or `X-API-Key`); the key decides the organisation and role a message is sent for. Commands
and events are published on the platform's contract topics and answered with 202 and their event id;
what you read is built from those topics. Errors are `{"error": {"code": ..., "message": ...}}`.
The pages outside `/v1` are public and need no key."""


def build_runtime(settings: Settings, **overrides: Any) -> Runtime:
    runtime = Runtime.build(settings, **overrides)
    runtime.indexes(store.ensure_indexes)
    runtime.consume(topics.CERTIFICATES_EVENTS, handlers.handle_certificate_events)
    runtime.consume(topics.CERTIFICATES_REJECTIONS, handlers.handle_certificate_rejections)
    runtime.consume(topics.LEDGER_EVENTS, handlers.handle_ledger_events)
    runtime.consume(topics.CLAIMS_REQUESTS, handlers.handle_claim_requests)
    runtime.consume(topics.CLAIMS_DECISIONS, handlers.handle_claim_decisions)
    runtime.consume(topics.INTAKE_REJECTIONS, handlers.handle_intake_rejections)
    runtime.consume(topics.MATERIAL_MOVEMENTS, handlers.handle_movements)
    for topic in (topics.PLANT_EVENTS, topics.CLAIMS_REQUESTS, topics.AUDITS_OUTCOMES, topics.CERTIFICATES_COMMANDS,
                  topics.LEDGER_COMMANDS):
        runtime.publishes(topic, f"Published by the gateway for its callers: {topic.description}")
    return runtime


def create_app(settings: Settings, *, runtime: Runtime | None = None,
               webhook_client: httpx.AsyncClient | None = None, **overrides: Any) -> FastAPI:
    runtime = runtime or build_runtime(settings, **overrides)
    dispatcher = Dispatcher(runtime.db, runtime.clock, settings, webhook_client)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.prepare()
        await runtime.broker.start()
        await runtime.start()
        dispatcher.start()
        log.info("gateway_started", port=settings.http_port)
        try:
            yield
        finally:
            await dispatcher.stop()
            await runtime.stop()
            await runtime.broker.stop()
            await runtime.close()

    app = FastAPI(title="ASI platform gateway", version="1.0.0", description=DESCRIPTION, lifespan=lifespan)
    app.state.gateway = Gateway(settings, runtime)
    app.state.dispatcher = dispatcher
    _install_error_handlers(app)
    from services.gateway.api.observability import install as install_observability  # its own file: /metrics, spans

    install_observability(app, runtime)
    for module in (producers, claims, certification, webhooks, secretariat, pages):
        app.include_router(module.router)

    @app.get("/health", tags=["operations"], summary="Liveness")
    async def health() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/ready", tags=["operations"], summary="Readiness: the database answers; consumer progress")
    async def ready() -> JSONResponse:
        state = await runtime.readiness()
        return JSONResponse(state, status_code=200 if state["ready"] else 503)

    app.add_middleware(Limits, settings=settings)  # type: ignore[arg-type]
    return app


def _install_error_handlers(app: FastAPI) -> None:
    codes = {400: "bad_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found",
             405: "method_not_allowed", 406: "not_acceptable", 409: "conflict", 413: "request_too_large",
             415: "unsupported_media_type", 429: "rate_limited"}

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(error_body(exc.code, exc.message, exc.details), status_code=exc.status)

    @app.exception_handler(AccessDenied)
    async def access_denied(request: Request, exc: AccessDenied) -> JSONResponse:
        return JSONResponse(error_body(exc.code, exc.message), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = [{"field": ".".join(str(p) for p in e.get("loc", ())), "code": e.get("type"), "message": str(e.get("msg"))}
                   for e in exc.errors()[:50]]
        return JSONResponse(error_body("invalid_request", "the request does not match the API schema", details), 422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = codes.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else code
        return JSONResponse(error_body(code, message), status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled_error", path=request.url.path, error=repr(exc)[:500], exc_info=exc)
        return JSONResponse(error_body("internal_error", "something went wrong on our side; it was logged"), 500)


class _TooLarge(Exception):
    pass


class Limits:
    """Rate limit per API key (per client address without one) and a cap on the request body."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.max_bytes = settings.max_request_bytes
        self.limiter = RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v for k, v in scope.get("headers", [])}
        credential = headers.get("authorization") or headers.get("x-api-key")
        client = scope.get("client") or ("?", 0)
        caller = "k:" + hashlib.sha256(credential).hexdigest()[:32] if credential else f"ip:{client[0]}"
        wait = self.limiter.take(caller, time.monotonic())
        if wait > 0:
            await _reply(send, 429, "rate_limited", "too many requests; slow down", {"retry-after": str(int(wait) + 1)})
            return
        try:
            if int(headers.get("content-length", b"0") or 0) > self.max_bytes:
                raise _TooLarge
        except ValueError:
            await _reply(send, 400, "bad_request", "invalid Content-Length")
            return
        except _TooLarge:
            await _reply(send, 413, "request_too_large", f"the body is larger than {self.max_bytes} bytes")
            return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _TooLarge
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except _TooLarge:
            if not started:
                await _reply(send, 413, "request_too_large", f"the body is larger than {self.max_bytes} bytes")


async def _reply(send: Send, status: int, code: str, message: str, extra: dict[str, str] | None = None) -> None:
    body = json.dumps(error_body(code, message)).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.encode(), v.encode()) for k, v in (extra or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
