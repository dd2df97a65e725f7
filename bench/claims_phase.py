"""Phase 6 of the run: claims started on the ledger so far (how fast it reads it), then claim
decision latency at 20 requests/s, and where the time of its slowest 1% goes: claims' stage (the
request to the allocation command it hands to its producer), accounting's (that command to its
answer), claims' again (the answer to the decision) and the bench's read of the decision, each stamped
like the event-to-ledger stages (bench/latency.py)."""

from __future__ import annotations

import asyncio
import time

from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.answers import (
    LEDGER_TOPICS,
    pick_allocation_answer,
    pick_allocation_command,
    pick_decision,
    pick_ledger,
)
from bench.harness import Bench, _drain, _settle
from bench.latency import Batches, scrape_batches, slowest_hops
from bench.offsets import commit_group_offsets, partitions
from bench.processes import Services
from bench.support import percentile

CLAIMS_LEDGER_BACKLOG = 20_000
HOPS = (
    ("claims: request -> AllocateForClaim handed over", "claims", "claims.requests.v1"),
    ("accounting: AllocateForClaim -> its answer handed over", "accounting", "ledger.commands.v1"),
    ("claims: the answer -> decision handed over", "claims", "ledger.events.v1"),
    ("the bench's read of the decision", "", ""),
)
"""The hops of a claim's trip: what each stage covers, the service and the topic of its batches."""


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
    async with (
        bench.watch(["claims.decisions.v1"], pick_decision) as watch,
        bench.stamps(["ledger.commands.v1"], pick_allocation_command) as asked,
        bench.stamps(["ledger.events.v1"], pick_allocation_answer) as answered,
        bench.stamps(["claims.decisions.v1"], pick_decision) as decided,
    ):
        probe = chain.claim(0)
        await bench.publish([probe])
        await bench.wait(watch, {probe.claim_id}, "first claim", 120)
        bench.outcomes(watch, {probe.claim_id}, "first claim")
        steady_s = 10 if quick else 30
        sent: dict[str, float] = {}
        handling_before = _handling(services)
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
        handling = _handling(services, handling_before)
        latencies = [watch.arrivals[i] - t for i, t in sent.items() if i in watch.arrivals]
        outcomes = bench.outcomes(watch, set(sent), "claim decisions")
        arrived = set(sent) & watch.arrivals.keys()
        for stamps in (asked, answered, decided):
            await stamps.collect(arrived, _published_already, 30)
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
    # The bench's perf counter moved to the wall clock of the records' timestamps.
    offset = time.time() - time.perf_counter()
    on_one_clock = [
        {i: t + offset for i, t in sent.items()},
        asked.arrivals,
        answered.arrivals,
        decided.arrivals,
        {i: t + offset for i, t in watch.arrivals.items()},
    ]
    _where_the_time_goes(bench, on_one_clock, handling)


async def _published_already() -> bool:
    """The allocation commands, answers and decisions of the claims the watch saw decided were all
    published before those decisions arrived: nothing to wait for before reading them."""
    return True


def _handling(services: Services, before: dict[str, Batches] | None = None) -> dict[str, Batches]:
    """Batch handling of claims and accounting so far (`asi_batch_seconds` from their /metrics), per
    "service topic"; with `before`, what was handled since."""
    now: dict[str, Batches] = {}
    for service in services.running:
        if service.alive and service.name in ("claims", "accounting"):
            try:
                for topic, batches in scrape_batches(service.health_port).items():
                    now[f"{service.name} {topic}"] = batches
            except OSError:
                pass
    if before is None:
        return now
    return {key: batches - before.get(key, Batches()) for key, batches in now.items()}


def _where_the_time_goes(
    bench: Bench, stamps: list[dict[str, float]], handling: dict[str, Batches]
) -> None:
    hops = slowest_hops(stamps)
    if hops is None:
        bench.note("where the claim p99 time goes: no claim had every timestamp")
        return
    bench.row(
        f"claim p99 breakdown: the slowest {hops.events} claims (>= {hops.threshold_s:.3f} s), mean trip, s",
        f"{hops.total_s:.3f}",
    )
    for (label, service, topic), seconds in zip(HOPS, hops.seconds, strict=True):
        share = seconds / hops.total_s if hops.total_s else float("nan")
        bench.row(f"  {label}, s (share)", f"{seconds:.3f} ({share:.0%})")
        batches = handling.get(f"{service} {topic}")
        if batches is not None and batches.count:
            bench.row(
                f"    {service} batches on {topic} in the run: count / mean handling, ms",
                f"{batches.count:.0f} / {batches.mean_ms:.1f}",
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
