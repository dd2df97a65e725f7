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
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from aiokafka import AIOKafkaProducer

from bench.chain_part import _chain_part
from bench.harness import Bench
from bench.intake_part import _intake_part
from bench.processes import Services
from bench.support import load_average, machine
from contracts.topics import ALL_TOPIC_NAMES
from devstack.apache_kafka import kafka_version
from devstack.embedded import EmbeddedStack, Endpoints, ensure_topics
from devstack.stack import external_endpoints
from libs.settings import PlatformSettings

# The parts of the run: bench/harness.py (the Bench: rows, notes, streaming plant events, waiting for
# answers), bench/answers.py (what the watchers look for), bench/intake_part.py (phases 1-2),
# bench/chain_part.py (phases 3-8, with bench/claims_phase.py for 6); this module runs them on each
# broker and writes the table.

RESULTS = Path("bench-results")


def now() -> datetime:
    return datetime.now(UTC)


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
