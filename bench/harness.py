"""The Bench: one run's rows and notes, its producer and its chain of sites; streaming plant events,
waiting for the answers (live or read after the fact), CPU per event; a throughput run on a backlog,
and waiting until the services have read their topics to the end."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections import Counter
from typing import Any

from aiokafka import AIOKafkaProducer

from bench.chain import Chain
from bench.offsets import group_lag
from bench.processes import Services
from bench.support import CpuMeter, rate_of
from bench.watchers import Arrivals, Stamps, Watch
from contracts.common import Envelope
from contracts.topics import topic_for
from devstack.embedded import EmbeddedStack, Endpoints
from tests.support import consumed_topics

SITES = 40


def _record(message: Envelope) -> tuple[str, bytes, bytes]:
    """(topic, key, value) of a message as the services would read it."""
    topic = topic_for(message)
    return topic.name, topic.key_of(message).encode(), topic.encode(message)


class Bench:
    def __init__(
        self,
        endpoints: Endpoints,
        stack: EmbeddedStack | None,
        events: int,
        quick: bool,
        intake_events: int | None = None,
    ) -> None:
        self.use(endpoints, stack)
        self.events = events
        self.intake_ceiling = float("nan")
        """Plant events of the end-to-end run (and movements accounting catches up)."""
        self.intake_events = intake_events or events
        """Plant events of intake's run: more, since intake alone is faster and must last a minute."""
        self.quick = quick
        self.rows: list[tuple[str, str, str]] = []
        self.notes: list[str] = []
        self.run = uuid.uuid4().hex[:6]
        self.chain = Chain(self.run, SITES)
        self.producer: AIOKafkaProducer | None = None
        self.streams = 0

    def use(self, endpoints: Endpoints, stack: EmbeddedStack | None) -> None:
        """The broker and database of the next part of the run."""
        self.endpoints = endpoints
        self.stack = stack
        self.embedded = stack is not None

    def row(self, what: str, figure: str, target: str = "") -> None:
        self.rows.append((what, figure, target))
        print(f"  {what:<74} {figure:>14}   {target}", flush=True)

    def note(self, text: str) -> None:
        self.notes.append(text)
        print(f"  note: {text}", flush=True)

    def meter(self, services: Services) -> CpuMeter:
        """Start counting the CPU time of the services, the embedded broker and database, and the bench."""
        pids = {s.name: s.process.pid for s in services.running if s.alive}
        if self.stack is not None:
            names = {"kafka": "broker", "mongo": "database"}
            pids |= {names[k]: pid for k, pid in self.stack.pids.items() if pid}
        pids["bench"] = os.getpid()
        return CpuMeter(pids).start()

    def cpu_note(self, meter: CpuMeter, label: str, events: int, wall_s: float) -> None:
        spent = meter.stop()
        used = sum(spent.values()) / wall_s
        self.note(
            f"CPU in {label} ({events:,} events, {wall_s:.0f} s): the processes below used {used:.2f} of "
            f"{os.cpu_count()} cores; CPU ms per event: "
            + ", ".join(f"{name} {seconds * 1000 / events:.2f}" for name, seconds in spent.items())
        )

    def watch(self, topics: list[str], pick: Any) -> Watch:
        return Watch(self.endpoints.kafka_bootstrap, topics, pick)

    def stamps(self, topics: list[str], pick: Any) -> Stamps:
        return Stamps(self.endpoints.kafka_bootstrap, topics, pick)

    async def collect(
        self, stamps: Stamps, ids: set[str], groups: list[tuple[str, str]], what: str
    ) -> bool:
        """Wait quietly until each (consumer group, topic) is read to the end, then read the answers."""
        timeout_s = max(300, len(ids) / 50)
        last = [time.perf_counter()]

        async def caught_up() -> bool:
            for group, topic in groups:
                if await group_lag(self.endpoints.kafka_bootstrap, group, topic) != 0:
                    return False
            return True

        async def progress() -> None:
            if time.perf_counter() - last[0] > 15:
                last[0] = time.perf_counter()
                lags = [
                    f"{group} {await group_lag(self.endpoints.kafka_bootstrap, group, topic)} behind on {topic}"
                    for group, topic in groups
                ]
                print(f"    ... {what}: " + ", ".join(lags), flush=True)

        done = await stamps.collect(ids, caught_up, timeout_s, progress)
        if not done:
            self.note(
                f"{what}: only {len(ids & stamps.arrivals.keys()):,} of {len(ids):,} arrived in {timeout_s:.0f} s"
            )
        return done

    async def send(self, message: Envelope) -> Any:
        assert self.producer is not None
        topic_name, key, value = _record(message)
        return await self.producer.send(topic_name, value, key=key)

    async def publish(self, messages: list[Any]) -> None:
        for message in messages:
            await self.send(message)
        assert self.producer is not None
        await self.producer.flush()

    async def stream(self, count: int, *, rate_per_s: float | None = None) -> dict[str, float]:
        """Produce `count` plant events of the mix (as fast as possible, or at a steady rate);
        returns the send time of each event id."""
        self.streams += 1
        label = f"{self.run}-{self.streams}"
        # Made and encoded before the clock starts: the bench shares the cores with what it measures,
        # so building events while streaming them would take CPU from the services.
        records = [
            (str(event.event_id), *_record(event))
            for event in (self.chain.plant_event(n, label) for n in range(count))
        ]
        assert self.producer is not None
        sent: dict[str, float] = {}
        started = time.perf_counter()
        for n, (event_id, topic_name, key, value) in enumerate(records):
            if rate_per_s:
                delay = started + n / rate_per_s - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            sent[event_id] = time.perf_counter()
            await self.producer.send(topic_name, value, key=key)
        await self.producer.flush()
        return sent

    async def wait(self, watch: Watch, ids: set[str], what: str, timeout_s: float) -> bool:
        last = [0.0]

        def progress(arrived: int) -> None:
            if time.perf_counter() - last[0] > 15:
                last[0] = time.perf_counter()
                print(f"    ... {what}: {arrived:,} of {len(ids):,}", flush=True)

        done = await watch.wait_for(ids, timeout_s, progress)
        if not done:
            self.note(
                f"{what}: only {len(ids & watch.arrivals.keys()):,} of {len(ids):,} arrived in {timeout_s:.0f} s"
            )
        return done

    def outcomes(self, watch: Arrivals, ids: set[str], label: str) -> Counter[str]:
        seen = Counter(watch.what[i] for i in ids if i in watch.what)
        print(
            f"    {label}: " + ", ".join(f"{k} x{v:,}" for k, v in sorted(seen.items())), flush=True
        )
        return seen


async def _backlog_run(
    bench: Bench,
    services: Services,
    label: str,
    count: int,
    topics: list[str],
    pick: Any,
    *,
    restart: list[str],
    caught_up: list[tuple[str, str]],
    target: str = ">= 1,000",
) -> tuple[float, Counter[str]]:
    """A throughput phase: `count` plant events are produced while the `restart` services are stopped,
    then they start again and work the backlog off while the bench waits quietly; the rate is taken
    from the timestamps of their answers. Returns (events/s, outcomes)."""
    for name in restart:
        services.stop_one(name)
    async with bench.stamps(topics, pick) as stamps:
        sent = set(await bench.stream(count))
        for name in restart:
            services.start(name)
        meter, t0 = bench.meter(services), time.perf_counter()
        await bench.collect(
            stamps, sent, [(services.group(name), topic) for name, topic in caught_up], label
        )
        bench.cpu_note(meter, f"{label} (with the restart)", len(sent), time.perf_counter() - t0)
        done, seconds, per_s = rate_of(stamps.arrivals[i] for i in sent if i in stamps.arrivals)
        outcomes = bench.outcomes(stamps, sent, f"{label} outcomes")
    bench.row(
        f"{label}: {done:,} events over {seconds:.0f} s, events/s",
        f"{per_s:,.0f}",
        f"target {target}",
    )
    if seconds < 60:
        bench.note(
            f"{label} lasted {seconds:.0f} s, under the minute the figure should be sustained for: "
            "raise the event count"
        )
    return per_s, outcomes


async def _drain(bench: Bench, group: str, topic: str, timeout_s: float) -> list[tuple[float, int]]:
    """Poll a consumer group's lag until it is (nearly) zero; returns the (time, lag) samples."""
    samples: list[tuple[float, int]] = []
    deadline = time.perf_counter() + timeout_s
    while time.perf_counter() < deadline:
        lag = await group_lag(bench.endpoints.kafka_bootstrap, group, topic)
        if lag is not None:
            samples.append((time.perf_counter(), lag))
            if lag < 20:
                return samples
        await asyncio.sleep(2)
    bench.note(
        f"{group} still {samples[-1][1] if samples else 'unknown'} behind on {topic} after {timeout_s:.0f} s"
    )
    return samples


async def _settle(bench: Bench, services: Services, before: str, timeout_s: float = 600) -> None:
    """Wait until every running service has read its topics to the end, so a latency run starts idle."""
    started = time.perf_counter()
    behind: dict[str, int] = {}
    for service in services.running:
        for topic in consumed_topics(service.name):
            samples = await _drain(
                bench,
                services.group(service.name),
                topic,
                max(10.0, timeout_s - (time.perf_counter() - started)),
            )
            if samples and samples[0][1] >= 20:
                behind[f"{service.name} on {topic}"] = samples[0][1]
    if behind:
        bench.note(
            f"{before}, the services were still behind: "
            + ", ".join(f"{k} by {v:,}" for k, v in behind.items())
            + f"; settled in {time.perf_counter() - started:.0f} s"
        )
