"""Operations of the gateway: `/metrics` (Prometheus) and, per HTTP request, a span that starts the
trace of what the request publishes (continuing the caller's `traceparent` header if it sends one)
and the request's count and latency by route and status."""

from __future__ import annotations

import time

from fastapi import APIRouter, FastAPI, Request, Response
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from libs import tracing
from libs.service import Runtime

REQUESTS = Counter("asi_http_requests", "HTTP requests served by the gateway, by route template, method and status.",
                   ["route", "method", "status"])
LATENCY = Histogram("asi_http_request_seconds", "Time to answer an HTTP request, by route template, method and status.",
                    ["route", "method", "status"],
                    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
UNMATCHED = "unmatched"
"""The route label of a request no route took (a 404): never the raw path, which is unbounded."""

_PROPAGATOR = TraceContextTextMapPropagator()


def install(app: FastAPI, runtime: Runtime) -> None:
    """Add `/metrics` and the per-request span and metrics to the gateway (outermost middleware:
    what the rate limit answers is counted too)."""
    router = APIRouter()

    @router.get("/metrics", include_in_schema=False)
    async def prometheus_metrics(request: Request) -> Response:
        body, content_type = await runtime.metrics()
        return Response(body, media_type=content_type)

    app.include_router(router)
    app.add_middleware(RequestTelemetry)  # type: ignore[arg-type]


class RequestTelemetry:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        method = scope.get("method", "GET")
        carrier = {}
        for name, value in scope.get("headers", ()):
            if name in (b"traceparent", b"tracestate"):
                carrier[name.decode()] = value.decode("latin-1")
        span = tracing.tracer().start_span(f"HTTP {method}", context=_PROPAGATOR.extract(carrier) if carrier else None,
                                           kind=SpanKind.SERVER, attributes={"http.request.method": method})
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            with trace.use_span(span, end_on_exit=False):
                await self.app(scope, receive, send_status)
        finally:
            route = getattr(scope.get("route"), "path", None) or UNMATCHED
            span.update_name(f"HTTP {method} {route}")
            span.set_attribute("http.route", route)
            span.set_attribute("http.response.status_code", status)
            if status >= 500:
                span.set_status(Status(StatusCode.ERROR))
            span.end()
            labels = (route, method, str(status))
            REQUESTS.labels(*labels).inc()
            LATENCY.labels(*labels).observe(time.perf_counter() - started)

