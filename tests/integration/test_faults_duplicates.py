"""Fault test: every message of a journey delivered twice, in shuffled order across partitions; the
books come out exactly as the reference says (nothing counted twice)."""

from __future__ import annotations

import asyncio
import os
import random
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
    duplicated_and_shuffled,
    interleave,
    publish,
    raw,
    start_groups_at_end,
)
from tests.support import running, service_settings

pytestmark = pytest.mark.integration

SEED = int(os.environ.get("FAULT_SEED", "20261122")) + 2


def duplicates(runtime, topic: str) -> int:
    return next(c for c in runtime.consumers if c.topic.name == topic).stats.duplicates


async def test_every_message_twice_and_shuffled_across_partitions_gives_the_same_books(tmp_path):
    rng = random.Random(SEED)
    chain = Chain(mines=4, refineries=4)
    journey = Journey(chain, SEED, mine_events=110, refinery_events=40, later_events=60)
    async with FaultStack(tmp_path / "stack") as faults:
        intake_settings = service_settings(IntakeSettings, faults.endpoints)
        accounting_settings = service_settings(AccountingSettings, faults.endpoints)
        await start_groups_at_end(faults.endpoints.kafka_bootstrap, intake_settings, accounting_settings)
        tally = Tally(faults.recorder, chain.run)
        harness = Harness(journey, tally, faults.sender.producer, faults.endpoints.mongodb_uri,
                          intake_settings.database, accounting_settings.database)
        try:
            async with running(build_intake, intake_settings) as intake, \
                    running(build_accounting, accounting_settings) as accounting:
                registry = chain.registry_messages()
                # The registry twice, shuffled (its messages have different keys, so any order can happen).
                await harness.registry(interleave([registry, rng.sample(registry, len(registry))], rng))
                plant_sent = replayed_movements = replayed_documents = 0
                for phase in journey.phases:
                    deliveries = duplicated_and_shuffled(phase.events, rng)
                    assert len(deliveries) == 2 * len(phase.events)
                    await harness.play(phase, deliveries=deliveries)
                    plant_sent += len(phase.events)
                    # What the services published goes round a second time as well: movements to accounting,
                    # CoC Documents to intake, each record exactly as it was (same event id, key and bytes).
                    tally.update()
                    movements = tally.movement_records[replayed_movements:]
                    documents = tally.document_records[replayed_documents:]
                    await publish(faults.sender.producer, raw(interleave([movements, documents], rng)))
                    replayed_movements += len(movements)
                    replayed_documents += len(documents)
                    deadline = time.monotonic() + 60
                    while not (duplicates(intake, "plant.events.v1") >= plant_sent
                               and duplicates(accounting, "material.movements.v1") >= replayed_movements
                               and duplicates(intake, "ledger.events.v1") >= replayed_documents):
                        assert time.monotonic() < deadline, (
                            f"the second copies were not all consumed: intake saw "
                            f"{duplicates(intake, 'plant.events.v1')} of {plant_sent} plant duplicates and "
                            f"{duplicates(intake, 'ledger.events.v1')} of {replayed_documents} document "
                            f"duplicates, accounting {duplicates(accounting, 'material.movements.v1')} of "
                            f"{replayed_movements} movement duplicates")
                        await asyncio.sleep(0.1)  # polling the consumers' counters, with a deadline
                    await faults.recorder.settle(quiet_s=0.5)
                    problems = await harness.problems(phase.expected)
                    assert not problems, f"after the second copies of phase {phase.name}:\n" + "\n".join(problems[:30])
                harness.mark("all second copies consumed")
                assert replayed_movements == sum(1 for a in journey.phases[-1].expected.answers.values()
                                                 if a == "accepted")
                print(f"\n{plant_sent} plant events x2, {replayed_movements} movements x2, {replayed_documents} "
                      f"documents x2; timeline {harness.timeline}")
        finally:
            await harness.close()
