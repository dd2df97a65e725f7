"""Test helpers shared by every test layer: record topics, send messages, run a service in-process."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib
import json
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from contracts.common import Actor, Envelope, Role
from contracts.topics import BY_NAME, Topic, dead_letter_topic, topic_for
from libs.service import Runtime
from libs.settings import ServiceSettings
from libs.kafka import refresh_metadata

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def actor(org: str, role: Role = Role.PRODUCER) -> Actor:
    return Actor(organisation_id=org, role=role)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


class Recorded:
    def __init__(self, topic: str, key: str | None, raw: bytes, message: Any,
                 headers: Iterable[tuple[str, bytes]] = ()) -> None:
        self.topic, self.key, self.raw, self.message = topic, key, raw, message
        self.headers = dict(headers)

    def __repr__(self) -> str:
        return f"Recorded({self.topic}, {type(self.message).__name__})"


class TopicRecorder:
    """Reads topics from their beginning (no consumer group) and keeps every message, parsed."""

    def __init__(self, bootstrap: str, topic_names: Iterable[str]) -> None:
        self.bootstrap = bootstrap
        self.topic_names = list(topic_names)
        self.records: list[Recorded] = []
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()

    async def start(self) -> TopicRecorder:
        self._consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False,
                                          auto_offset_reset="earliest", fetch_max_wait_ms=20)
        await self._consumer.start()
        partitions = []
        for name in self.topic_names:
            for p in self._consumer.partitions_for_topic(name) or await self._partitions(name):
                partitions.append(TopicPartition(name, p))
        self._consumer.assign(partitions)
        await self._consumer.seek_to_beginning(*partitions)
        self._task = asyncio.create_task(self._run())
        return self

    async def _partitions(self, name: str) -> set[int]:
        assert self._consumer is not None
        await refresh_metadata(self._consumer)
        return self._consumer.partitions_for_topic(name) or set()

    async def _run(self) -> None:
        assert self._consumer is not None
        while True:
            batch = await self._consumer.getmany(timeout_ms=100, max_records=1000)
            for tp, records in batch.items():
                for r in records:
                    self.records.append(Recorded(tp.topic, r.key.decode() if r.key else None, r.value,
                                                 _parse(tp.topic, r.value), r.headers or ()))
            if batch:
                self._changed.set()

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self._consumer:
            await self._consumer.stop()

    def messages(self, topic: str | None = None, kind: type | tuple[type, ...] | None = None,
                 where: Callable[[Any], bool] | None = None) -> list[Any]:
        return [
            r.message for r in self.records
            if (topic is None or r.topic == topic)
            and (kind is None or isinstance(r.message, kind))
            and (where is None or where(r.message))
        ]

    async def wait_for(self, kind: type | tuple[type, ...] | None = None, where: Callable[[Any], bool] | None = None,
                       *, topic: str | None = None, count: int = 1, timeout: float = 30.0) -> list[Any]:
        """Wait until at least `count` matching messages were recorded (an event, not a sleep)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            found = self.messages(topic, kind, where)
            if len(found) >= count:
                return found
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(
                    f"timed out waiting for {count} x {kind} on {topic}; have {len(found)}; "
                    f"recorded: {[r for r in self.records[-20:]]}"
                )
            self._changed.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.5))

    async def settle(self, quiet_s: float = 1.0, timeout: float = 30.0) -> None:
        """Wait until nothing new arrives for `quiet_s` (used before asserting that nothing more comes)."""
        deadline = asyncio.get_running_loop().time() + timeout
        seen = -1
        while asyncio.get_running_loop().time() < deadline:
            if len(self.records) == seen:
                return
            seen = len(self.records)
            await asyncio.sleep(quiet_s)


def _parse(topic: str, raw: bytes | None) -> Any:
    spec: Topic | None = BY_NAME.get(topic)
    if spec is None and topic.endswith(".dlq"):
        spec = dead_letter_topic(BY_NAME[topic[:-4]])
    if spec is None:
        return raw
    try:
        return spec.parse(raw or b"")
    except Exception:  # noqa: BLE001 - malformed input tests put garbage on topics on purpose
        try:
            return json.loads(raw or b"")
        except Exception:  # noqa: BLE001
            return raw


class Sender:
    """Publishes contract messages (or raw bytes) the way a client of the platform would."""

    def __init__(self, bootstrap: str) -> None:
        self.producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False, acks="all")

    async def start(self) -> Sender:
        await self.producer.start()
        return self

    async def stop(self) -> None:
        await self.producer.stop()

    async def send(self, message: Envelope, *, key: str | None = None) -> None:
        topic = topic_for(message)
        await self.producer.send_and_wait(topic.name, topic.encode(message), key=(key or topic.key_of(message)).encode())

    async def send_raw(self, topic: str, value: bytes, key: str = "k") -> None:
        await self.producer.send_and_wait(topic, value, key=key.encode())


@contextlib.asynccontextmanager
async def running(build_runtime: Callable[..., Runtime], settings: ServiceSettings, **overrides: Any) -> AsyncIterator[Runtime]:
    """Run a service in this process against a real broker and database."""
    runtime = build_runtime(settings, **overrides)
    await runtime.prepare()
    await runtime.broker.start()
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.stop()
        await runtime.broker.stop()
        await runtime.close()


def service_settings(settings_cls: type[ServiceSettings], endpoints: Any, **values: Any) -> ServiceSettings:
    """Settings for one test: its own database and consumer group, so tests never share state."""
    suffix = uuid.uuid4().hex[:8]
    base = {
        "kafka_bootstrap_servers": endpoints.kafka_bootstrap,
        "mongodb_uri": endpoints.mongodb_uri,
        "kafka_idempotent_producer": getattr(endpoints, "idempotent_producer", False),
        "database": f"test_{suffix}",
        "consumer_group": f"test-{suffix}",
        "batch_timeout_ms": 10,
        "kafka_session_timeout_ms": 2000,
        "kafka_heartbeat_interval_ms": 300,
        "kafka_fetch_max_wait_ms": 20,
        "relay_orphan_after_s": 1.0,
        "relay_interval_s": 0.2,
        "tick_interval_s": 0.2,
    }
    base.update(values)
    return settings_cls(**base)


@functools.cache
def consumed_topics(service: str) -> tuple[str, ...]:
    """The topics a service reads (all in its one consumer group), as its own runtime declares them."""
    app = importlib.import_module(f"services.{service}.app")
    config = importlib.import_module(f"services.{service}.config")
    runtime = app.build_runtime(config.Settings())
    return tuple(consumer.topic.name for consumer in runtime.consumers)


@contextlib.asynccontextmanager
async def scratch_database(mongodb_uri: str, app_name: str) -> AsyncIterator[Any]:
    """A database of its own for one test, dropped afterwards (the store suites on MongoDB)."""
    from libs.mongo import database, mongo_client

    client = mongo_client(mongodb_uri, app_name)
    db = database(client, f"test_{uuid.uuid4().hex[:8]}")
    try:
        yield db
    finally:
        await client.drop_database(db.name)
        await client.close()


@contextlib.asynccontextmanager
async def transaction(db: Any, now: Any) -> AsyncIterator[Any]:
    """A `Tx` inside one MongoDB transaction, committed when the block ends."""
    from libs.messaging import Tx

    async with db.client.start_session() as session:
        async with await session.start_transaction():
            yield Tx(db, session, now)
