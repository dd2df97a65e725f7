"""`make bench`: how fast the platform is, measured, never guessed. Not a test.

Runs against the embedded stack, or real Kafka and MongoDB when KAFKA_BOOTSTRAP_SERVERS and
MONGODB_URI are set. Prints a table, writes it to bench-results/latest.md, and states the machine.

    python -m tests.bench [--events N] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from contracts import certificates, plant
from contracts.common import Activity, Actor, Envelope, ProcessStep, Role
from contracts.registry import ConversionFactor, Member, MembershipClass, Site
from contracts.topics import BY_NAME, topic_for
from libs.embedded import EmbeddedStack, Endpoints, ensure_topics
from libs.stack import external_endpoints
from contracts.topics import ALL_TOPIC_NAMES
from tests.bench_ceilings import INTAKE_DOCUMENTS, broker_ceiling, database_ceiling
from tests.bench_support import Rate, Services, machine

CERTIFICATES_ACTOR = Actor(organisation_id="certificates", role=Role.SERVICE)
SITES = 40


def now() -> datetime:
    return datetime.now(UTC)


class Bench:
    def __init__(self, endpoints: Endpoints, embedded: bool, events: int) -> None:
        self.endpoints = endpoints
        self.embedded = embedded
        self.events = events
        self.rows: list[tuple[str, str, str]] = []
        self.run = uuid.uuid4().hex[:6]
        self.producer: AIOKafkaProducer | None = None

    def row(self, what: str, figure: str, target: str = "") -> None:
        self.rows.append((what, figure, target))
        print(f"  {what:<58} {figure:>22}   {target}", flush=True)

    async def send(self, message: Envelope) -> Any:
        topic = topic_for(message)
        return await self.producer.send(topic.name, topic.encode(message), key=topic.key_of(message).encode())

    def org(self, i: int) -> str:
        return f"bench-{self.run}-org-{i}"

    def site(self, i: int) -> str:
        return f"bench-{self.run}-site-{i}"

    async def register_sites(self) -> None:
        """What the certificates service would have published: members and smelter sites."""
        for i in range(SITES):
            await self.send(certificates.MemberRegistered.create(
                actor=CERTIFICATES_ACTOR, occurred_at=now(),
                member=Member(organisation_id=self.org(i), name=f"Bench smelter {i}",
                              membership_class=MembershipClass.PRODUCTION_AND_TRANSFORMATION,
                              joined_on=date(2024, 1, 1))))
            await self.send(certificates.SiteRegistered.create(
                actor=CERTIFICATES_ACTOR, occurred_at=now(),
                site=Site(site_id=self.site(i), organisation_id=self.org(i), name=f"Bench smelter {i}", country="NO",
                          activities=[Activity.SMELTING, Activity.CASTING],
                          conversion_factors=[ConversionFactor(process_step=ProcessStep.ALUMINA_TO_ALUMINIUM,
                                                               factor=Decimal("0.518"))])))
        await self.producer.flush()

    def plant_event(self, n: int) -> plant.MaterialReceived:
        i = n % SITES
        return plant.MaterialReceived.create(
            actor=Actor(organisation_id=self.org(i), role=Role.PRODUCER), occurred_at=now(), site_id=self.site(i),
            received_on=date.today() - timedelta(days=1), supplier_organisation_id="external-refinery",
            material_category="alumina", product_form="powder", quantity=Decimal("25000") + n % 100, unit="kg",
            due_diligence_reference=f"dd-{n}", due_diligence_status="passed")

    async def stream(self, count: int, *, rate_per_s: float | None = None) -> dict[str, float]:
        """Produce `count` plant events (as fast as possible, or at a steady rate); returns send times."""
        sent: dict[str, float] = {}
        started = time.perf_counter()
        for n in range(count):
            if rate_per_s:
                delay = started + n / rate_per_s - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            event = self.plant_event(n)
            sent[str(event.event_id)] = time.perf_counter()
            await self.send(event)
        await self.producer.flush()
        return sent

    async def count_outputs(self, topic: str, kinds: tuple[type, ...], ids: set[str], id_of: Any,
                            rate: Rate, arrivals: dict[str, float], timeout_s: float) -> None:
        consumer = AIOKafkaConsumer(topic, bootstrap_servers=self.endpoints.kafka_bootstrap,
                                    group_id=f"bench-{self.run}-{uuid.uuid4().hex[:4]}", auto_offset_reset="earliest",
                                    enable_auto_commit=False, fetch_max_wait_ms=20, max_poll_records=5000,
                                    session_timeout_ms=6000, heartbeat_interval_ms=1000)
        await consumer.start()
        spec = BY_NAME[topic]
        deadline = time.perf_counter() + timeout_s
        try:
            while len(arrivals) < len(ids) and time.perf_counter() < deadline:
                batch = await consumer.getmany(timeout_ms=200, max_records=5000)
                stamp = time.perf_counter()
                for records in batch.values():
                    for record in records:
                        message = spec.parse(record.value)
                        if isinstance(message, kinds):
                            key = id_of(message)
                            if key in ids and key not in arrivals:
                                arrivals[key] = stamp
                                rate.add()
        finally:
            await consumer.stop()


async def run(bench: Bench, quick: bool) -> None:
    bench.producer = AIOKafkaProducer(bootstrap_servers=bench.endpoints.kafka_bootstrap, enable_idempotence=False,
                                      acks="all", linger_ms=5)
    await bench.producer.start()
    services = Services(bench.endpoints, bench.embedded)
    try:
        print(f"\nmachine: {machine()}\nbackend: {'embedded (tansu + SecantusDB)' if bench.embedded else 'external'}\n")
        broker = await broker_ceiling(bench.endpoints.kafka_bootstrap, 20_000 if quick else 50_000)
        bench.row("broker ceiling: produce (acks=all), msgs/s", f"{broker['produce_per_s']:,.0f}")
        bench.row("broker ceiling: consume (one group), msgs/s", f"{broker['consume_per_s']:,.0f}")
        db = await database_ceiling(bench.endpoints.mongodb_uri, INTAKE_DOCUMENTS, events=5_000 if quick else 20_000)
        db_ceiling = db["events_per_s"]
        bench.row("database ceiling: intake's documents, batched txns, events/s", f"{db_ceiling:,.0f}")

        from contracts.movements import MaterialReceivedRecorded

        intake = services.start("intake")
        await bench.register_sites()
        probe_ids = set(await bench.stream(1))
        await bench.count_outputs("material.movements.v1", (MaterialReceivedRecorded,), probe_ids,
                                  lambda m: str(m.movement_id), Rate(), {}, 120)
        sent = await bench.stream(bench.events)
        rate, arrivals = Rate(), {}
        await bench.count_outputs("material.movements.v1", (MaterialReceivedRecorded,), set(sent),
                                  lambda m: str(m.movement_id), rate, arrivals, 900)
        services.sample()
        bench.row(f"intake alone: {rate.count:,} events over {rate.seconds:.0f} s, events/s", f"{rate.per_second:,.0f}",
                  "target >= 1,000")
        bench.row("intake alone / database ceiling", f"{rate.per_second / db_ceiling:.2f}", "target >= 0.5")
        bench.row("peak RSS intake, MB", f"{intake.peak_rss_mb:.0f}", "target < 250")
    finally:
        services.stop()
        await bench.producer.stop()


def write(bench: Bench, command: str) -> Path:
    out = Path("bench-results")
    out.mkdir(exist_ok=True)
    lines = [f"# Benchmark, {now():%Y-%m-%d %H:%M} UTC", "", f"Machine: {machine()}",
             f"Backend: {'embedded (tansu + SecantusDB)' if bench.embedded else 'external Kafka + MongoDB'}",
             f"Command: `{command}`", "", "| measure | figure | target |", "| --- | ---: | --- |"]
    lines += [f"| {what} | {figure} | {target} |" for what, figure, target in bench.rows]
    path = out / "latest.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=70_000, help="plant events per throughput run")
    parser.add_argument("--quick", action="store_true", help="smaller runs (not the published figures)")
    args = parser.parse_args()
    external = external_endpoints()
    stack = None if external else EmbeddedStack()
    endpoints = external or stack.start()  # type: ignore[union-attr]
    try:
        asyncio.run(ensure_topics(endpoints.kafka_bootstrap, ALL_TOPIC_NAMES, partitions=4))
        bench = Bench(endpoints, stack is not None, args.events)
        asyncio.run(run(bench, args.quick))
        print(f"\nwritten to {write(bench, 'make bench' + (' (--quick)' if args.quick else ''))}")
    finally:
        if stack:
            stack.stop()


if __name__ == "__main__":
    main()
