"""The second part of the run: the chain's ceilings, accounting catching up, intake -> accounting,
event-to-ledger latency and where its slowest 1% goes, claims, memory, balance reads and the upstream
of a document (phases 3 to 8)."""

from __future__ import annotations

import time
from collections import Counter

from bench.answers import (
    LEDGER_TOPICS,
    MOVEMENT_TOPICS,
    MOVEMENTS_TOPIC,
    _refused,
    pick_ledger,
    pick_movement,
)
from bench.balance import balance_read_times
from bench.ceilings import (
    INTAKE_DOCUMENTS,
    accounting_documents,
    chain_ceiling,
    database_ceiling,
    database_figures,
)
from bench.chain import DESIGNATION_EVERY
from bench.claims_phase import _claims
from bench.harness import SITES, Bench, _backlog_run, _settle
from bench.intake_part import _start_intake
from bench.latency import Batches, scrape_batches, slowest_stages
from bench.offsets import commit_group_offsets
from bench.processes import Services
from bench.support import percentile, rate_of
from bench.upstream import upstream_read_times


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


def _mining_note(bench: Bench, outcomes: Counter[str]) -> None:
    mined = {k: v for k, v in outcomes.items() if k.startswith("transformation")}
    if mined:
        bench.note(
            "mining transformations at CoC-certified mines: "
            + ", ".join(f"{k} x{v:,}" for k, v in sorted(mined.items()))
        )
