"""Fault test: the database restarts mid-stream (the embedded one keeps its files); the services
reconnect and catch up on their own, and the books come out exactly as the reference says."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time

import pytest

from services.accounting.app import build_runtime as build_accounting
from services.accounting.config import Settings as AccountingSettings
from services.intake.app import build_runtime as build_intake
from services.intake.config import Settings as IntakeSettings
from tests.faults_support import (
    Chain,
    FaultStack,
    Harness,
    Journey,
    Tally,
    start_groups_at_end,
)
from tests.support import running, service_settings

pytestmark = pytest.mark.integration

SEED = int(os.environ.get("FAULT_SEED", "20261122")) + 4
OUTAGE_S = 3.0


async def test_the_database_restarts_mid_stream_and_the_services_catch_up_alone(tmp_path):
    chain = Chain(mines=3, refineries=3)
    journey = Journey(chain, SEED, mine_events=150, refinery_events=50, later_events=80)
    async with FaultStack(tmp_path / "stack") as faults:
        intake_settings = service_settings(IntakeSettings, faults.endpoints)
        accounting_settings = service_settings(AccountingSettings, faults.endpoints)
        await start_groups_at_end(faults.endpoints.kafka_bootstrap, intake_settings, accounting_settings)
        tally = Tally(faults.recorder, chain.run)
        entries = len(journey.phases[-1].expected.entries)
        outage: dict[str, float] = {}

        async def restart_database() -> None:
            while len(tally.update().entries) < 0.25 * entries:
                await asyncio.sleep(0.05)  # watching progress
            outage["entries_before"] = len(tally.entries)
            outage["stopped_at"] = time.monotonic()
            await faults.stop_mongo()
            await asyncio.sleep(OUTAGE_S)  # the outage itself
            await faults.start_mongo()
            outage["started_at"] = time.monotonic()
            outage["entries_at_restart"] = len(tally.update().entries)

        restarter: asyncio.Task[None] | None = None

        async def watch() -> None:
            if restarter is not None and restarter.done() and restarter.exception() is not None:
                raise restarter.exception()  # type: ignore[misc]

        harness = Harness(journey, tally, faults.sender.producer, faults.endpoints.mongodb_uri,
                          intake_settings.database, accounting_settings.database, watch=watch)
        try:
            async with running(build_intake, intake_settings), running(build_accounting, accounting_settings):
                await harness.registry()
                restarter = asyncio.create_task(restart_database())
                for phase in journey.phases:
                    await harness.play(phase, rate=300)
                assert restarter.done(), "the stream ended before the database was restarted"
                restarter.result()
                await faults.recorder.settle(quiet_s=1.0)
                problems = await harness.problems(journey.phases[-1].expected)
                assert not problems, "\n".join(problems[:30])
                assert outage["entries_at_restart"] < entries, "the outage must fall inside the stream"
                print(f"\n{len(journey.events)} plant events, {entries} entries; database down for "
                      f"{outage['started_at'] - outage['stopped_at']:.1f}s after {outage['entries_before']} entries; "
                      f"timeline {harness.timeline}")
        finally:
            if restarter is not None:
                restarter.cancel()
                with contextlib.suppress(BaseException):
                    await restarter
            if faults.stack.pids["mongo"] is None:
                await faults.start_mongo()
            await harness.close()
