"""Fault tests for a partition changing owner between two live instances of one service (intake): what
the old owner committed for a partition is published before the new owner publishes anything of its
own for it, so every site's movements reach accounting in the order its plant events were sent (the
ledger's order, on which the overdraft check and each entry's hash depend).

The orphan relay (another instance republishes outbox entries older than `relay_orphan_after_s`) is set
out of reach here (a minute) so that only the handover itself can keep the order: a relay seconds later
is already too late, the new owner has published the events that came after by then."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from services.intake.config import Settings as IntakeSettings
from tests.faults_support import (
    Chain,
    FaultStack,
    Harness,
    Journey,
    ServiceProcess,
    Tally,
    free_port,
    group_members,
    interleave,
    publish,
    start_groups_at_end,
)
from tests.support import service_settings

pytestmark = pytest.mark.integration

SEED = int(os.environ.get("FAULT_SEED", "20261122")) + 5
RELAY_OUT_OF_REACH = {"INTAKE_RELAY_ORPHAN_AFTER_S": "60"}
FAILPOINT = {"INTAKE_FAILPOINT": "crash_after_commit:plant.events.v1"}
SLOW = {"INTAKE_FAILPOINT": "slow_publish:0.3,slow_stop:1"}


def streams(chain: Chain, journey: Journey, per_mine: int) -> tuple[list[Any], dict[str, list[Any]]]:
    """`per_mine` mining events for each mine (each mine's site on its own partition), interleaved."""
    day = date(2026, 3, 2)
    by_site = {m.site: [journey.mine(m, day, Decimal(n + 1)) for n in range(per_mine)] for m in chain.mines}
    return interleave(list(by_site.values()), journey.rng), by_site


async def movements_in_order(tally: Tally, by_site: dict[str, list[Any]], instances: list[ServiceProcess],
                             deadline_s: float) -> None:
    """Wait for every event's movement, then check each site's movements came in its events' order."""
    wanted = {e.event_id for events in by_site.values() for e in events}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + deadline_s
    while not wanted <= tally.update().movements.keys():
        if loop.time() > deadline:
            missing = len(wanted - tally.movements.keys())
            logs = "\n".join(f"--- {i.name}\n{i.tail(1500)}" for i in instances)
            raise AssertionError(f"{missing} of {len(wanted)} movements never published in {deadline_s:.0f}s "
                                 f"(a committed batch left in the outbox of an instance that lost its partition):\n"
                                 f"{logs}")
        await asyncio.sleep(0.1)  # polling what the movements topic carried, with a deadline
    for site, events in by_site.items():
        order = list(dict.fromkeys(r.message.movement_id for r in tally.movement_records if r.message.site_id == site))
        sent = [e.event_id for e in events]
        if order != sent:
            first = next(i for i, (a, b) in enumerate(zip(order, sent, strict=True)) if a != b)
            late = order.index(sent[first])
            raise AssertionError(
                f"site {site}: the movement of its event #{first} was published at position {late}, after "
                f"{late - first} movements of events sent after it: a partition changed owner before what its "
                f"old owner had committed was published")


@dataclass
class Pair:
    faults: FaultStack
    tally: Tally
    harness: Harness
    instances: list[ServiceProcess]

    @property
    def ports(self) -> list[int]:
        return [int(i.env["INTAKE_HEALTH_PORT"]) for i in self.instances]


@contextlib.asynccontextmanager
async def intake_pair(tmp_path: Any, chain: Chain, journey: Journey, first: dict[str, str]) -> AsyncIterator[Pair]:
    """A stack, two intake instances in one group (the first with `first`'s failpoints, both with the
    relay out of reach), the registry projected; both stopped at the end."""
    async with FaultStack(tmp_path / "stack") as faults:
        settings = service_settings(IntakeSettings, faults.endpoints)
        await start_groups_at_end(faults.endpoints.kafka_bootstrap, settings)
        tally = Tally(faults.recorder, chain.run)
        harness = Harness(journey, tally, faults.sender.producer, faults.endpoints.mongodb_uri, settings.database,
                          settings.database)
        instances = [ServiceProcess(f"intake-{i + 1}", "services.intake", "INTAKE", settings, tmp_path,
                                    env={"INTAKE_HEALTH_PORT": str(free_port()), **RELAY_OUT_OF_REACH})
                     for i in range(2)]
        try:
            instances[0].start(**first)
            instances[1].start()
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 60
            while await group_members(settings.kafka_bootstrap_servers, settings.group_id) != 2:
                assert loop.time() < deadline, "the two intake instances never both joined the group"
                await asyncio.sleep(0.2)  # polling the broker's view of the group
            await registry_projected(faults, harness, chain)
            yield Pair(faults, tally, harness, instances)
            assert instances[1].alive, f"intake-2 exited:\n{instances[1].tail()}"
        finally:
            for instance in instances:
                if instance.alive:
                    await instance.terminate()
            await harness.close()


async def registry_projected(faults: FaultStack, harness: Harness, chain: Chain) -> None:
    """Publish the registry and wait until intake knows every mine's site."""
    await publish(faults.sender.producer, chain.registry_messages())
    sites = [m.site for m in chain.mines]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 90
    while await harness.intake["sites"].count_documents({"_id": {"$in": sites}}) < len(sites):
        assert loop.time() < deadline, "intake never projected the registry"
        await asyncio.sleep(0.1)  # polling intake's projection


async def plant_events_consumed(instance: ServiceProcess, port: int) -> int:
    stats = await instance.stats(port)
    return int(stats["consumers"]["plant.events.v1"]["messages"]) if stats else -1


async def test_sigterm_mid_stream_hands_its_partitions_over_with_every_site_in_order(tmp_path):
    """Instance 1 is stopped with SIGTERM while four mines stream; instance 2 takes its partitions at once
    (the leaver's LeaveGroup starts the rebalance). Instance 1's failpoints: each publish waits 0.3 s (a
    slow broker: committed batches wait in its outbox) and its subscribers stop a second after the stop
    began (a slow shutdown). It passed on the code before the handover too (the race it guards needs
    more load than this); it fails when the stopping instance drains nothing and the new owner does
    not publish what was left first (33 of 1,600 movements then never came)."""
    chain = Chain(mines=4, refineries=0)
    journey = Journey(chain, SEED, generate=False)
    events, by_site = streams(chain, journey, per_mine=400)
    async with intake_pair(tmp_path, chain, journey, SLOW) as pair:
        sending = asyncio.create_task(publish(pair.faults.sender.producer, events, rate=200))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while True:  # both instances handle plant events and a third of them are answered
            counts = [await plant_events_consumed(i, p) for i, p in zip(pair.instances, pair.ports, strict=True)]
            if min(counts) > 0 and len(pair.tally.update().movements) >= len(events) // 3:
                break
            assert loop.time() < deadline, f"the plant partitions were never shared: consumed {counts}"
            await asyncio.sleep(0.05)  # polling the instances' counters
        first = pair.instances[0]
        code = await first.terminate()
        assert code == 0, f"SIGTERM is a graceful stop, intake-1 exited with {code}:\n{first.tail()}"
        await sending
        await movements_in_order(pair.tally, by_site, pair.instances, deadline_s=45)


async def test_a_live_instance_taking_a_dead_ones_partitions_publishes_its_committed_batch_first(tmp_path):
    """Instance 1 dies (its failpoint: exit right after its first plant batch commits, before the
    outbox is published); instance 2 takes its partitions when the session times out. It must publish
    what instance 1 committed before it handles those partitions itself (the outbox entry says which
    movements; the redelivered records are duplicates to it and produce nothing). Failed before the
    handover: that batch's movement never came within the test's 45 s."""
    chain = Chain(mines=4, refineries=0)
    journey = Journey(chain, SEED, generate=False)
    events, by_site = streams(chain, journey, per_mine=60)
    async with intake_pair(tmp_path, chain, journey, FAILPOINT) as pair:
        await publish(pair.faults.sender.producer, events, rate=30)  # eight seconds: the takeover is mid-stream
        first = pair.instances[0]
        code = await asyncio.wait_for(asyncio.to_thread(first.proc.wait), 60)  # type: ignore[union-attr]
        assert code == 70, f"intake-1 should have crashed at its failpoint:\n{first.tail()}"
        await movements_in_order(pair.tally, by_site, pair.instances, deadline_s=45)
