"""Prometheus metrics of the delivery runtime (every service gets them without code of its own).

Counted once per batch, not per message: a batch's outcomes are tallied in a local dict and each
distinct label set is incremented once. Label children are looked up once per consumer and kept.
Consumer lag is not counted at all on the hot path: it is read from the Kafka consumer when
`/metrics` is scraped (see `LagCollector`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

HANDLED, REJECTED, DUPLICATE, SKIPPED, DEAD_LETTERED = (
    "handled",
    "rejected",
    "duplicate",
    "skipped",
    "dead_lettered",
)

BATCH_SIZE_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000)

BATCH_SIZE = Histogram(
    "asi_batch_size",
    "Records per consumed batch (per topic).",
    ["service", "topic"],
    buckets=BATCH_SIZE_BUCKETS,
)
BATCH_SECONDS = Histogram(
    "asi_batch_seconds",
    "Time to handle a batch: parse, transaction(s), hand-over to the outbox publisher.",
    ["service", "topic"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
MESSAGES = Counter(
    "asi_messages",
    "Consumed messages by outcome (handled, rejected, duplicate, skipped, dead_lettered) and "
    "reason code (rejected: the first reason of the rejection the handler emitted; dead_lettered: the dead "
    "letter's reason code; otherwise empty).",
    ["service", "topic", "outcome", "reason_code"],
)
DEAD_LETTERS = Counter(
    "asi_dead_letters",
    "Messages sent to <topic>.dlq, by source topic and reason code.",
    ["service", "topic", "reason_code"],
)
DECISIONS = Counter(
    "asi_decisions",
    "Messages committed to the outbox (published after commit), by topic and message type: "
    "movements accepted, designations, refusals, claim decisions, certificate changes, ...",
    ["service", "topic", "type"],
)
REJECTION_REASONS = Counter(
    "asi_rejection_reasons",
    "Every reason code of the rejections and refusals a service emitted (a message "
    "carrying `reasons`), by message type.",
    ["service", "type", "reason_code"],
)


class ConsumerMetrics:
    """The metrics of one consumer (service, topic): label children bound once, counted per batch."""

    def __init__(self, service: str, topic: str) -> None:
        self.service, self.topic = service, topic
        self._size = BATCH_SIZE.labels(service, topic)
        self._seconds = BATCH_SECONDS.labels(service, topic)
        self._messages: dict[tuple[str, str], Any] = {}
        self._dead: dict[str, Any] = {}

    def batch(
        self,
        size: int,
        seconds: float,
        outcomes: Mapping[tuple[str, str], int],
        dead_letters: Iterable[str] = (),
    ) -> None:
        """One batch: its size, its time, how many messages had each (outcome, reason code), and the
        reason code of each dead letter."""
        self._size.observe(size)
        self._seconds.observe(seconds)
        for key, count in outcomes.items():
            if count:
                child = self._messages.get(key)
                if child is None:
                    child = self._messages[key] = MESSAGES.labels(self.service, self.topic, *key)
                child.inc(count)
        for code in dead_letters:
            child = self._dead.get(code)
            if child is None:
                child = self._dead[code] = DEAD_LETTERS.labels(self.service, self.topic, code)
            child.inc()


_CARRIES_REASONS: dict[type, bool] = {}


class Tally:
    """What one outbox document holds, counted while the outbox encodes it (no second pass)."""

    __slots__ = ("dead", "reasons", "rejected", "types")

    def __init__(self) -> None:
        self.types: dict[tuple[str, str], int] = {}
        """(topic, message type) -> messages."""
        self.reasons: dict[tuple[str, str], int] = {}
        """(message type, reason code) -> every reason of the rejections and refusals emitted."""
        self.rejected: dict[str, int] = {}
        """First reason code -> rejections and refusals emitted (one per rejected message)."""
        self.dead: dict[str, int] = {}
        """Reason code -> dead letters."""

    def add(self, topic: str, message: Any) -> None:
        kind = message.type
        key = (topic, kind)
        self.types[key] = self.types.get(key, 0) + 1
        cls = type(message)
        carries = _CARRIES_REASONS.get(cls)
        if (
            carries is None
        ):  # asked once per message class (getattr of a missing pydantic field is slow)
            carries = _CARRIES_REASONS[cls] = "reasons" in getattr(cls, "model_fields", {})
        reasons = message.reasons if carries else None
        if reasons:
            first = reasons[0].code
            self.rejected[first] = self.rejected.get(first, 0) + 1
            for reason in reasons:
                key = (kind, reason.code)
                self.reasons[key] = self.reasons.get(key, 0) + 1
        elif kind == "dead_letter":
            code = message.reason_code
            self.dead[code] = self.dead.get(code, 0) + 1


_decisions: dict[tuple[str, str, str], Any] = {}
_reasons: dict[tuple[str, str, str], Any] = {}


def count_committed(service: str, tallies: Iterable[Tally]) -> None:
    """What committed transactions handed to the outbox: messages by type, rejection reasons."""
    for tally in tallies:
        for (topic, kind), count in tally.types.items():
            key = (service, topic, kind)
            child = _decisions.get(key)
            if child is None:
                child = _decisions[key] = DECISIONS.labels(*key)
            child.inc(count)
        for (kind, code), count in tally.reasons.items():
            key = (service, kind, code)
            child = _reasons.get(key)
            if child is None:
                child = _reasons[key] = REJECTION_REASONS.labels(*key)
            child.inc(count)


Lag = Callable[[], Iterable[tuple[str, int, int]]]
"""(topic, partition, lag) of what a consumer is assigned, read when scraped."""


class LagCollector(Collector):
    """`asi_consumer_lag{service,topic,partition}`: the partition's high watermark (as the consumer last
    saw it in a fetch) minus the next offset the service has still to handle. Read at scrape time from
    each registered service's consumer, so it costs nothing per batch."""

    def __init__(self) -> None:
        self._sources: dict[str, tuple[str, Lag]] = {}

    def register(self, instance: str, service: str, lag: Lag) -> None:
        self._sources[instance] = (service, lag)

    def unregister(self, instance: str) -> None:
        self._sources.pop(instance, None)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "asi_consumer_lag",
            "Messages on a partition the service has not handled yet "
            "(high watermark minus the next offset to handle).",
            labels=["service", "topic", "partition"],
        )
        for service, lag in list(self._sources.values()):
            try:
                values = list(lag())
            except Exception:  # noqa: BLE001 - a consumer between assignments has no lag to tell
                continue
            for topic, partition, behind in values:
                family.add_metric([service, topic, str(partition)], behind)
        yield family


LAG = LagCollector()
REGISTRY.register(LAG)


def exposition(registry: CollectorRegistry = REGISTRY) -> tuple[bytes, str]:
    """The body and content type of a `/metrics` answer."""
    return generate_latest(registry), CONTENT_TYPE_LATEST
