"""W3C trace context across topics, with OpenTelemetry.

Every message the platform produces carries a Kafka header `traceparent`. A consumed batch gets one
span; each distinct trace among its messages gets a child span of the consumed message's context
(linked to the batch span), and what the handler emits in response to a message (same causation or
correlation id) carries that child span's `traceparent`, so one plant event can be followed through
every service. What is emitted for no traced message (ticks, messages that came without a header)
carries the batch or tick span's context, which starts a trace.

Spans are exported when a service sets `tracing_exporter` to `console` or `otlp`. With the default
`none` nothing leaves the process and no OpenTelemetry span is made on the consumers' hot path (an SDK
span costs a lock and tens of microseconds per distinct trace): the ids are still made and propagated
the same way (a new span id per batch, the consumed message's trace id kept), so a trace stays whole
through a service that does not export. The gateway always makes a span per HTTP request."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import Link, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

if TYPE_CHECKING:
    from contracts.common import Envelope
    from libs.messaging.records import Incoming

TRACEPARENT = "traceparent"
Exporter = Literal["none", "console", "otlp"]

_PROPAGATOR = TraceContextTextMapPropagator()
_provider: TracerProvider | None = None
_configured = False
_exporting = False
"""Spans go somewhere: the consumers make OpenTelemetry spans (else only ids, see the module's doc)."""


def provider() -> TracerProvider:
    global _provider  # noqa: PLW0603 - one tracer provider per process
    if _provider is None:
        _provider = TracerProvider(resource=Resource.create({"service.name": "asi-platform"}))
    return _provider


def tracer() -> trace.Tracer:
    return provider().get_tracer("asi.platform")


def configure(service: str, exporter: Exporter, otlp_endpoint: str | None = None) -> None:
    """Export this process's spans (first call wins: a process runs one service, except in tests)."""
    global _provider, _configured, _exporting  # noqa: PLW0603
    if _configured:
        return
    _configured = True
    if exporter == "none":
        return
    _exporting = True
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

    span_exporter: SpanExporter
    if exporter == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        span_exporter = OTLPSpanExporter(endpoint=otlp_endpoint) if otlp_endpoint else OTLPSpanExporter()
    else:
        span_exporter = ConsoleSpanExporter(service_name=service)
    if _provider is None:
        _provider = TracerProvider(resource=Resource.create({"service.name": service}))
    _provider.add_span_processor(BatchSpanProcessor(span_exporter))


def exporting() -> bool:
    return _exporting


def flush() -> None:
    if _provider is not None and _configured:
        _provider.force_flush(2000)


def traceparent(span: trace.Span) -> str:
    context = span.get_span_context()
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"


def from_headers(headers: Sequence[tuple[str, bytes]] | None) -> str | None:
    """The `traceparent` of a Kafka record's headers, if any."""
    if headers:
        for name, value in headers:
            if name == TRACEPARENT and value:
                return value.decode("ascii", errors="replace")
    return None


def current_headers() -> dict[str, str]:
    """{"traceparent": ...} of the current span (e.g. the HTTP request being served), or {}."""
    span = trace.get_current_span()
    return {TRACEPARENT: traceparent(span)} if span.get_span_context().is_valid else {}


class BatchTrace:
    """The spans of one consumed batch (or tick) and the `traceparent` of each message it emits.
    `lazy`: the batch span is started when a message first needs it (a tick that emits nothing
    makes no span)."""

    def __init__(self, service: str, name: str, incoming: Sequence[Incoming] = (), *, size: int | None = None,
                 lazy: bool = False) -> None:
        self._service, self._name = service, name
        self._size = len(incoming) if size is None else size
        self._spans: list[trace.Span] = []
        self._default: str | None = None
        self._by_event: dict[Any, str] = {}
        self._by_correlation: dict[Any, str] = {}
        if lazy and not incoming:
            return
        if not _exporting:
            self._ids_only(incoming)
            return
        batch = self._start()
        children: dict[str, str] = {}
        for item in incoming:
            parent = item.record.traceparent
            if parent is None:
                continue
            child = children.get(parent)
            if child is None:
                span = tracer().start_span(
                    name, context=_PROPAGATOR.extract({TRACEPARENT: parent}), kind=SpanKind.CONSUMER,
                    links=[Link(batch.get_span_context())], attributes={"asi.service": service})
                self._spans.append(span)
                child = children[parent] = traceparent(span)
            self._by_event[item.message.event_id] = child
            self._by_correlation.setdefault(item.message.correlation_id, child)

    def _ids_only(self, incoming: Sequence[Incoming]) -> None:
        """No exporter: the batch's span id, kept on the trace of each consumed message (no span made)."""
        span_id = f"{random.getrandbits(64) or 1:016x}"
        self._default = f"00-{random.getrandbits(128) or 1:032x}-{span_id}-01"
        children: dict[str, str] = {}
        for item in incoming:
            parent = item.record.traceparent
            if parent is None:
                continue
            child = children.get(parent)
            if child is None:
                child = children[parent] = _continued(parent, span_id) or self._default
            self._by_event[item.message.event_id] = child
            self._by_correlation.setdefault(item.message.correlation_id, child)

    def _start(self) -> trace.Span:
        span = tracer().start_span(self._name, kind=SpanKind.CONSUMER, attributes={
            "asi.service": self._service, "messaging.batch.message_count": self._size})
        self._spans.insert(0, span)
        self._default = traceparent(span)
        return span

    @property
    def default(self) -> str:
        """The batch span's `traceparent`: for what answers no traced message."""
        if self._default is None:
            if _exporting:
                self._start()
            else:
                self._ids_only(())
        assert self._default is not None
        return self._default

    def for_message(self, message: Envelope) -> str:
        if self._by_event:
            found = self._by_event.get(message.causation_id) or self._by_correlation.get(message.correlation_id)
            if found is not None:
                return found
        return self.default

    def end(self, error: BaseException | None = None) -> None:
        for span in self._spans:
            if error is not None:
                span.set_status(Status(StatusCode.ERROR, type(error).__name__))
            span.end()
        self._spans = []


_HEX = frozenset("0123456789abcdef")


def _well_formed(parts: list[str]) -> bool:
    """Version, trace id, parent id and flags: lower-case hex of 2, 32, 16 and 2 digits."""
    return tuple(len(part) for part in parts[:4]) == (2, 32, 16, 2) and _HEX.issuperset("".join(parts[:4]))


def _valid_traceparent(parts: list[str]) -> bool:
    """A traceparent's fields are valid: well formed, not version ff, no all-zero id, and version 00
    has exactly four fields (a later version may add some)."""
    return (_well_formed(parts) and parts[0] != "ff" and parts[1] != "0" * 32 and parts[2] != "0" * 16
            and not (parts[0] == "00" and len(parts) != 4))


def _continued(parent: str, span_id: str) -> str | None:
    """`parent`'s trace id and flags with `span_id`, or None if `parent` is not a valid version-00
    traceparent (then the message starts a new trace, as the W3C specification says)."""
    parts = parent.strip().split("-")
    if not _valid_traceparent(parts):
        return None
    return f"00-{parts[1]}-{span_id}-{parts[3]}"
