"""Composition root of the gateway: the FastAPI app, its runtime (consumers into read models),
the webhook dispatcher, limits and error handling."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from contracts import topics
from libs.logs import get_logger
from libs.service import Runtime
from services.gateway import claim_views, handlers
from services.gateway.adapters import store
from services.gateway.adapters.dispatcher import Dispatcher, Resolver, resolve
from services.gateway.api import (
    asyncapi, certification, claims, credentials, epcis, membership, pages, producers, secretariat, upstream,
    webhooks,
)
from services.gateway.api import claim_page, claim_texts, footprints, plausibility, reconciliation, review, shadow
from services.gateway.api.deps import ApiError, Gateway, error_body
from services.gateway.api.openapi import document_status_codes
from services.gateway.config import Settings
from services.gateway.domain.access import AccessDenied
from services.gateway.frontdoor import FrontDoor
from services.gateway.membership import recording_standing
from services.gateway.signing_keys import learning_keys

log = get_logger("services.gateway")

DESCRIPTION = """The ASI platform's front door. Every `/v1` call needs an API key (`Authorization: Bearer
<key>` or `X-API-Key`); the key decides the organisation and role a message is sent for. Commands
and events are published on the platform's contract topics and answered with 202 and their event id;
what you read is built from those topics. Errors are `{"error": {"code": ..., "message": ...}}`.
The pages outside `/v1` are public and need no key."""


def build_runtime(settings: Settings, **overrides: Any) -> Runtime:
    runtime = Runtime.build(settings, **overrides)
    runtime.indexes(store.ensure_indexes)
    runtime.consume(topics.CERTIFICATES_EVENTS, learning_keys(recording_standing(handlers.handle_certificate_events)))
    runtime.consume(topics.CERTIFICATES_REJECTIONS, handlers.handle_certificate_rejections)
    runtime.consume(topics.LEDGER_EVENTS, learning_keys(handlers.handle_ledger_events))
    runtime.consume(topics.CLAIMS_REQUESTS, claim_views.handle_claim_requests)
    runtime.consume(topics.CLAIMS_DECISIONS, claim_views.handle_claim_decisions)
    runtime.consume(topics.INTAKE_REJECTIONS, handlers.handle_intake_rejections)
    runtime.consume(topics.MATERIAL_MOVEMENTS, handlers.handle_movements)
    for topic in (topics.PLANT_EVENTS, topics.CLAIMS_REQUESTS, topics.AUDITS_OUTCOMES, topics.CERTIFICATES_COMMANDS,
                  topics.LEDGER_COMMANDS):
        runtime.publishes(topic, f"Published by the gateway for its callers: {topic.description}")
    return runtime


def create_app(settings: Settings, *, runtime: Runtime | None = None,
               webhook_client: httpx.AsyncClient | None = None, webhook_resolver: Resolver = resolve,
               **overrides: Any) -> FastAPI:
    runtime = runtime or build_runtime(settings, **overrides)
    dispatcher = Dispatcher(runtime.db, runtime.clock, settings, webhook_client, webhook_resolver)

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

    # /docs and /redoc with their scripts served from the package (fastapi-offline), not a CDN: they work offline.
    app = FastAPIOffline(title="ASI platform gateway", version="1.0.0", description=DESCRIPTION, lifespan=lifespan)
    app.state.gateway = Gateway(settings, runtime)
    app.state.dispatcher = dispatcher
    _install_error_handlers(app)
    from services.gateway.api.observability import install as install_observability  # its own file: /metrics, spans

    install_observability(app, runtime)
    app.include_router(claim_page.router)  # before pages: its /c/{code} replaces the one there
    for module in (upstream, producers, epcis, credentials, claims, certification, webhooks, secretariat, membership,
                   pages, asyncapi):
        app.include_router(module.router)
    app.include_router(shadow.router)  # before review: its /review/{claim_id} would take /review/shadow
    app.include_router(review.router)
    app.include_router(plausibility.router)
    app.include_router(claim_texts.router)
    app.include_router(reconciliation.router)
    app.include_router(footprints.router)

    @app.get("/health", tags=["operations"], summary="Liveness")
    async def health() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/ready", tags=["operations"], summary="Readiness: the database answers and no message was "
             "dead-lettered lately (the count says how many ever were)",
             responses={503: {"description": "Not ready: the database does not answer, or messages were dead-lettered."}})
    async def ready() -> JSONResponse:
        state = await runtime.readiness()
        public = {k: state[k] for k in ("ready", "mongo", "dead_lettered", "dead_lettering")}
        return JSONResponse(public, status_code=200 if state["ready"] else 503)

    app.add_middleware(FrontDoor, settings=settings)  # type: ignore[arg-type]

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_status_codes(get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def _methods_of(request: Request) -> list[str]:
    """The methods the OpenAPI document lists for this request's path (a path written out wins over a
    template: it is the route that answers). FastAPI keeps included routers apart from `app.routes`, and the
    router's own 405 names only the first route of a path, so the document is the one complete list."""
    paths: dict[str, Any] = request.app.openapi().get("paths", {})
    path = request.url.path
    operations = paths.get(path)
    if operations is None:
        templated = [ops for template, ops in paths.items() if "{" in template and compile_path(template)[0].match(path)]
        operations = {m: None for ops in templated for m in ops}
    return sorted(m.upper() for m in operations if m.upper() in HTTP_METHODS)


HTTP_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})


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
        headers = exc.headers
        if exc.status_code == 405:  # the router names the first route of the path only; a path may have several
            headers = {**(headers or {}), "Allow": ", ".join(_methods_of(request))}
        return JSONResponse(error_body(code, message), status_code=exc.status_code, headers=headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled_error", path=request.url.path, error=repr(exc)[:500], exc_info=exc)
        return JSONResponse(error_body("internal_error", "something went wrong on our side; it was logged"), 500)
