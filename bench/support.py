"""Plumbing for `make bench`: services as separate processes with their peak memory, topic
watchers that stamp arrivals (live, or read after the fact from the records' timestamps),
consumer-group lag, rates, percentiles."""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic_core import from_json

from devstack.embedded import Endpoints
from libs.kafka import refresh_metadata

ROOT = Path(__file__).resolve().parents[1]


def machine() -> str:
    cpu = "unknown cpu"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        mem_kb = int(
            next(
                l
                for l in Path("/proc/meminfo").read_text().splitlines()
                if l.startswith("MemTotal")
            ).split()[1]
        )
        memory = f"{mem_kb / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration):
        memory = "unknown memory"
    return (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores ({cpu}), {memory}, "
        f"Python {platform.python_version()}"
    )


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class ServiceProcess:
    name: str
    process: subprocess.Popen[bytes]
    peak_rss_mb: float = 0.0
    health_port: int | None = None
    """Where the service serves /health, /ready and /metrics (bench/latency.py scrapes it)."""

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def sample(self) -> None:
        try:
            for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    self.peak_rss_mb = max(self.peak_rss_mb, int(line.split()[1]) / 1024)
        except OSError:
            pass

    def stop(self) -> None:
        self.sample()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class Services:
    endpoints: Endpoints
    embedded: bool
    running: list[ServiceProcess] = field(default_factory=list)
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:6])
    log_dir: Path | None = None
    """Where each service's warnings go (`<name>.log`); None: discarded."""
    profile: frozenset[str] = frozenset()
    """Services run under cProfile (`<log_dir>/<name>.prof`, written when the service stops)."""
    peaks: dict[str, float] = field(default_factory=dict)
    """Peak memory of processes of a service that stopped (an earlier process, or an earlier stack's)."""

    def start(self, name: str, **settings: str) -> ServiceProcess:
        prefix = name.upper()
        env = {
            **os.environ,
            f"{prefix}_KAFKA_BOOTSTRAP_SERVERS": self.endpoints.kafka_bootstrap,
            f"{prefix}_MONGODB_URI": self.endpoints.mongodb_uri,
            f"{prefix}_KAFKA_IDEMPOTENT_PRODUCER": str(self.endpoints.idempotent_producer).lower(),
            f"{prefix}_DATABASE": f"bench_{self.run_id}_{name}",
            f"{prefix}_CONSUMER_GROUP": f"bench-{self.run_id}-{name}",
            f"{prefix}_LOG_LEVEL": "WARNING",
            f"{prefix}_LOG_FORMAT": "json",
            f"{prefix}_HEALTH_PORT": str(port := _free_port()),
            **{f"{prefix}_{k.upper()}": v for k, v in settings.items()},
        }
        if self.embedded:
            env.setdefault(f"{prefix}_KAFKA_SESSION_TIMEOUT_MS", "6000")
            env.setdefault(f"{prefix}_KAFKA_HEARTBEAT_INTERVAL_MS", "1000")
            env.setdefault(f"{prefix}_KAFKA_FETCH_MAX_WAIT_MS", "50")
        log: Any = subprocess.DEVNULL
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            log = (self.log_dir / f"{name}.log").open("ab")
        command = [sys.executable, "-m", f"services.{name}"]
        if name in self.profile and self.log_dir is not None:
            command[1:1] = ["-m", "cProfile", "-o", str(self.log_dir / f"{name}.prof")]
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        service = ServiceProcess(
            name, process, peak_rss_mb=self.peaks.get(name, 0.0), health_port=port
        )
        self.running.append(service)
        return service

    def stop_one(self, name: str) -> None:
        """Stop the running process of a service (it starts again with `start`, in the same consumer
        group and database; its peak memory is kept in the row of the next process)."""
        for service in [s for s in self.running if s.name == name and s.alive]:
            service.stop()
            self.running.remove(service)
            self.peaks[name] = max(self.peaks.get(name, 0.0), service.peak_rss_mb)

    def database(self, name: str) -> str:
        return f"bench_{self.run_id}_{name}"

    def group(self, name: str) -> str:
        """The consumer group a service reads all its topics in (libs.service: one per service)."""
        return f"bench-{self.run_id}-{name}"

    def sample(self) -> None:
        for service in self.running:
            service.sample()

    def stop(self) -> None:
        for service in self.running:
            service.stop()
            self.peaks[service.name] = max(self.peaks.get(service.name, 0.0), service.peak_rss_mb)


class Rate:
    """Counts arrivals and reports a sustained rate between the first and last arrival."""

    def __init__(self) -> None:
        self.count = 0
        self.first: float | None = None
        self.last: float | None = None

    def add(self, n: int = 1) -> None:
        now = time.perf_counter()
        if self.first is None:
            self.first = now
        self.last = now
        self.count += n

    @property
    def seconds(self) -> float:
        return (self.last or 0) - (self.first or 0)

    @property
    def per_second(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else float("nan")


def rate_of(stamps: Iterable[float]) -> tuple[int, float, float]:
    """(count, seconds between the first and the last, count per second) of arrival stamps."""
    ordered = sorted(stamps)
    if len(ordered) < 2:
        return len(ordered), 0.0, float("nan")
    seconds = ordered[-1] - ordered[0]
    return len(ordered), seconds, len(ordered) / seconds if seconds > 0 else float("nan")


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
        tps = [
            TopicPartition(topic, p)
            for topic in self.topics
            for p in sorted(await partitions(consumer, topic))
        ]
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
        tps = [
            TopicPartition(topic, p)
            for topic in self.topics
            for p in sorted(await partitions(consumer, topic))
        ]
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


async def partitions(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
    for _ in range(50):
        # Refreshes the consumer's own metadata (`consumer.topics()` returns fresh metadata without
        # storing it: enough on tansu, whose first metadata answer lists every topic; not on Apache Kafka).
        await refresh_metadata(consumer)
        found = consumer.partitions_for_topic(topic)
        if found:
            return found
        await asyncio.sleep(0.1)
    raise RuntimeError(f"topic {topic} has no partitions")


async def group_lag(bootstrap: str, group_id: str, topic: str) -> int | None:
    """Messages of `topic` the consumer group has not committed yet; None before it committed anything."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group_id, enable_auto_commit=False
    )
    await consumer.start()  # never subscribes: it only reads the group's committed offsets
    try:
        tps = [TopicPartition(topic, p) for p in sorted(await partitions(consumer, topic))]
        ends = await consumer.end_offsets(tps)
        if not any(ends.values()):
            return 0
        committed = {tp: await consumer.committed(tp) for tp in tps}
        if all(offset is None for offset in committed.values()):
            return None
        return sum(max(0, end - (committed[tp] or 0)) for tp, end in ends.items())
    finally:
        await consumer.stop()


async def commit_group_offsets(bootstrap: str, group_id: str, topic: str, behind_end: int) -> int:
    """Place a consumer group `behind_end` messages (spread over the partitions) before the topic's
    end, as if it had consumed the rest; returns how many messages it is left to read."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group_id, enable_auto_commit=False
    )
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in sorted(await partitions(consumer, topic))]
        consumer.assign(tps)
        starts = await consumer.beginning_offsets(tps)
        ends = await consumer.end_offsets(tps)
        offsets = {tp: max(starts[tp], ends[tp] - behind_end // len(tps)) for tp in tps}
        await consumer.commit(offsets)
        return sum(ends[tp] - offsets[tp] for tp in tps)
    finally:
        await consumer.stop()


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU seconds each process spent between `start()` and `stop()`."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.before: dict[str, float] = {}
        self.spent: dict[str, float] = {}

    def start(self) -> CpuMeter:
        self.before = {
            name: t for name, pid in self.pids.items() if (t := cpu_seconds(pid)) is not None
        }
        return self

    def stop(self) -> dict[str, float]:
        for name, pid in self.pids.items():
            after = cpu_seconds(pid)
            if after is not None and name in self.before:
                self.spent[name] = after - self.before[name]
        return self.spent
