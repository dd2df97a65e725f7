"""Phase 6 of the run: claims started on the ledger so far (how fast it reads it), then claim
decision latency at 20 requests/s."""

from __future__ import annotations

import asyncio
import time

from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.answers import LEDGER_TOPICS, pick_decision, pick_ledger
from bench.harness import Bench, _drain, _settle
from bench.offsets import commit_group_offsets, partitions
from bench.processes import Services
from bench.support import percentile

CLAIMS_LEDGER_BACKLOG = 20_000


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
