"""Fault test: two instances each of intake and accounting share their consumer groups and database;
one of each stops mid-stream (intake: SIGTERM, accounting: kill -9); the group rebalances to the one
member left, which takes the stopped instance's partitions and commits every partition to the end, and
the books come out exactly as the reference says (the undisturbed run, computed by the pure domains).
CI runs it on tansu and on Apache Kafka (KAFKA=apache), where the services use the idempotent producer."""

from __future__ import annotations

import asyncio
import contextlib
import os
from typing import Any

import pytest

from services.accounting.config import Settings as AccountingSettings
from services.intake.config import Settings as IntakeSettings
from tests.faults_support import (
    Chain,
    FaultStack,
    PARTITIONS,
    Harness,
    Journey,
    ServiceProcess,
    Tally,
    free_port,
    group_members,
    start_groups_at_end,
    uncommitted_records,
)
from tests.support import service_settings

pytestmark = pytest.mark.integration

SEED = int(os.environ.get("FAULT_SEED", "20261122")) + 3


class Pair:
    """Two instances of one service in one consumer group, each with a health endpoint for its counters."""

    def __init__(self, name: str, module: str, prefix: str, settings: Any, log_dir: Any, topic: str) -> None:
        self.topic = topic
        self.ports = [free_port(), free_port()]
        self.instances = [
            ServiceProcess(f"{name}-{i + 1}", module, prefix, settings, log_dir,
                           env={f"{prefix}_HEALTH_PORT": str(port)})
            for i, port in enumerate(self.ports)
        ]
        self.bootstrap, self.group = settings.kafka_bootstrap_servers, settings.group_id
        self.stopped: ServiceProcess | None = None
        self.counts_at_stop: list[int] = []
        self.rebalanced_after_s: float | None = None

    async def consumed(self) -> list[int]:
        """Messages of the main topic each instance has consumed so far (-1: no answer)."""
        out = []
        for instance, port in zip(self.instances, self.ports, strict=True):
            stats = await instance.stats(port) if instance.alive else None
            out.append(int(stats["consumers"][self.topic]["messages"]) if stats else -1)
        return out

    def check_alive(self) -> None:
        for instance in self.instances:
            if instance is not self.stopped and not instance.alive:
                raise AssertionError(f"{instance.name} exited with {instance.returncode}:\n{instance.tail()}")


async def stop_one_when_shared(pair: Pair, progress: Any, threshold: float, *, graceful: bool,
                               mark: Any = None) -> None:
    """Once both instances consumed part of the stream (the partitions are shared) and progress passed
    the threshold, stop the first instance (SIGTERM: it must exit cleanly) or kill the second (-9)."""
    while True:
        counts = await pair.consumed()
        if min(counts) > 0 and progress() >= threshold:
            break
        await asyncio.sleep(0.1)  # polling the instances' counters
    pair.counts_at_stop = counts
    if mark is not None:
        mark(f"{'SIGTERM' if graceful else 'kill -9'} one of {pair.topic}'s consumers")
    if graceful:
        pair.stopped = pair.instances[0]
        code = await pair.stopped.terminate()
        assert code == 0, f"SIGTERM is a graceful stop, {pair.stopped.name} exited with {code}:\n{pair.stopped.tail()}"
    else:
        pair.stopped = pair.instances[1]
        await pair.stopped.kill()
    # The broker drops the stopped member (at once on SIGTERM: it leaves; after the session timeout on
    # kill -9) and the group rebalances to the one member left.
    stopped_at = asyncio.get_running_loop().time()
    while await group_members(pair.bootstrap, pair.group) != 1:
        await asyncio.sleep(0.2)  # polling the broker's view of the group
    pair.rebalanced_after_s = asyncio.get_running_loop().time() - stopped_at
    if mark is not None:
        mark(f"{pair.topic}: one member left")


async def all_partitions_committed_to_the_end(pair: Pair, timeout_s: float = 30.0) -> dict[int, int | None]:
    """Records past the group's committed offset on every partition of the pair's topic, waiting (up to a
    deadline) for the survivor's last commit; none left on any partition means the survivor took the
    stopped instance's partitions too."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        left = await uncommitted_records(pair.bootstrap, pair.group, pair.topic)
        if all(count == 0 for count in left.values()) or asyncio.get_running_loop().time() > deadline:
            return left
        await asyncio.sleep(0.2)  # the last batch's commit follows its transaction


async def test_two_instances_each_one_stopped_mid_stream_partitions_move_same_books(tmp_path):
    chain = Chain(mines=4, refineries=4)
    journey = Journey(chain, SEED, mine_events=150, refinery_events=50, later_events=80)
    async with FaultStack(tmp_path / "stack") as faults:
        intake_settings = service_settings(IntakeSettings, faults.endpoints)
        accounting_settings = service_settings(AccountingSettings, faults.endpoints)
        await start_groups_at_end(faults.endpoints.kafka_bootstrap, intake_settings, accounting_settings)
        intake = Pair("intake", "services.intake", "INTAKE", intake_settings, tmp_path, "plant.events.v1")
        accounting = Pair("accounting", "services.accounting", "ACCOUNTING", accounting_settings, tmp_path,
                          "material.movements.v1")
        tally = Tally(faults.recorder, chain.run)
        events, entries = len(journey.events), len(journey.phases[-1].expected.entries)
        stoppers: list[asyncio.Task[None]] = []

        async def watch() -> None:
            intake.check_alive()
            accounting.check_alive()
            for task in stoppers:
                if task.done() and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]

        harness = Harness(journey, tally, faults.sender.producer, faults.endpoints.mongodb_uri,
                          intake_settings.database, accounting_settings.database, watch=watch)
        for instance in intake.instances + accounting.instances:
            instance.start()
        try:
            await harness.registry()
            stoppers.append(asyncio.create_task(stop_one_when_shared(
                intake, lambda: (len(tally.movements) + len(tally.rejected)) / events, 0.3, graceful=True,
                    mark=harness.mark)))
            stoppers.append(asyncio.create_task(stop_one_when_shared(
                accounting, lambda: len(tally.entries) / entries, 0.45, graceful=False, mark=harness.mark)))
            for phase in journey.phases:
                await harness.play(phase, rate=300)
            for pair, task in ((intake, stoppers[0]), (accounting, stoppers[1])):
                assert pair.stopped is not None, (
                    f"{pair.topic}: the two instances never both consumed while the stream flowed "
                    f"(partitions not shared?): {await pair.consumed()}")
                await asyncio.wait_for(task, 30)  # the group's rebalance to one member, seen from the broker
            await faults.recorder.settle(quiet_s=1.0)
            problems = await harness.problems(journey.phases[-1].expected)
            assert not problems, "\n".join(problems[:30])
            for pair in (intake, accounting):
                assert await group_members(pair.bootstrap, pair.group) == 1, f"{pair.group}: not one member left"
                left = await all_partitions_committed_to_the_end(pair)
                assert len(left) == PARTITIONS and all(count == 0 for count in left.values()), (
                    f"{pair.topic}: records past the group's committed offsets after the stop: {left}")
                survivor = next(i for i, x in enumerate(pair.instances) if x is not pair.stopped)
                final = await pair.consumed()
                assert final[survivor] > pair.counts_at_stop[survivor], (
                    f"{pair.topic}: the surviving instance consumed nothing after the stop: {pair.counts_at_stop} "
                    f"-> {final}")
            print(f"\n{events} plant events, {entries} entries; consumed by intake instances at the stop "
                  f"{intake.counts_at_stop}, accounting {accounting.counts_at_stop}; one member left "
                  f"{intake.rebalanced_after_s:.1f} s after intake's SIGTERM, {accounting.rebalanced_after_s:.1f} s "
                  f"after accounting's kill -9; timeline {harness.timeline}")
        finally:
            for task in stoppers:
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
            for instance in intake.instances + accounting.instances:
                if instance.alive:
                    await instance.terminate()
            await harness.close()
