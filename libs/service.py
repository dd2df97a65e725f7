"""The runtime every service is built on: one FastStream app, its broker, its own database, its
consumers with the shared delivery semantics, the outbox relay, clock-driven ticks and health."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from faststream import FastStream
from faststream.kafka import KafkaBroker, KafkaMessage
from faststream.middlewares import AckPolicy
from faststream.specification import AsyncAPI
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from contracts.common import Envelope
from contracts.topics import Topic, dead_letter_topic
from libs.clock import Clock, clock_from
from libs import metrics, tracing
from libs.cancellation import cancel_requested, reraise_if_cancelled
from libs.health import HealthServer
from libs.kafka import BrokerPublisher, make_broker
from libs.logs import get_logger
from libs.messaging import (
    BatchHandler,
    ConflictHandler,
    Consumer,
    Handover,
    Outbox,
    RawPublisher,
    Record,
    TickHandler,
    run_in_transaction,
)
from libs.mongo import database, mongo_client
from libs.settings import ServiceSettings

log = get_logger("libs.service")


@dataclass
class Tick:
    name: str
    work: TickHandler
    interval_s: float


@dataclass
class Runtime:
    """Wiring shared by the four services. A service's `create_app` declares what it consumes,
    publishes and does on the clock; the runtime does the delivery."""

    settings: ServiceSettings
    broker: KafkaBroker
    client: AsyncMongoClient[dict[str, Any]]
    db: AsyncDatabase[dict[str, Any]]
    clock: Clock
    publisher: RawPublisher
    instance_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    consumers: list[Consumer] = field(default_factory=list)
    ticks: list[Tick] = field(default_factory=list)
    index_setups: list[Callable[[AsyncDatabase[dict[str, Any]]], Awaitable[None]]] = field(default_factory=list)
    outbox: Outbox = field(init=False)
    handover: Handover = field(init=False)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _health: HealthServer | None = None
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)
    spec_broker: KafkaBroker = field(init=False)
    """Never connected: carries the per-topic subscriptions and publications the AsyncAPI document shows."""
    _subscribed: bool = False
    _subscriber: Any = None
    _handled: dict[tuple[str, int], int] = field(default_factory=dict)
    """(topic, partition) -> the last offset this instance handled (for the consumer lag)."""
    _lag: list[tuple[str, int, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.outbox = Outbox(self.db, self.publisher, self.instance_id, service=self.settings.service_name)
        self.handover = Handover(self.outbox, timeout_s=min(self.settings.handover_timeout_s,
                                                            self.settings.kafka_session_timeout_ms / 2000))
        self.spec_broker = KafkaBroker(self.settings.kafka_bootstrap_servers)

    @classmethod
    def build(
        cls,
        settings: ServiceSettings,
        *,
        broker: KafkaBroker | None = None,
        clock: Clock | None = None,
        client: AsyncMongoClient[dict[str, Any]] | None = None,
    ) -> Runtime:
        broker = broker or make_broker(settings.kafka_bootstrap_servers, settings.service_name,
                                       idempotent=settings.kafka_idempotent_producer)
        client = client or mongo_client(settings.mongodb_uri, settings.service_name)
        return cls(
            settings=settings,
            broker=broker,
            client=client,
            db=database(client, settings.database),
            clock=clock or clock_from(settings.clock_start),
            publisher=BrokerPublisher(broker),
        )

    def consume(
        self,
        topic: Topic,
        handler: BatchHandler,
        *,
        on_conflict: ConflictHandler | None = None,
        description: str = "",
        only: Iterable[type[Envelope]] | None = None,
        inbox_while_computing: bool = False,
    ) -> Consumer:
        """Consume `topic` in this service's consumer group with batch, at-least-once delivery (all
        of a service's topics are read by one Kafka consumer; a mixed batch is handled topic by topic
        in the order they were declared). `only`: the message types the handler takes; the topic's
        others are acknowledged unparsed. `inbox_while_computing`: the handler writes nothing before
        its `tx.computing()` block, so the batch's inbox records are written while it computes."""
        consumer = Consumer(
            service=self.settings.service_name,
            topic=topic,
            db=self.db,
            outbox=self.outbox,
            handler=handler,
            clock=self.clock,
            on_conflict=on_conflict,
            wanted=frozenset(kind.TYPE for kind in only) if only is not None else None,
            inbox_while_computing=inbox_while_computing,
        )
        self.consumers.append(consumer)
        self._documented(topic, description)
        self.publishes(dead_letter_topic(topic))
        return consumer

    def _documented(self, topic: Topic, description: str) -> None:
        """What the AsyncAPI document shows: one subscription per topic (the runtime reads them all
        with one Kafka consumer, see `_subscribe`)."""

        async def subscriber(message: KafkaMessage) -> None:  # documentation only: never started
            raise NotImplementedError

        subscriber.__name__ = f"{self.settings.service_name}_{topic.name.replace('.', '_')}"
        self.spec_broker.subscriber(
            topic.name, batch=True, group_id=self.settings.group_id,
            title=f"{self.settings.service_name}:{topic.name}", description=description or topic.description,
        )(subscriber)

    def _subscribe(self) -> None:
        """Subscribe once to every consumed topic with ONE Kafka consumer in the service's group.

        One consumer per service, not one per topic: the embedded broker answers an idle fetch only
        when `fetch_max_wait_ms` has passed, so every consumer costs a fetch round trip (broker and
        client CPU) every few tens of milliseconds even when nothing happens; with one per topic an
        idle platform spent most of a core polling. A batch may hold records of several topics: each
        topic's records go to its consumer, in the order the topics were declared (projections the
        others depend on are declared first), each with its own transaction."""
        if self._subscribed or not self.consumers:
            return
        self._subscribed = True
        by_topic = {consumer.topic.name: consumer for consumer in self.consumers}
        handled = self._handled
        handover = self.handover

        async def subscriber(message: KafkaMessage) -> None:
            raw = message.raw_message
            records = raw if isinstance(raw, tuple | list) else (raw,)
            grouped: dict[str, list[Record]] = {name: [] for name in by_topic}
            last: dict[tuple[str, int], int] = {}
            for r in records:
                grouped[r.topic].append(Record(r.topic, r.partition, r.offset, r.key, r.value, r.headers))
                last[(r.topic, r.partition)] = r.offset
            async with handover.gate:  # a rebalance's drain waits for this batch, and this batch for it
                if not handover.closed:
                    handover.admit(r for batch in grouped.values() for r in batch)
                    for name, batch in grouped.items():
                        if batch:
                            await by_topic[name].process(batch)
                    handled.update(last)
                    return
            # Stopping: the outbox was drained for the last time; this batch is not handled and not
            # committed, the partition's next owner reads it again.
            await handover.refuse()

        subscriber.__name__ = f"{self.settings.service_name}_consumer"
        self._subscriber = self.broker.subscriber(
            *by_topic,
            batch=True,
            group_id=self.settings.group_id,
            auto_offset_reset="earliest",
            max_records=self.settings.batch_max_records,
            batch_timeout_ms=self.settings.batch_timeout_ms,
            session_timeout_ms=self.settings.kafka_session_timeout_ms,
            heartbeat_interval_ms=self.settings.kafka_heartbeat_interval_ms,
            fetch_max_wait_ms=self.settings.kafka_fetch_max_wait_ms,
            fetch_min_bytes=self.settings.kafka_fetch_min_bytes,
            ack_policy=AckPolicy.NACK_ON_ERROR,
            listener=self.handover,
            decoder=_raw_body,  # the consumers parse records themselves: no JSON decoding by FastStream
        )
        self._subscriber(subscriber)

    def publishes(self, topic: Topic, description: str = "") -> None:
        """Declare a topic this service writes (for the AsyncAPI document)."""
        self.spec_broker.publisher(
            topic.name,
            title=f"{self.settings.service_name}:{topic.name}:publish",
            description=description or topic.description,
            schema=topic.message,
        )

    def specification(self, title: str, description: str | None = None, **options: Any) -> AsyncAPI:
        """The service's AsyncAPI document: each topic it consumes and publishes, with its schema."""
        return AsyncAPI(self.spec_broker, title=title, description=description, version="1.0.0", **options)

    def every(self, name: str, work: TickHandler, interval_s: float | None = None) -> None:
        """Run clock-driven work (expiry, timeouts, period close) in a transaction on a timer.
        Work must be idempotent by state, since every instance of the service runs it."""
        self.ticks.append(Tick(name, work, interval_s or self.settings.tick_interval_s))

    def indexes(self, setup: Callable[[AsyncDatabase[dict[str, Any]]], Awaitable[None]]) -> None:
        self.index_setups.append(setup)

    async def run_tick(self, name: str) -> int:
        tick = next(t for t in self.ticks if t.name == name)
        emitted = await run_in_transaction(self.db, self.outbox, self.clock, tick.work, name=tick.name)
        await self.outbox.drain()
        return emitted

    async def prepare(self) -> None:
        """Before the broker consumes anything: create indexes (the embedded database can stall when an
        index is built while a transaction writes the same collection) and publish the stored outbox."""
        self._subscribe()
        await self.outbox.ensure_indexes()
        for setup in self.index_setups:
            await setup(self.db)
        # What a previous run of any instance committed but did not publish goes out before this
        # instance consumes anything, so per-key order holds across a crash.
        await self.broker.connect()
        await self.outbox.flush(older_than_s=0)

    async def start(self) -> None:
        tracing.configure(self.settings.service_name, self.settings.tracing_exporter,
                          self.settings.tracing_otlp_endpoint)
        metrics.LAG.register(self.instance_id, self.settings.service_name, lambda: self._lag)
        self._tasks.append(asyncio.create_task(self._relay_loop(), name="outbox-relay"))
        for tick in self.ticks:
            self._tasks.append(asyncio.create_task(self._tick_loop(tick), name=f"tick-{tick.name}"))
        if self.settings.health_port is not None:
            self._health = HealthServer(self.settings.health_port, self.readiness, self.metrics)
            await self._health.start()
        log.info("service_started", instance=self.instance_id, database=self.settings.database)

    async def stop(self) -> None:
        self._stopping.set()
        metrics.LAG.unregister(self.instance_id)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        # No batch is handled after this; the one in hand finishes and what committed batches handed
        # over is published while the broker is still connected, before the consumer leaves the group
        # (the partitions' next owner then publishes after it). Whatever is left stays in the stored
        # outbox, for the next owner's assignment, the next start, or another instance's relay.
        with contextlib.suppress(Exception):
            await self.handover.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.outbox.flush(), 5)
        if self._health:
            await self._health.stop()

    async def readiness(self) -> dict[str, object]:
        try:
            await asyncio.wait_for(self.db.command("ping"), 2)
            mongo_ok = True
        except Exception:  # noqa: BLE001
            mongo_ok = False
        stats = {c.topic.name: vars(c.stats) for c in self.consumers}
        dead_lettered = sum(c.stats.dead_lettered for c in self.consumers)
        window = self.settings.not_ready_after_dead_letter_s
        dead_lettering = window > 0 and any(c.stats.last_dead_letter_at > time.time() - window for c in self.consumers)
        return {"ready": mongo_ok and not dead_lettering, "mongo": mongo_ok, "dead_lettered": dead_lettered,
                "dead_lettering": dead_lettering, "consumers": stats, "published": self.outbox.published,
                "instance": self.instance_id}

    async def metrics(self) -> tuple[bytes, str]:
        """The `/metrics` answer: the consumer lag read now, then every metric of the process."""
        await self.refresh_lag()
        return metrics.exposition()

    async def refresh_lag(self) -> None:
        """Per assigned partition: its high watermark (from the consumer's last fetch) minus the next
        offset to handle (after the last handled one; before any, the consumer's position)."""
        consumer = getattr(self._subscriber, "consumer", None)
        if consumer is None:
            self._lag = []
            return
        lag = []
        for tp in sorted(consumer.assignment()):
            high = consumer.highwater(tp)
            if high is None:
                continue
            done = self._handled.get((tp.topic, tp.partition))
            if done is not None:
                following = done + 1
            else:
                try:
                    following = await asyncio.wait_for(consumer.position(tp), 0.5)
                except Exception:  # noqa: BLE001 - not positioned yet (joining): no lag to tell
                    continue
            lag.append((tp.topic, tp.partition, max(0, high - following)))
        self._lag = lag

    async def _relay_loop(self) -> None:
        while not self._stopping.is_set() and not cancel_requested():
            await asyncio.sleep(self.settings.relay_interval_s)
            try:
                await self.outbox.flush(older_than_s=self.settings.relay_orphan_after_s)
            except Exception as exc:  # noqa: BLE001 - the relay retries on its next round
                reraise_if_cancelled()
                log.warning("relay_failed", error=repr(exc)[:300])

    async def _tick_loop(self, tick: Tick) -> None:
        while not self._stopping.is_set() and not cancel_requested():
            try:
                await run_in_transaction(self.db, self.outbox, self.clock, tick.work, name=tick.name)
            except Exception:  # noqa: BLE001 - a failed tick is retried on the next one
                reraise_if_cancelled()
                log.exception("tick_failed", tick=tick.name)
            await asyncio.sleep(tick.interval_s)

    async def close(self) -> None:
        """After the broker stopped: stop the outbox's publisher and close the database client."""
        await self.outbox.close()
        await self.client.close()
        tracing.flush()
        log.info("service_stopped", instance=self.instance_id)

    def app(self, title: str, description: str) -> FastStream:
        """The FastStream app: start after the broker connects; on shutdown stop the timers, let
        the broker stop its subscribers (an interrupted batch is aborted and redelivered), then
        close the database. Committed but unpublished outbox entries go out on the next start."""
        self._subscribe()
        return FastStream(
            self.broker,
            on_startup=[self.prepare],
            after_startup=[self.start],
            on_shutdown=[self.stop],
            after_shutdown=[self.close],
            logger=None,
            specification=self.specification(title, description),
        )


async def _raw_body(message: Any) -> None:
    """FastStream's decoder for our subscribers: nothing (they read `KafkaMessage.raw_message`)."""
    return None


def service_main(create_app: Callable[[Any], FastStream], settings: ServiceSettings) -> None:
    """Entry point of `python -m services.<name>`: log setup, then run until SIGINT/SIGTERM."""
    from libs.logs import configure_logging

    configure_logging(settings.service_name, settings.log_level, settings.log_format)
    app = create_app(settings)
    asyncio.run(app.run())


ProcessRecords = Callable[[Sequence[Record]], Awaitable[None]]
