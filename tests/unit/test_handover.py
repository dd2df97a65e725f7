"""The handover's order of events on a rebalance, with a recording outbox (the brokers' part is in
tests/integration/test_faults_handover.py)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from aiokafka import TopicPartition
from faststream.exceptions import NackMessage

from libs.messaging import Handover, PartitionsMoved, Record


class RecordingOutbox:
    def __init__(self) -> None:
        self.calls: list[Any] = []

    async def drain(self) -> None:
        self.calls.append("drain")

    async def flush(self, *, created_before: float | None = None, older_than_s: float | None = None) -> int:
        self.calls.append(("flush", created_before))
        return 3


def record(partition: int, topic: str = "plant.events.v1") -> Record:
    return Record(topic, partition, 0, b"k", b"{}", [])


async def test_a_batch_of_partitions_the_instance_owns_is_admitted_and_one_of_moved_partitions_is_nacked():
    handover = Handover(RecordingOutbox(), timeout_s=1)  # type: ignore[arg-type]
    handover.admit([record(7)])  # never assigned (no group management, e.g. the in-memory test broker)
    await handover.on_partitions_assigned({TopicPartition("plant.events.v1", 0), TopicPartition("plant.events.v1", 1)})
    handover.admit([record(0), record(1)])
    with pytest.raises(PartitionsMoved) as refused:
        handover.admit([record(1), record(2)])
    assert isinstance(refused.value, NackMessage), "a nack: rewound and redelivered, never committed"
    await handover.on_partitions_revoked({TopicPartition("plant.events.v1", 0)})
    with pytest.raises(PartitionsMoved):
        handover.admit([record(0)])


async def test_revocation_waits_for_the_batch_in_hand_then_drains_before_the_group_moves_on():
    outbox = RecordingOutbox()
    handover = Handover(outbox, timeout_s=5)  # type: ignore[arg-type]
    await handover.on_partitions_assigned({TopicPartition("t", 0)})
    outbox.calls.clear()
    finish = asyncio.Event()

    async def batch() -> None:
        async with handover.gate:
            outbox.calls.append("batch started")
            await finish.wait()
            outbox.calls.append("batch committed")

    handling = asyncio.create_task(batch())
    await asyncio.sleep(0)
    revoking = asyncio.create_task(handover.on_partitions_revoked({TopicPartition("t", 0)}))
    await asyncio.sleep(0.05)
    assert outbox.calls == ["batch started"], "the drain must wait for the batch in hand"
    finish.set()
    await asyncio.gather(handling, revoking)
    assert outbox.calls == ["batch started", "batch committed", "drain"]


async def test_assignment_first_publishes_every_entry_stored_whoever_wrote_it():
    outbox = RecordingOutbox()
    handover = Handover(outbox, timeout_s=5)  # type: ignore[arg-type]
    await handover.on_partitions_revoked(set())
    before = time.time()
    await handover.on_partitions_assigned({TopicPartition("t", 0)})
    [(call, created_before)] = outbox.calls
    # up to the assignment, not only what is older than this instance's revocation: a member still
    # finishing its batch then can commit it and die after
    assert call == "flush" and before <= created_before <= time.time()
    assert handover.swept == 3
    outbox.calls.clear()
    await handover.on_partitions_assigned(set())
    assert outbox.calls == [], "nothing assigned, nothing to publish first"


async def test_after_a_stop_began_no_batch_is_handled():
    outbox = RecordingOutbox()
    handover = Handover(outbox, timeout_s=5)  # type: ignore[arg-type]
    await handover.on_partitions_assigned({TopicPartition("t", 0)})
    outbox.calls.clear()
    await handover.close()
    assert handover.closed and outbox.calls == ["drain"]
    with pytest.raises(NackMessage):
        await handover.refuse()
    with pytest.raises(PartitionsMoved):
        handover.admit([record(0, "t")])
