"""Topic watchers: which ids arrived on some topics and what became of them, stamped live as they
arrive (Watch) or read after the fact with their records' timestamps (Stamps)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any, Self

from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic_core import from_json

from bench.offsets import partitions

Pick = Callable[[dict[str, Any]], tuple[str, str] | None]
"""From a record's JSON: (the id the bench waits for, what arrived), or None to ignore it."""


class Arrivals:
    """Which ids arrived on some topics, when, and what became of them (`pick` reads a record's JSON)."""

    def __init__(self, bootstrap: str, topics: list[str], pick: Pick) -> None:
        self.bootstrap = bootstrap
        self.topics = topics
        self.pick = pick
        self.arrivals: dict[str, float] = {}
        self.what: dict[str, str] = {}
        self._consumer: AIOKafkaConsumer | None = None

    def _take(self, value: bytes | None, stamp: float) -> None:
        found = self.pick(from_json(value))
        if found is not None and found[0] not in self.arrivals:
            self.arrivals[found[0]] = stamp
            self.what[found[0]] = found[1]


class Watch(Arrivals):
    """Reads topics from their current end (no consumer group) and stamps the first arrival of each id.

    Records are read as plain JSON, not parsed into contracts: the bench shares the CPU with the
    services it measures, so it spends as little as it can.
    """

    def __init__(self, bootstrap: str, topics: list[str], pick: Pick) -> None:
        super().__init__(bootstrap, topics, pick)
        self.records = 0
        self._task: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()

    async def __aenter__(self) -> Self:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            enable_auto_commit=False,
            fetch_max_wait_ms=20,
            max_partition_fetch_bytes=4 * 1024 * 1024,
        )
        await consumer.start()
        tps = await _every_partition(consumer, self.topics)
        consumer.assign(tps)
        for tp, end in (await consumer.end_offsets(tps)).items():
            consumer.seek(tp, end)
        self._consumer = consumer
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._consumer:
            await self._consumer.stop()

    async def _run(self) -> None:
        assert self._consumer is not None
        while True:
            batch = await self._consumer.getmany(timeout_ms=100, max_records=10_000)
            stamp = time.perf_counter()
            for records in batch.values():
                for record in records:
                    self.records += 1
                    self._take(record.value, stamp)
            if batch:
                self._changed.set()

    async def wait_for(
        self, ids: set[str], timeout_s: float, progress: Callable[[int], None] | None = None
    ) -> bool:
        """Wait until every id has arrived; False at the timeout."""
        deadline = time.perf_counter() + timeout_s
        while True:
            arrived = len(ids & self.arrivals.keys())
            if arrived >= len(ids):
                return True
            if progress:
                progress(arrived)
            if time.perf_counter() > deadline:
                return False
            self._changed.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._changed.wait(), 1.0)


class Stamps(Arrivals):
    """Arrivals read after the fact, for the throughput phases: what `topics` gained after entering,
    each id stamped with its record's timestamp (the time the service handed the message to its Kafka
    producer). Nothing is read while the services work, so the bench takes no CPU from them: producing
    and watching live cost the bench 0.17-0.24 ms of CPU per event, about what intake spent itself."""

    def __init__(self, bootstrap: str, topics: list[str], pick: Pick) -> None:
        super().__init__(bootstrap, topics, pick)
        self._starts: dict[TopicPartition, int] = {}

    async def __aenter__(self) -> Self:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            enable_auto_commit=False,
            max_partition_fetch_bytes=4 * 1024 * 1024,
        )
        await consumer.start()
        tps = await _every_partition(consumer, self.topics)
        self._starts = await consumer.end_offsets(tps)
        self._consumer = consumer
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._consumer:
            await self._consumer.stop()

    async def collect(
        self,
        ids: set[str],
        caught_up: Callable[[], Awaitable[bool]],
        timeout_s: float,
        progress: Callable[[], Awaitable[None]] | None = None,
    ) -> bool:
        """Wait (polling `caught_up` every second) until the services have read their input, then read
        the records and stamp the ids; keep reading what is still published until every id is there.
        False at the timeout."""
        assert self._consumer is not None
        deadline = time.perf_counter() + timeout_s
        while not await caught_up() and time.perf_counter() < deadline:
            if progress:
                await progress()
            await asyncio.sleep(1)
        self._consumer.assign(list(self._starts))
        for tp, offset in self._starts.items():
            self._consumer.seek(tp, offset)
        while len(ids & self.arrivals.keys()) < len(ids) and time.perf_counter() < deadline:
            batch = await self._consumer.getmany(timeout_ms=500, max_records=10_000)
            for records in batch.values():
                for record in records:
                    self._take(record.value, record.timestamp / 1000)
        return len(ids & self.arrivals.keys()) == len(ids)


async def _every_partition(consumer: AIOKafkaConsumer, topics: list[str]) -> list[TopicPartition]:
    """Every partition of the topics, in order."""
    return [TopicPartition(t, p) for t in topics for p in sorted(await partitions(consumer, t))]
