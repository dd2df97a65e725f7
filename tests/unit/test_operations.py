"""The delivery runtime's metrics move with the outcomes of a batch, and the `traceparent` of a consumed
message goes on what its handler emits (a consumer on an in-memory database; no broker)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from structlog.testing import capture_logs

from contracts.common import Actor, Reason, Role
from contracts.deadletter import DeadLetterReason
from contracts.intake import PlantEventRejected
from contracts.topics import topic_for
from libs.clock import ManualClock
from libs.messaging import Consumer, Outbox, Outgoing, Record
from libs.tracing import current_headers
from tests.integration.test_delivery import register
from tests.support import NOW

INTAKE = Actor(organisation_id="intake", role=Role.SERVICE)
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


class Collection:
    def __init__(self) -> None:
        self.docs: list[dict[str, Any]] = []

    async def insert_many(self, docs: list[dict[str, Any]], **_: Any) -> None:
        self.docs.extend(docs)

    async def insert_one(self, doc: dict[str, Any], **_: Any) -> None:
        self.docs.append(dict(doc))

    async def delete_many(self, *_: Any, **__: Any) -> None:
        return None


class Session:
    @contextlib.asynccontextmanager
    async def _transaction(self):  # noqa: ANN202
        yield

    async def start_transaction(self):  # noqa: ANN201
        return self._transaction()


class Client:
    @contextlib.asynccontextmanager
    async def start_session(self):  # noqa: ANN201
        yield Session()


class Database:
    def __init__(self) -> None:
        self.client = Client()
        self.collections: dict[str, Collection] = {}

    def __getitem__(self, name: str) -> Collection:
        return self.collections.setdefault(name, Collection())


class Publisher:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, bytes, str | None]] = []

    async def publish_many(self, items):  # noqa: ANN001
        self.sent.extend(items)


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def refusal(message, code: str = "site_not_certified") -> Outgoing:  # noqa: ANN001
    return Outgoing(PlantEventRejected.create(
        actor=INTAKE, occurred_at=NOW, cause=message, site_id="site-1", rejected_event_id=message.event_id,
        rejected_event_type=message.type, reasons=[Reason(code=code, message="no"), Reason(code="other", message="no")],
        message="refused"))


async def consume(service: str, records: list[Record], handler) -> Publisher:  # noqa: ANN001
    db, publisher = Database(), Publisher()
    outbox = Outbox(db, publisher, "instance", service=service)  # type: ignore[arg-type]
    topic = topic_for(register("org"))
    consumer = Consumer(service=service, topic=topic, db=db, outbox=outbox, handler=handler,  # type: ignore[arg-type]
                        clock=ManualClock(NOW))
    try:
        await consumer.process(records)
        await asyncio.wait_for(outbox.drain(), 5)
    finally:
        await outbox.close()
    return publisher


def record(value: bytes, offset: int = 0, headers: tuple[tuple[str, bytes], ...] = ()) -> Record:
    topic = topic_for(register("org"))
    return Record(topic.name, 0, offset, b"org", value, headers)


async def test_a_dead_letter_counts_with_its_reason_code_and_the_batch_is_measured():
    service = f"svc-{uuid.uuid4().hex[:6]}"
    topic = topic_for(register("org")).name

    async def handler(items, tx):  # noqa: ANN001, ANN202
        return []

    good = register("org")
    await consume(service, [record(b"not json", 0), record(topic_for(good).encode(good), 1)], handler)

    assert sample("asi_dead_letters_total", service=service, topic=topic, reason_code=DeadLetterReason.NOT_JSON) == 1
    assert sample("asi_messages_total", service=service, topic=topic, outcome="dead_lettered",
                  reason_code=DeadLetterReason.NOT_JSON) == 1
    assert sample("asi_messages_total", service=service, topic=topic, outcome="handled", reason_code="") == 1
    assert sample("asi_batch_size_count", service=service, topic=topic) == 1
    assert sample("asi_batch_size_sum", service=service, topic=topic) == 2
    assert sample("asi_batch_seconds_count", service=service, topic=topic) == 1
    assert sample("asi_decisions_total", service=service, topic=f"{topic}.dlq", type="dead_letter") == 1


async def test_a_rejection_counts_as_rejected_with_its_first_reason_and_every_reason_is_counted():
    service = f"svc-{uuid.uuid4().hex[:6]}"
    topic = topic_for(register("org")).name
    refused, accepted = register("org-a"), register("org-b")

    async def handler(items, tx):  # noqa: ANN001, ANN202
        return [refusal(i.message) for i in items if i.message.event_id == refused.event_id]

    await consume(service, [record(topic_for(m).encode(m), n) for n, m in enumerate((refused, accepted))], handler)

    assert sample("asi_messages_total", service=service, topic=topic, outcome="rejected",
                  reason_code="site_not_certified") == 1
    assert sample("asi_messages_total", service=service, topic=topic, outcome="handled", reason_code="") == 1
    assert sample("asi_rejection_reasons_total", service=service, type="plant_event_rejected",
                  reason_code="site_not_certified") == 1
    assert sample("asi_rejection_reasons_total", service=service, type="plant_event_rejected", reason_code="other") == 1
    assert sample("asi_decisions_total", service=service, topic="intake.rejections.v1", type="plant_event_rejected") == 1
    assert sample("asi_dead_letters_total", service=service, topic=topic, reason_code=DeadLetterReason.NOT_JSON) == 0


async def test_a_message_its_handler_cannot_take_is_dead_lettered_and_counted_as_a_handler_error():
    service = f"svc-{uuid.uuid4().hex[:6]}"
    topic = topic_for(register("org")).name
    poison, fine = register("org-a"), register("org-b")

    async def handler(items, tx):  # noqa: ANN001, ANN202
        if any(i.message.event_id == poison.event_id for i in items):
            raise ValueError("cannot take it")
        return []

    with capture_logs():  # no traceback rendering: the log of a failed handler is not what is tested here
        await consume(service, [record(topic_for(m).encode(m), n) for n, m in enumerate((poison, fine))], handler)

    code = DeadLetterReason.HANDLER_ERROR
    assert sample("asi_dead_letters_total", service=service, topic=topic, reason_code=code) == 1
    assert sample("asi_messages_total", service=service, topic=topic, outcome="dead_lettered", reason_code=code) == 1
    assert sample("asi_messages_total", service=service, topic=topic, outcome="handled", reason_code="") == 1


async def test_what_a_handler_emits_for_a_traced_message_continues_its_trace_and_the_rest_starts_one():
    service = f"svc-{uuid.uuid4().hex[:6]}"
    traced, untraced = register("org-a"), register("org-b")

    async def handler(items, tx):  # noqa: ANN001, ANN202
        return [refusal(i.message) for i in items]

    publisher = await consume(service, [
        record(topic_for(traced).encode(traced), 0, (("traceparent", TRACEPARENT.encode()),)),
        record(topic_for(untraced).encode(untraced), 1),
        record(b"not json", 2, (("traceparent", TRACEPARENT.encode()),)),
    ], handler)

    by_value = {value: trace for _, _, value, trace in publisher.sent}
    assert len(by_value) == 3 and all(by_value.values()), "every produced message carries a traceparent"
    answer_to_traced = next(t for v, t in by_value.items() if str(traced.event_id).encode() in v)
    answer_to_untraced = next(t for v, t in by_value.items() if str(untraced.event_id).encode() in v)
    dead_letter = next(t for v, t in by_value.items() if b"dead_letter" in v)
    assert answer_to_traced.split("-")[1] == TRACE_ID
    assert answer_to_traced.split("-")[2] != TRACEPARENT.split("-")[2], "a span of the consumer, not the producer's"
    assert answer_to_untraced.split("-")[1] != TRACE_ID
    assert dead_letter.split("-")[1] == TRACE_ID


def test_the_gateway_counts_requests_by_route_template_and_status_and_continues_the_callers_trace():
    from services.gateway.api import observability

    class Runtime:
        async def metrics(self) -> tuple[bytes, str]:
            from libs.metrics import exposition

            return exposition()

    app = FastAPI()

    @app.get("/things/{thing_id}")
    async def thing(thing_id: str) -> dict[str, str]:
        return current_headers()

    observability.install(app, Runtime())  # type: ignore[arg-type]
    route = "/things/{thing_id}"
    before = sample("asi_http_requests_total", route=route, method="GET", status="200")
    unmatched = sample("asi_http_requests_total", route="unmatched", method="GET", status="404")
    with TestClient(app) as client:
        answer = client.get(f"/things/{uuid.uuid4()}", headers={"traceparent": TRACEPARENT})
        assert client.get("/nowhere").status_code == 404
        scraped = client.get("/metrics")

    assert answer.json()["traceparent"].split("-")[1] == TRACE_ID
    assert sample("asi_http_requests_total", route=route, method="GET", status="200") == before + 1
    assert sample("asi_http_requests_total", route="unmatched", method="GET", status="404") == unmatched + 1
    assert sample("asi_http_request_seconds_count", route=route, method="GET", status="200") >= 1
    assert scraped.headers["content-type"].startswith("text/plain")
    assert 'asi_http_requests_total{method="GET",route="/things/{thing_id}",status="200"}' in scraped.text


def test_tracing_exports_nothing_unless_set_and_one_variable_sets_it_for_every_service(monkeypatch):
    from services.claims.config import Settings as ClaimsSettings
    from services.intake.config import Settings as IntakeSettings

    assert IntakeSettings().tracing_exporter == "none"
    monkeypatch.setenv("TRACING_EXPORTER", "otlp")
    monkeypatch.setenv("CLAIMS_TRACING_EXPORTER", "console")
    assert IntakeSettings().tracing_exporter == "otlp"
    assert ClaimsSettings().tracing_exporter == "console"


async def test_the_consumer_lag_is_the_high_watermark_minus_the_next_offset_to_handle():
    from aiokafka import TopicPartition

    from libs.metrics import LAG
    from libs.service import Runtime
    from services.intake.config import Settings as IntakeSettings

    class Consumer:
        def assignment(self) -> set[TopicPartition]:
            return {TopicPartition("t", 0), TopicPartition("t", 1), TopicPartition("t", 2)}

        def highwater(self, tp: TopicPartition) -> int | None:
            return {0: 10, 1: 8}.get(tp.partition)  # partition 2: never fetched yet

        async def position(self, tp: TopicPartition) -> int:
            return 5

    class Subscriber:
        consumer = Consumer()

    runtime = Runtime.build(IntakeSettings(service_name=f"svc-{uuid.uuid4().hex[:6]}"))
    runtime._subscriber = Subscriber()
    runtime._handled[("t", 0)] = 4  # handled up to offset 4: 5..9 are still to do
    LAG.register(runtime.instance_id, runtime.settings.service_name, lambda: runtime._lag)
    service = runtime.settings.service_name
    try:
        await runtime.refresh_lag()
        assert sample("asi_consumer_lag", service=service, topic="t", partition="0") == 5
        assert sample("asi_consumer_lag", service=service, topic="t", partition="1") == 3
        assert REGISTRY.get_sample_value("asi_consumer_lag", {"service": service, "topic": "t", "partition": "2"}) is None
    finally:
        LAG.unregister(runtime.instance_id)
        await runtime.client.close()


async def test_with_an_exporter_the_handler_span_is_a_child_of_the_consumed_messages_span(monkeypatch):
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from libs import tracing

    exporter = InMemorySpanExporter()
    tracing.provider().add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(tracing, "_exporting", True)
    service = f"svc-{uuid.uuid4().hex[:6]}"
    traced = register("org-a")

    async def handler(items, tx):  # noqa: ANN001, ANN202
        return [refusal(i.message) for i in items]

    try:
        publisher = await consume(service, [
            record(topic_for(traced).encode(traced), 0, (("traceparent", TRACEPARENT.encode()),))], handler)
        spans = [s for s in exporter.get_finished_spans() if s.attributes.get("asi.service") == service]
    finally:
        exporter.shutdown()
    [(_, _, _, sent)] = publisher.sent
    [handling] = [s for s in spans if s.parent is not None and s.context.trace_id == int(TRACE_ID, 16)]
    assert handling.parent.span_id == int(TRACEPARENT.split("-")[2], 16)
    assert sent == f"00-{TRACE_ID}-{handling.context.span_id:016x}-01"
    assert len(spans) == 2, "the batch span and one span for the one trace in the batch"


@pytest.mark.parametrize("parent", ["", "00-abc-def-01", f"00-{'0' * 32}-00f067aa0ba902b7-01",
                                    f"ff-{TRACE_ID}-00f067aa0ba902b7-01", f"00-{TRACE_ID.upper()}-00f067aa0ba902b7-01"])
def test_a_malformed_traceparent_starts_a_new_trace(parent: str):
    from libs.tracing import _continued

    assert _continued(parent, "1" * 16) is None
    assert _continued(TRACEPARENT, "1" * 16) == f"00-{TRACE_ID}-{'1' * 16}-01"
