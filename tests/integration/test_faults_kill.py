"""Fault test: kill -9 intake and accounting at random moments while plant events flow; the books
come out exactly as an undisturbed run (the reference computed with the pure domains) says."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest

from services.accounting.config import Settings as AccountingSettings
from services.intake.config import Settings as IntakeSettings
from tests.faults_support import (
    Chain,
    FaultStack,
    Harness,
    Journey,
    ServiceProcess,
    Tally,
    publish,
    start_groups_at_end,
)
from tests.support import service_settings

pytestmark = pytest.mark.integration

SEED = int(os.environ.get("FAULT_SEED", "20261122"))
FAILPOINTS = {"intake": {"INTAKE_FAILPOINT": "crash_after_commit:plant.events.v1"},
              "accounting": {"ACCOUNTING_FAILPOINT": "crash_after_commit:material.movements.v1"}}


class Chaos:
    """Kills services with -9 when their progress crosses seeded thresholds and restarts them at once.
    The first restart of each service is armed with a failpoint that exits right after its first batch
    commits and before anything is published (the narrowest window); it is then restarted plainly.
    Any other exit of a service is a failure."""

    def __init__(self, services: dict[str, ServiceProcess], progress: dict[str, Callable[[], float]],
                 plan: list[tuple[float, str]]) -> None:
        self.services, self.progress = services, progress
        self.plan = sorted(plan)
        self.kills: list[tuple[str, float]] = []
        self.failpoint_exits: list[str] = []
        self.error: AssertionError | None = None
        self._killing: set[str] = set()

    async def check(self) -> None:
        """Restart a service that crashed at its failpoint; fail on any other exit."""
        if self.error:
            raise self.error
        for name, service in self.services.items():
            code = service.returncode
            if service.proc is None or code is None or name in self._killing:
                continue
            if code == 70 and service.armed:
                self.failpoint_exits.append(name)
                service.start()
                continue
            self.error = AssertionError(f"{name} exited on its own with code {code}:\n{service.tail()}")
            raise self.error

    async def run(self) -> None:
        while True:
            await self.check()
            for threshold, name in list(self.plan):
                progress = self.progress[name]()
                before = [p for n, p in self.kills if n == name]
                # Kill a service that works: past its threshold, and further than at its previous kill.
                if progress < threshold or (before and progress < before[-1] + 0.05):
                    continue
                self.plan.remove((threshold, name))
                service = self.services[name]
                self._killing.add(name)
                try:
                    await service.kill()
                    self.kills.append((name, round(progress, 3)))
                    service.start(**(FAILPOINTS[name] if not before else {}))
                finally:
                    self._killing.discard(name)
            await asyncio.sleep(0.05)  # watching progress


async def test_kill_9_at_random_moments_loses_nothing_and_counts_nothing_twice(tmp_path):
    async with FaultStack(tmp_path / "stack") as faults:
        await _kill_at_random_moments(faults, tmp_path)


async def _kill_at_random_moments(faults: FaultStack, tmp_path) -> None:
    stack, recorder, sender = faults.endpoints, faults.recorder, faults.sender
    rng = random.Random(SEED)
    chain = Chain(mines=4, refineries=4)
    journey = Journey(chain, SEED, mine_events=180, refinery_events=60, later_events=90)
    intake_settings = service_settings(IntakeSettings, stack)
    accounting_settings = service_settings(AccountingSettings, stack)
    await start_groups_at_end(stack.kafka_bootstrap, intake_settings, accounting_settings)
    services = {
        "intake": ServiceProcess("intake", "services.intake", "INTAKE", intake_settings, tmp_path),
        "accounting": ServiceProcess("accounting", "services.accounting", "ACCOUNTING", accounting_settings, tmp_path),
    }
    tally = Tally(recorder, chain.run)
    events, entries = len(journey.events), len(journey.phases[-1].expected.entries)
    progress = {"intake": lambda: (len(tally.movements) + len(tally.rejected)) / events,
                "accounting": lambda: len(tally.entries) / entries}
    plan = [(round(rng.uniform(0.05, 0.85), 3), name) for name in ("intake", "accounting") for _ in range(2)]
    chaos = Chaos(services, progress, plan)
    harness = Harness(journey, tally, sender.producer, stack.mongodb_uri, intake_settings.database,
                      accounting_settings.database, watch=chaos.check)
    for service in services.values():
        service.start()
    chaos_task: asyncio.Task[None] | None = None
    try:
        await harness.registry()
        chaos_task = asyncio.create_task(chaos.run())
        for phase in journey.phases:
            await harness.play(phase, rate=400)
        await recorder.settle(quiet_s=1.0)
        problems = await harness.problems(journey.phases[-1].expected)
        assert not problems, "\n".join(problems[:30])
        assert len(chaos.kills) == len(plan), f"not every planned kill happened: {chaos.kills} of {plan}"
        print(f"\n{events} plant events, {entries} ledger entries; kills (service, progress): {chaos.kills}; "
              f"failpoint exits: {chaos.failpoint_exits}; timeline: {harness.timeline}")
    finally:
        if chaos_task is not None:
            chaos_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, AssertionError):
                await chaos_task
        for service in services.values():
            if service.alive:
                await service.terminate()
        await harness.close()



async def test_a_restarted_service_publishes_what_its_crashed_predecessor_committed_before_anything_new(tmp_path):
    """The narrow case behind the random kills: intake commits a batch and dies before publishing it
    (the failpoint); its successor must publish that batch's movement before the movements of events that
    arrive after it, or accounting books the site's movements out of order."""
    chain = Chain(mines=1, refineries=1)
    mine = chain.mines[0]
    journey = Journey(chain, SEED, generate=False)
    day = date(2026, 3, 2)
    first = journey.mine(mine, day, Decimal(100))
    later = [journey.mine(mine, day, Decimal(n + 1)) for n in range(40)]
    async with FaultStack(tmp_path / "stack") as faults:
        settings = service_settings(IntakeSettings, faults.endpoints)
        await start_groups_at_end(faults.endpoints.kafka_bootstrap, settings)
        intake = ServiceProcess("intake", "services.intake", "INTAKE", settings, tmp_path)
        tally = Tally(faults.recorder, chain.run)
        harness = Harness(journey, tally, faults.sender.producer, faults.endpoints.mongodb_uri, settings.database,
                          settings.database)
        try:
            intake.start(**FAILPOINTS["intake"])
            await publish(faults.sender.producer, chain.registry_messages())
            deadline = asyncio.get_running_loop().time() + 60
            while await harness.intake["sites"].count_documents({"_id": mine.site}) == 0:
                assert asyncio.get_running_loop().time() < deadline, "intake never projected the registry"
                await asyncio.sleep(0.1)  # polling intake's projection
            await publish(faults.sender.producer, [first])
            code = await asyncio.wait_for(asyncio.to_thread(intake.proc.wait), 60)  # type: ignore[union-attr]
            assert code == 70, f"intake should have crashed at its failpoint:\n{intake.tail()}"
            assert await harness.intake["outbox"].count_documents({}) == 1, "the committed movement waits in the outbox"
            intake.start()
            await publish(faults.sender.producer, later, rate=20)
            wanted = [first.event_id] + [e.event_id for e in later]
            while not all(e in tally.update().movements for e in wanted):
                assert asyncio.get_running_loop().time() < deadline + 60, f"movements missing:\n{intake.tail()}"
                await asyncio.sleep(0.1)  # polling what the topics carried
            order = list(dict.fromkeys(r.message.movement_id for r in tally.movement_records))
            assert order == wanted, (
                f"the crashed instance's committed movement was published at position {order.index(first.event_id)}, "
                f"after {order.index(first.event_id)} movements of events sent after it: the successor consumes and "
                f"publishes before it flushes the outbox its predecessor left")
        finally:
            if intake.alive:
                await intake.terminate()
            await harness.close()
