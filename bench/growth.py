"""Growth (issue 20, item 6): does the chain keep its throughput as its topics and databases grow?

    python -m bench.growth [--events 1000000] [--window 100000] [--kafka tansu|apache|both]
                           [--max-minutes M]

`make bench-growth` runs it with the defaults. The chain (certificates, intake, accounting, each a
separate process as in production) runs on one stack for the whole run, which is what a platform in
production does and what the main bench avoids (it gives each part a fresh stack). The plant events go
in window by window: the bench produces a window's events as fast as it can while the services run,
then waits until intake and accounting have committed everything (consumer-group lag 0, polled every
second). A window's rate is its events over the time from its first send to that moment. Per window it
also prints each process's CPU per event, the broker's and the database's resident memory and the
records the three topics of the chain hold by then.

Flat means the last windows run at the rate of the first: the bench prints the ratio of the last two
windows' mean rate to the first two's. Every window builds its events before the clock starts and
produces them the same way, so the bench's own share of the two cores is the same in each window; the
ratio, not the absolute rate, is the figure to compare across machines. With KAFKA_BOOTSTRAP_SERVERS and
MONGODB_URI set it runs on those servers instead (their topics already hold what they hold).

`--max-minutes` stops starting new windows after that long, so a slowing broker cannot run for
hours; the table then says how many windows ran.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.answers import MOVEMENTS_TOPIC
from bench.harness import Bench, _settle
from bench.intake_part import _start_intake
from bench.offsets import group_lag, partitions
from bench.processes import Services
from bench.run import run
from bench.support import load_average, machine
from devstack.embedded import EmbeddedStack, Endpoints
from devstack.stack import external_endpoints
from libs.settings import PlatformSettings

RESULTS = Path("bench-results")
PLANT_TOPIC = "plant.events.v1"
LEDGER_TOPIC = "ledger.events.v1"
CHAIN_TOPICS = (PLANT_TOPIC, MOVEMENTS_TOPIC, LEDGER_TOPIC)
CAUGHT_UP = (("intake", PLANT_TOPIC), ("accounting", MOVEMENTS_TOPIC))


@dataclass(frozen=True)
class Window:
    """One window of the run: its events, how long the chain took, and what it cost."""

    number: int
    events: int
    seconds: float
    cpu_ms_per_event: dict[str, float]
    rss_mb: dict[str, float]
    records: dict[str, int]
    """Records on each of the chain's topics when the window was done."""

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else float("nan")


@dataclass
class Growth:
    """The windows of one broker's run."""

    broker: str
    windows: list[Window] = field(default_factory=list)
    stopped_early: str = ""

    def flatness(self) -> float:
        return flatness_of([w.rate for w in self.windows])


def flatness_of(rates: list[float]) -> float:
    """Mean rate of the last two windows over the first two's (1.0: flat); NaN under four windows."""
    if len(rates) < 4:
        return float("nan")
    return (sum(rates[-2:]) / 2) / (sum(rates[:2]) / 2)


def rss_mb(pid: int | None) -> float:
    if pid is None:
        return float("nan")
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


async def topic_records(bootstrap: str, topics: tuple[str, ...]) -> dict[str, int]:
    """Records each topic holds (end offset minus beginning offset, over its partitions)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        out = {}
        for topic in topics:
            tps = [TopicPartition(topic, p) for p in sorted(await partitions(consumer, topic))]
            starts, ends = await consumer.beginning_offsets(tps), await consumer.end_offsets(tps)
            out[topic] = sum(ends[tp] - starts[tp] for tp in tps)
        return out
    finally:
        await consumer.stop()


async def caught_up_at(bench: Bench, services: Services, timeout_s: float) -> float | None:
    """Poll, every second, until intake and accounting have committed their topics to the end; the
    perf-counter time it was first seen, or None after `timeout_s`."""
    deadline = time.perf_counter() + timeout_s
    while time.perf_counter() < deadline:
        lags = [
            await group_lag(bench.endpoints.kafka_bootstrap, services.group(name), topic)
            for name, topic in CAUGHT_UP
        ]
        if all(lag == 0 for lag in lags):
            return time.perf_counter()
        await asyncio.sleep(1)
    return None


async def one_window(bench: Bench, services: Services, number: int, size: int) -> Window | None:
    meter = bench.meter(services)
    sent = await bench.stream(size)
    first = min(sent.values())
    done = await caught_up_at(bench, services, timeout_s=max(600.0, size / 20))
    if done is None:
        return None
    spent = meter.stop()
    pids = bench.stack.pids if bench.stack is not None else {}
    return Window(
        number=number,
        events=len(sent),
        seconds=done - first,
        cpu_ms_per_event={name: 1000 * s / len(sent) for name, s in spent.items()},
        rss_mb={"broker": rss_mb(pids.get("kafka")), "database": rss_mb(pids.get("mongo"))},
        records=await topic_records(bench.endpoints.kafka_bootstrap, CHAIN_TOPICS),
    )


def print_window(w: Window) -> None:
    cpu = ", ".join(f"{name} {ms:.2f}" for name, ms in w.cpu_ms_per_event.items())
    print(
        f"  window {w.number}: {w.events:,} events in {w.seconds:.0f} s, {w.rate:,.0f}/s; "
        f"topics {', '.join(f'{t} {n:,}' for t, n in w.records.items())}; "
        f"RSS broker {w.rss_mb['broker']:.0f} MB, database {w.rss_mb['database']:.0f} MB; CPU ms/event: {cpu}",
        flush=True,
    )


async def _windows(
    bench: Bench, services: Services, growth: Growth, args: argparse.Namespace
) -> None:
    """The chain started, then the windows one after the other (on `bench.run.run`'s topics and producer)."""
    await _start_intake(bench, services)
    services.start("accounting")
    await _settle(bench, services, "before the first window")
    started = time.perf_counter()
    windows = -(-args.events // args.window)
    for number in range(1, windows + 1):
        if time.perf_counter() - started > 60 * args.max_minutes:
            growth.stopped_early = f"stopped after {args.max_minutes} minutes (--max-minutes)"
            break
        size = min(args.window, args.events - (number - 1) * args.window)
        window = await one_window(bench, services, number, size)
        if window is None:
            growth.stopped_early = f"window {number} did not catch up within its time limit"
            break
        growth.windows.append(window)
        print_window(window)


def run_on(broker: str, args: argparse.Namespace, external: Endpoints | None) -> Growth:
    growth = Growth(broker="external" if external else broker)
    stack = None if external else EmbeddedStack(kafka=broker)
    endpoints = external or stack.start()  # type: ignore[union-attr]
    bench = Bench(endpoints, stack, args.window, False)
    services = Services(
        endpoints, stack is not None, run_id=bench.run, log_dir=RESULTS / "logs" / bench.run
    )
    try:
        print(
            f"\n===== growth on {growth.broker}: {args.events:,} events in windows of {args.window:,} ====="
        )
        asyncio.run(run(bench, services, lambda b, s: _windows(b, s, growth, args)))
    finally:
        services.stop()
        if stack is not None:
            stack.stop()
    return growth


def table(runs: list[Growth], command: str, loads: tuple[str, str]) -> list[str]:
    lines = [
        f"# Growth run, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"Machine: {machine()}",
        f"Command: `{command}`",
        f"Load average (1/5/15 min) at start: {loads[0]}; at end: {loads[1]}",
    ]
    for growth in runs:
        lines += [
            "",
            f"## {growth.broker}",
            "",
            "| window | events so far | events/s | records on plant / movements / ledger topics "
            "| broker / database RSS, MB | CPU ms per event |",
            "| ---: | ---: | ---: | ---: | ---: | --- |",
        ]
        so_far = 0
        for w in growth.windows:
            so_far += w.events
            records = " / ".join(f"{w.records.get(t, 0):,}" for t in CHAIN_TOPICS)
            cpu = ", ".join(f"{name} {ms:.2f}" for name, ms in w.cpu_ms_per_event.items())
            lines.append(
                f"| {w.number} | {so_far:,} | {w.rate:,.0f} | {records} "
                f"| {w.rss_mb['broker']:.0f} / {w.rss_mb['database']:.0f} | {cpu} |"
            )
        ratio = growth.flatness()
        said = (
            "not measured (fewer than four windows)"
            if math.isnan(ratio)
            else f"**{ratio:.2f}** (1.00 is flat)"
        )
        lines += [
            "",
            f"Last two windows' rate over the first two's: {said}."
            + (
                f" {growth.stopped_early[0].upper()}{growth.stopped_early[1:]}."
                if growth.stopped_early
                else ""
            ),
        ]
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--events", type=int, default=1_000_000, help="plant events in all (default 1,000,000)"
    )
    parser.add_argument(
        "--window", type=int, default=100_000, help="plant events per window (default 100,000)"
    )
    parser.add_argument(
        "--kafka",
        choices=("tansu", "apache", "both"),
        default=None,
        help="the embedded broker (default: the KAFKA variable, else tansu)",
    )
    parser.add_argument(
        "--max-minutes",
        type=float,
        default=60.0,
        help="start no new window after this many minutes (default 60)",
    )
    args = parser.parse_args(argv)
    if args.events < 1 or args.window < 1:
        parser.error("--events and --window must be positive")
    external = external_endpoints()
    if external is not None and args.kafka is not None:
        parser.error(
            "--kafka chooses the embedded broker; KAFKA_BOOTSTRAP_SERVERS points at an external one"
        )
    kafka = args.kafka or PlatformSettings().kafka
    brokers = ["tansu", "apache"] if kafka == "both" else [kafka]
    command = " ".join(["python -m bench.growth", *(argv if argv is not None else sys.argv[1:])])
    load_start = load_average()
    print(f"machine: {machine()}\nload average at start: {load_start}")
    runs = [run_on(broker, args, external) for broker in brokers]
    lines = table(runs, command, (load_start, load_average()))
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "growth.md"
    path.write_text("\n".join(lines) + "\n")
    print("\n".join(lines[5:]))
    print(f"\nwritten to {path}")


if __name__ == "__main__":
    main()
