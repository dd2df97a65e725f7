"""`make bench`: how fast the platform is, measured, never guessed. Not a test.

Runs against the embedded stack, or real Kafka and MongoDB when KAFKA_BOOTSTRAP_SERVERS and
MONGODB_URI are set. Prints a table, writes it to bench-results/latest.md, and states the machine.

    python -m bench [--events N] [--intake-events N] [--quick] [--kafka tansu|apache|both]

`--kafka` (default: the KAFKA variable, else tansu) picks the embedded broker: tansu, Apache Kafka from
Maven (devstack.apache_kafka), or both one after the other, printed and written as one column each.

In one run, in this order (each service is a separate process, as in production), in two parts
that each get a fresh embedded stack (the embedded broker keeps topics in memory and slows as they
grow; on real Kafka and MongoDB both parts use the same servers):
1. the ceilings: broker produce/consume; database batched transactions of intake's documents;
2. intake alone on a backlog of plant events (accounting not running), a minute or more;
then the second part: the database ceilings of accounting's documents and of both services'
documents at once (the chain's);
3. accounting started on a backlog of movements: accounting alone, catching up;
4. intake -> accounting end to end on a fresh backlog (plant event in, ledger entry out);

The throughput phases (2-4) work off a backlog: it is produced while the services that take it are
stopped, they start again, and the bench waits quietly (polling consumer-group lag) and then reads
the answers, stamped with their records' timestamps (when the service handed each to its producer).
The bench's own producing and reading would otherwise share the two cores with what it measures.
5. event-to-ledger latency at a steady 250 events/s, and where the slowest 1% of it goes (bench/latency.py);
6. claims started (it first reads the ledger topic so far), then claim decision latency at 20 requests/s;
7. peak resident memory of the four services; balance read time at 1,000 and 100,000 entries;
8. the upstream of a CoC Document five levels deep, 40 suppliers per level (bench/upstream.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from bench.balance import balance_read_times
from bench.ceilings import (
    INTAKE_DOCUMENTS,
    accounting_documents,
    broker_ceiling,
    chain_ceiling,
    database_ceiling,
    database_figures,
)
from bench.chain import DESIGNATION_EVERY, Chain
from bench.latency import Batches, scrape_batches, slowest_stages
from bench.support import (
    Arrivals,
    CpuMeter,
    Services,
    Stamps,
    Watch,
    commit_group_offsets,
    group_lag,
    load_average,
    machine,
    partitions,
    percentile,
    rate_of,
)
from bench.upstream import upstream_read_times
from contracts.common import Envelope
from contracts.topics import ALL_TOPIC_NAMES, topic_for
from devstack.apache_kafka import kafka_version
from devstack.embedded import EmbeddedStack, Endpoints, ensure_topics
from devstack.stack import external_endpoints
from libs.settings import PlatformSettings
from tests.support import consumed_topics

SITES = 40
CLAIMS_LEDGER_BACKLOG = 20_000
RESULTS = Path("bench-results")


def now() -> datetime:
    return datetime.now(UTC)


# ---- what the watchers look for (plain JSON) --------------------------------------------------


def _codes(d: dict[str, Any]) -> str:
    return ",".join(r["code"] for r in d.get("reasons", []))


def _dead_letter(d: dict[str, Any], field: str) -> tuple[str, str] | None:
    try:
        payload = json.loads(d["payload"])
        return str(payload[field]), f"dead-lettered:{d.get('reason_code')}"
    except (ValueError, KeyError, TypeError):
        return None


def pick_movement(d: dict[str, Any]) -> tuple[str, str] | None:
    """material.movements.v1, intake.rejections.v1, plant.events.v1.dlq: what became of a plant event."""
    kind = d.get("type")
    if kind == "plant_event_rejected":
        return d["rejected_event_id"], f"rejected:{_codes(d)}"
    if kind == "plant_event_held":
        return None
    if "movement_id" in d:
        return d["movement_id"], kind
    if "payload" in d:
        return _dead_letter(d, "event_id")
    return None


def pick_ledger(d: dict[str, Any]) -> tuple[str, str] | None:
    """ledger.events.v1, intake.rejections.v1 and the two DLQs: what became of a plant event in the books."""
    kind = d.get("type")
    if kind == "ledger_entry_posted":
        entry = d["entry"]
        if entry.get("movement_id") is None:
            return None
        credited = (
            "credit" if entry["coc_credit_kg"].lstrip("-") not in ("0", "0.000") else "no credit"
        )
        return entry["movement_id"], f"{entry['kind']} ({credited})"
    if kind in ("designation_refused", "movement_refused"):
        return d["movement_id"], f"{kind}:{_codes(d)}"
    if kind == "plant_event_rejected":
        return d["rejected_event_id"], f"rejected by intake:{_codes(d)}"
    if "payload" in d and "source_topic" in d:
        return _dead_letter(
            d, "movement_id" if d["source_topic"] == "material.movements.v1" else "event_id"
        )
    return None


MOVEMENTS_TOPIC = "material.movements.v1"


def _batch_handling(services: Services) -> dict[str, dict[str, Batches]]:
    """Per running service, its batch handling so far (`asi_batch_seconds`, from its /metrics)."""
    out: dict[str, dict[str, Batches]] = {}
    for service in services.running:
        if service.alive and service.name in ("intake", "accounting"):
            try:
                out[service.name] = scrape_batches(service.health_port)
            except OSError:
                out[service.name] = {}
    return out


def _handling_during(
    before: dict[str, dict[str, Batches]], after: dict[str, dict[str, Batches]]
) -> dict[str, Batches]:
    """Per service, the batches it handled between the two scrapes, on its stage's input topic."""
    inputs = {"intake": "plant.events.v1", "accounting": MOVEMENTS_TOPIC}
    out = {}
    for name, topic in inputs.items():
        if topic in after.get(name, {}):
            out[name] = after[name][topic] - before.get(name, {}).get(topic, Batches())
    return out


def _where_the_time_goes(
    bench: Bench,
    sent: dict[str, float],
    moved: dict[str, float],
    booked: dict[str, float],
    seen: dict[str, float],
    handling: dict[str, Batches],
) -> None:
    """Rows for the stages of the slowest 1% of the latency run (bench/latency.py). The bench's own
    stamps (perf counter) are moved to the records' wall clock."""
    offset = time.time() - time.perf_counter()
    stages = slowest_stages(
        {i: t + offset for i, t in sent.items()},
        moved,
        booked,
        {i: t + offset for i, t in seen.items()},
    )
    if stages is None:
        bench.note("where the p99 time goes: no event had every timestamp")
        return
    bench.row(
        f"p99 breakdown: the slowest {stages.events} events (>= {stages.threshold_s:.3f} s), mean trip, s",
        f"{stages.total_s:.3f}",
    )
    for label, name, seconds in (
        ("intake: poll, batch, transaction, hand-over", "intake", stages.intake_s),
        (
            "accounting: broker, poll, batch, transaction, hand-over",
            "accounting",
            stages.accounting_s,
        ),
        ("the bench's read of the ledger topic", "", stages.bench_read_s),
    ):
        share = seconds / stages.total_s if stages.total_s else float("nan")
        bench.row(f"  {label}, s (share)", f"{seconds:.3f} ({share:.0%})")
        if name in handling and handling[name].count:
            h = handling[name]
            bench.row(
                f"    {name} batches in the run: count / mean handling (parse+transaction+hand-over), ms",
                f"{h.count:.0f} / {h.mean_ms:.1f}",
            )
            bench.row(
                f"    {name}: the rest of its stage (poll wait, linger, broker, queueing), s",
                f"{max(seconds - h.mean_ms / 1000, 0.0):.3f}",
            )


def pick_decision(d: dict[str, Any]) -> tuple[str, str] | None:
    kind = d.get("type")
    # Awaiting review: the machine has decided (a person decides the rest); shown in the outcomes.
    if kind in (
        "claim_approved",
        "claim_rejected",
        "claim_request_refused",
        "claim_awaiting_review",
    ):
        return d["claim_id"], f"{kind}:{_codes(d)}" if kind != "claim_approved" else kind
    return None


MOVEMENT_TOPICS = ["material.movements.v1", "intake.rejections.v1", "plant.events.v1.dlq"]
LEDGER_TOPICS = [
    "ledger.events.v1",
    "intake.rejections.v1",
    "plant.events.v1.dlq",
    "material.movements.v1.dlq",
]


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


def _refused(outcomes: Counter[str]) -> int:
    return sum(
        v for k, v in outcomes.items() if "refused" in k or "rejected" in k or "dead-lettered" in k
    )


Part = Callable[["Bench", Services], Awaitable[None]]


async def run(bench: Bench, services: Services, part: Part) -> None:
    await ensure_topics(bench.endpoints.kafka_bootstrap, ALL_TOPIC_NAMES, partitions=4)
    bench.producer = AIOKafkaProducer(
        bootstrap_servers=bench.endpoints.kafka_bootstrap,
        enable_idempotence=False,
        acks="all",
        linger_ms=5,
    )
    await bench.producer.start()
    sampler = asyncio.create_task(_sample(services))
    try:
        await part(bench, services)
    finally:
        sampler.cancel()
        services.stop()
        await bench.producer.stop()


async def _sample(services: Services) -> None:
    while True:
        services.sample()
        await asyncio.sleep(2)


async def _intake_part(bench: Bench, services: Services) -> None:
    """Intake alone, with the ceilings it is compared with (on a stack of its own when embedded)."""
    quick = bench.quick
    mix = bench.chain.mix(bench.events)
    bench.note(
        "plant event mix (per stream): "
        + ", ".join(f"{k} {v / bench.events:.0%}" for k, v in mix.items())
        + f"; {SITES} sites, one organisation each, default rule set (group, percentage)"
    )

    # 1. ceilings ---------------------------------------------------------------------------------
    broker = await broker_ceiling(bench.endpoints.kafka_bootstrap, 20_000 if quick else 50_000)
    bench.row("broker ceiling: produce (acks=all), msgs/s", f"{broker['produce_per_s']:,.0f}")
    bench.row("broker ceiling: consume (one group), msgs/s", f"{broker['consume_per_s']:,.0f}")
    # Each database ceiling writes the documents of as many events as the run it is compared with:
    # the database slows as its collections grow (intake alone: 0.20-0.24 ms of database CPU per event
    # over 40,000 events, 0.31 ms over 240,000), so a short ceiling flatters the database.
    bench.intake_ceiling = (
        await database_ceiling(
            bench.endpoints.mongodb_uri, INTAKE_DOCUMENTS, events=bench.intake_events
        )
    )["events_per_s"]
    bench.row(
        "database ceiling: intake's documents, batched txns, events/s",
        f"{bench.intake_ceiling:,.0f}",
    )

    # 2. intake alone, on a backlog -------------------------------------------------------------------
    await _start_intake(bench, services)
    per_s, outcomes = await _backlog_run(
        bench,
        services,
        "intake alone",
        bench.intake_events,
        MOVEMENT_TOPICS,
        pick_movement,
        restart=["intake"],
        caught_up=[("intake", "plant.events.v1")],
    )
    bench.row(
        "intake alone / intake's database ceiling",
        f"{per_s / bench.intake_ceiling:.2f}",
        "target >= 0.5",
    )
    bench.row("intake alone: events refused (should be 0)", f"{_refused(outcomes):,}")


async def _start_intake(bench: Bench, services: Services) -> None:
    """Certificates and intake started, the registry published, and a warm-up answered."""
    services.start("certificates")
    services.start("intake")
    await bench.publish(bench.chain.registry())
    async with bench.watch(MOVEMENT_TOPICS, pick_movement) as watch:
        warm = await bench.stream(SITES)
        await bench.wait(watch, set(warm), "intake warm-up", 180)
        bench.outcomes(watch, set(warm), "warm-up outcomes")


async def _chain_part(bench: Bench, services: Services) -> None:
    """Accounting, the chain, latency, claims, memory and balance reads (on a fresh stack when embedded)."""
    quick = bench.quick
    templates, described = accounting_documents(SITES, DESIGNATION_EVERY * 4)
    accounting_ceiling = (
        await database_ceiling(bench.endpoints.mongodb_uri, templates, events=bench.events)
    )["events_per_s"]
    bench.row(
        "database ceiling: accounting's documents, batched txns, movements/s",
        f"{accounting_ceiling:,.0f}",
    )
    bench.note(f"accounting's ceiling documents: {described}")
    ceilings = database_figures(bench.intake_ceiling, accounting_ceiling)
    chain_ceiling_per_s = (
        await chain_ceiling(
            bench.endpoints.mongodb_uri, INTAKE_DOCUMENTS, templates, events=bench.events
        )
    )["events_per_s"]
    bench.row(
        "database ceiling for the chain: both services' documents at once, events/s",
        f"{chain_ceiling_per_s:,.0f}",
    )
    bench.note(
        "the chain's database ceiling writes, for the same events, intake's documents and accounting's "
        "documents at the same time, by two writers (one per service database) on the one database server "
        "the platform runs on: the documents the chain writes, with the overlap the two services have; "
        f"for information, the lower of the two single ceilings ({ceilings['lower']:,.0f}/s, as if each "
        f"service had a server of its own) and both in series ({ceilings['series']:,.0f}/s, no overlap)"
    )
    await _start_intake(bench, services)

    # 3. accounting alone, catching up a backlog of movements ---------------------------------------
    # It starts as if it had read the warm-up and catches up the movements of a backlog intake answers first.
    group = services.group("accounting")
    await commit_group_offsets(bench.endpoints.kafka_bootstrap, group, "material.movements.v1", 0)
    services.start(
        "accounting"
    )  # reads the registry and certificates first, as a running service has
    await _settle(bench, services, "before accounting's backlog")
    services.stop_one("accounting")
    async with bench.stamps(MOVEMENT_TOPICS, pick_movement) as stamps:
        backlog = set(await bench.stream(bench.events))
        await bench.collect(
            stamps,
            backlog,
            [(services.group("intake"), "plant.events.v1")],
            "intake answering accounting's backlog",
        )
    async with bench.stamps(LEDGER_TOPICS, pick_ledger) as stamps:
        services.start("accounting")
        meter, t0 = bench.meter(services), time.perf_counter()
        await bench.collect(
            stamps, backlog, [(group, "material.movements.v1")], "accounting catching up"
        )
        bench.cpu_note(
            meter,
            "accounting catching up (with its start-up)",
            len(backlog),
            time.perf_counter() - t0,
        )
        count, seconds, per_s = rate_of(stamps.arrivals[i] for i in backlog if i in stamps.arrivals)
        outcomes = bench.outcomes(stamps, backlog, "accounting catch-up outcomes")
    bench.row(
        f"accounting alone, catching up {count:,} movements over {seconds:.0f} s, movements/s",
        f"{per_s:,.0f}",
    )
    bench.row(
        "accounting alone / accounting's database ceiling", f"{per_s / accounting_ceiling:.2f}"
    )
    _mining_note(bench, outcomes)

    # 4. intake -> accounting end to end, on a backlog -------------------------------------------------
    per_s, outcomes = await _backlog_run(
        bench,
        services,
        "intake -> accounting",
        bench.events,
        LEDGER_TOPICS,
        pick_ledger,
        restart=["intake"],
        caught_up=[("intake", "plant.events.v1"), ("accounting", "material.movements.v1")],
        target=">= 500",
    )
    bench.row(
        "intake -> accounting / the chain's database ceiling",
        f"{per_s / chain_ceiling_per_s:.2f}",
        "target >= 0.5",
    )
    bench.row(
        "intake -> accounting / the lower single ceiling (information: a server per service)",
        f"{per_s / ceilings['lower']:.2f}",
    )
    bench.row("intake -> accounting: events refused or dead-lettered", f"{_refused(outcomes):,}")

    # 5. event-to-ledger latency at a steady rate -------------------------------------------------------
    await _settle(bench, services, "after the end-to-end run")
    steady_s = 10 if quick else 30
    # The movements and the ledger records are also read after the run, for their timestamps: where
    # the slowest events' time went (bench/latency.py).
    async with (
        bench.watch(LEDGER_TOPICS, pick_ledger) as watch,
        bench.stamps([MOVEMENTS_TOPIC], pick_movement) as moved,
        bench.stamps(LEDGER_TOPICS, pick_ledger) as booked,
    ):
        handling_before = _batch_handling(services)
        meter, started = bench.meter(services), time.perf_counter()
        sent = await bench.stream(250 * steady_s, rate_per_s=250)
        offered = len(sent) / (time.perf_counter() - started)
        await bench.wait(watch, set(sent), "latency run", 120)
        bench.cpu_note(meter, "the 250 events/s run", len(sent), time.perf_counter() - started)
        handling = _handling_during(handling_before, _batch_handling(services))
        latencies = [watch.arrivals[i] - t for i, t in sent.items() if i in watch.arrivals]
        bench.outcomes(watch, set(sent), "latency run outcomes")
        arrived = set(sent) & watch.arrivals.keys()
        await bench.collect(moved, arrived, [], "latency run: movement timestamps")
        await bench.collect(booked, arrived, [], "latency run: ledger timestamps")
    bench.row(
        f"event -> LedgerEntryPosted at {offered:.0f} events/s for {steady_s} s: p50, s",
        f"{percentile(latencies, 0.5):.3f}",
    )
    bench.row(
        "event -> LedgerEntryPosted: p99, s", f"{percentile(latencies, 0.99):.3f}", "target < 2"
    )
    bench.row("event -> LedgerEntryPosted: max, s", f"{max(latencies, default=float('nan')):.3f}")
    _where_the_time_goes(bench, sent, moved.arrivals, booked.arrivals, watch.arrivals, handling)

    # 6. claims ------------------------------------------------------------------------------------------
    await _claims(bench, services, quick)

    # 7. memory, balance reads -------------------------------------------------------------------------
    services.sample()
    for service in services.running:
        alive = "" if service.alive else f" (EXITED with {service.process.returncode})"
        bench.row(
            f"peak RSS {service.name}, MB{alive}", f"{service.peak_rss_mb:.0f}", "target < 250"
        )
    services.stop()
    sizes = (1_000, 10_000) if quick else (1_000, 100_000)
    reads = await balance_read_times(bench.endpoints.mongodb_uri, sizes)
    small, large = reads[sizes[0]], reads[sizes[1]]
    for size in sizes:
        bench.row(
            f"balance read (accounting cli balance), {size:,} entries: p50 / p99, ms",
            f"{reads[size]['p50_ms']:.2f} / {reads[size]['p99_ms']:.2f}",
        )
    bench.row(
        f"balance read p50 at {sizes[1]:,} / at {sizes[0]:,} entries",
        f"{large['p50_ms'] / small['p50_ms']:.2f}",
        "target <= 1.5",
    )
    bench.note(
        "balance read: entries made by accounting's domain (Ledger.apply of eligible-scrap receipts, real hash "
        "chain) and inserted directly with its store's document shapes (entry_doc, account_doc) into a bench "
        "database; the read timed is services.accounting.cli.balance, the CLI's own read path"
    )

    # 8. the upstream of a document (issue 21 item 4) ----------------------------------------------------
    upstream = await upstream_read_times(bench.endpoints.mongodb_uri, 10 if quick else 50)
    bench.row(
        f"upstream of a document, 5 levels x 40 suppliers ({upstream['entries']:,.0f} stored inputs), "
        f"{upstream['reads']:.0f} reads: p50 / p99, ms",
        f"{upstream['p50_ms']:.0f} / {upstream['p99_ms']:.0f}",
        "target p99 < 200",
    )
    bench.row(
        "upstream of a document: the gateway's CPU per read, p50, ms",
        f"{upstream['cpu_p50_ms']:.0f}",
    )
    bench.row(
        "upstream of a document as a first read (nothing kept): p50 / p99, gateway CPU p50, ms",
        f"{upstream['cold_p50_ms']:.0f} / {upstream['cold_p99_ms']:.0f}, {upstream['cold_cpu_p50_ms']:.0f}",
    )
    bench.note(
        "upstream: bench/upstream.py writes the chain through the gateway's own handlers into a bench database, "
        "then times services.gateway.upstream.compute and the holder's view (no HTTP), after 10 warm-up reads "
        "(what the gateway kept from them used), then as many reads as a first read (services.gateway.upstream.forget())"
    )


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


def _mining_note(bench: Bench, outcomes: Counter[str]) -> None:
    mined = {k: v for k, v in outcomes.items() if k.startswith("transformation")}
    if mined:
        bench.note(
            "mining transformations at CoC-certified mines: "
            + ", ".join(f"{k} x{v:,}" for k, v in sorted(mined.items()))
        )


async def _claims(bench: Bench, services: Services, quick: bool) -> None:
    chain = bench.chain
    credits = chain.brand_credits(lots=4, tonnes=500)
    await bench.publish(chain.brand_registry())
    async with bench.watch(LEDGER_TOPICS, pick_ledger) as watch:
        await bench.publish(credits)
        await bench.wait(watch, {str(m.movement_id) for m in credits}, "brand owner credits", 120)
    group = services.group("claims")
    to_read = await commit_group_offsets(
        bench.endpoints.kafka_bootstrap, group, "ledger.events.v1", CLAIMS_LEDGER_BACKLOG
    )
    total = await _topic_size(bench, "ledger.events.v1")
    if to_read < total:
        bench.note(
            f"claims' ledger subscription was placed {to_read:,} events before the end of the ledger topic "
            f"({total:,} events), as if it had read and ignored the rest while the throughput runs went on"
        )
    services.start("claims")
    samples = await _drain(bench, group, "ledger.events.v1", 900)
    reading = [i for i, (_, lag) in enumerate(samples) if lag < samples[0][1]]
    if reading:  # from the last sample before the lag moved (the process start-up is not counted)
        (t0, first), (t1, last) = samples[reading[0] - 1], samples[-1]
        bench.row(
            f"claims start-up: read {first - last:,} ledger events (it uses allocation answers and CoC Documents), events/s",
            f"{(first - last) / (t1 - t0):,.0f}",
        )
    await _settle(bench, services, "before the claims run")
    async with bench.watch(["claims.decisions.v1"], pick_decision) as watch:
        probe = chain.claim(0)
        await bench.publish([probe])
        await bench.wait(watch, {probe.claim_id}, "first claim", 120)
        bench.outcomes(watch, {probe.claim_id}, "first claim")
        steady_s = 10 if quick else 30
        sent: dict[str, float] = {}
        meter, t0 = bench.meter(services), time.perf_counter()
        for n in range(1, 20 * steady_s + 1):
            delay = t0 + (n - 1) / 20 - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            request = chain.claim(n)
            sent[request.claim_id] = time.perf_counter()
            await bench.send(request)
            assert bench.producer is not None
            await bench.producer.flush()
        await bench.wait(watch, set(sent), "claim decisions", 120)
        bench.cpu_note(meter, "the 20 claims/s run", len(sent), time.perf_counter() - t0)
        latencies = [watch.arrivals[i] - t for i, t in sent.items() if i in watch.arrivals]
        outcomes = bench.outcomes(watch, set(sent), "claim decisions")
    bench.row(
        f"claim request -> decision at 20 requests/s for {steady_s} s: p50, s",
        f"{percentile(latencies, 0.5):.3f}",
    )
    bench.row(
        "claim request -> decision: p99, s", f"{percentile(latencies, 0.99):.3f}", "target < 1"
    )
    bench.row(
        "claims approved / decided",
        f"{outcomes.get('claim_approved', 0):,} / {sum(outcomes.values()):,}",
    )


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


async def _topic_size(bench: Bench, topic: str) -> int:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bench.endpoints.kafka_bootstrap, enable_auto_commit=False
    )
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in sorted(await partitions(consumer, topic))]
        starts = await consumer.beginning_offsets(tps)
        ends = await consumer.end_offsets(tps)
        return sum(ends[tp] - starts[tp] for tp in tps)
    finally:
        await consumer.stop()


def backend(bench: Bench, broker: str) -> str:
    if not bench.embedded:
        return "external Kafka + MongoDB"
    return f"embedded ({'Apache Kafka ' + kafka_version() if broker == 'apache' else 'tansu'} + SecantusDB)"


def write(runs: list[tuple[str, Bench]], command: str, loads: tuple[str, str]) -> Path:
    """bench-results/latest.md: one table, one figure column per broker run, then each run's notes."""
    RESULTS.mkdir(exist_ok=True)
    lines = [
        f"# Benchmark, {now():%Y-%m-%d %H:%M} UTC",
        "",
        f"Machine: {machine()}",
        "Backend: " + "; ".join(backend(bench, broker) for broker, bench in runs),
        f"Command: `{command}`",
        f"Load average (1/5/15 min) at start: {loads[0]}; at end: {loads[1]}",
        "",
        "| measure | " + " | ".join(broker for broker, _ in runs) + " | target |",
        "| --- | " + "---: | " * len(runs) + "--- |",
    ]
    figures = [{what: figure for what, figure, _ in bench.rows} for _, bench in runs]
    targets: dict[str, str] = {}
    for _, bench in runs:
        for what, _, target in bench.rows:
            targets.setdefault(what, target)
    lines += [
        f"| {what} | " + " | ".join(f.get(what, "") for f in figures) + f" | {target} |"
        for what, target in targets.items()
    ]
    for broker, bench in runs:
        lines += ["", f"Notes ({broker}):", ""] + [f"- {n}" for n in bench.notes]
    path = RESULTS / "latest.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def run_on(
    broker: str,
    args: argparse.Namespace,
    events: int,
    intake_events: int,
    external: Endpoints | None,
) -> Bench:
    """Both parts of the bench on one broker (each part on a fresh embedded stack)."""
    bench = Bench(external or Endpoints("", ""), None, events, args.quick, intake_events)
    peaks: dict[str, float] = {}
    # With the embedded stack each part gets fresh servers: the embedded broker (in memory) slows as a
    # topic grows, and intake's run leaves a quarter of a million records on two topics. On external
    # servers the second part goes on with the first part's databases and consumer groups (new groups
    # would read intake's whole run again from the start of the topics).
    for part in (_intake_part, _chain_part):
        stack = None if external else EmbeddedStack(kafka=broker)
        bench.use(external or stack.start(), stack)  # type: ignore[union-attr]
        services = Services(
            bench.endpoints,
            stack is not None,
            run_id=bench.run,
            log_dir=RESULTS / "logs" / bench.run,
            profile=frozenset(args.profile),
            peaks=peaks,
        )
        try:
            print(
                f"backend: {backend(bench, broker)}{', fresh for this part' if bench.embedded else ''}; "
                f"service logs: {services.log_dir}\n"
            )
            asyncio.run(run(bench, services, part))
        finally:
            services.stop()
            peaks = services.peaks
            if stack:
                stack.stop()
    return bench


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--events",
        type=int,
        default=None,
        help="plant events per throughput run (default 70,000; 5,000 with --quick)",
    )
    parser.add_argument(
        "--intake-events",
        type=int,
        default=None,
        help="plant events of intake's run alone (default 240,000, a minute or more; --events with --quick)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smaller runs, a few minutes (not the published figures)",
    )
    parser.add_argument(
        "--kafka",
        choices=("tansu", "apache", "both"),
        default=None,
        help="the embedded broker: tansu, Apache Kafka (devstack.apache_kafka), or both one after the "
        "other in one run, one column each (default: the KAFKA variable, else tansu)",
    )
    parser.add_argument(
        "--profile",
        action="append",
        default=[],
        metavar="SERVICE",
        help="run a service under cProfile (bench-results/logs/<run>/<service>.prof); repeatable",
    )
    args = parser.parse_args()
    events = args.events or (5_000 if args.quick else 70_000)
    kafka = args.kafka or PlatformSettings().kafka
    command = " ".join(["python -m bench", *sys.argv[1:]]) + (
        "" if args.kafka else f" (KAFKA={kafka})"
    )
    load_start = load_average()
    print(f"\nmachine: {machine()}\nload average at start: {load_start}")
    external = external_endpoints()
    if external is not None and args.kafka is not None:
        parser.error(
            "--kafka chooses the embedded broker; KAFKA_BOOTSTRAP_SERVERS points at an external one"
        )
    intake_events = args.intake_events or (events if args.quick else 240_000)
    brokers = ["tansu", "apache"] if kafka == "both" else [kafka]
    runs = []
    for broker in brokers:
        if len(brokers) > 1:
            print(f"\n===== broker: {broker} =====", flush=True)
        bench = run_on(broker, args, events, intake_events, external)
        runs.append(("external" if external else broker, bench))
    load_end = load_average()
    for _, bench in runs:
        bench.row("load average (1/5/15 min) at start", load_start)
        bench.row("load average (1/5/15 min) at end", load_end)
    print(f"\nwritten to {write(runs, command, (load_start, load_end))}")


if __name__ == "__main__":
    main()
