"""Per-key order when a partition changes owner between live instances of a service.

A key's messages are produced in order by the one instance that owns its partition: it publishes its
outbox in commit order. When the partition moves to another instance (a rebalance: an instance joined,
left, or died), what the old owner committed but had not yet published must go out before the new owner
publishes anything for that key; otherwise the books downstream see a later movement before an earlier
one (another ledger order, another hash chain, perhaps an overdraft refused that the right order allows).

Three moments keep that order, on the consumer's rebalance callbacks (aiokafka runs every member's
`on_partitions_revoked` before any member's `on_partitions_assigned`):

* revoked: the old owner lets its batch in hand finish (the gate), then publishes what it committed
  (drains its outbox) before it rejoins the group;
* assigned: the new owner first publishes every outbox entry stored (a dead member's, which nobody
  else will drain), then handles records;
* stop: a stopping instance handles no batch after its last drain (`close`), then leaves the group.

A batch fetched before a rebalance and handed to the handler after it, for a partition this instance
no longer owns, is refused (`PartitionsMoved`), and so is a batch handed over while the instance stops
(`Stopping`): the subscriber's nack rewinds it and nothing of it is committed; the partition's owner
reads it from the group's committed offset.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable

from aiokafka import ConsumerRebalanceListener, TopicPartition
from faststream.exceptions import NackMessage

from libs.logs import get_logger
from libs.messaging.outbox import Outbox
from libs.messaging.records import Record

log = get_logger("libs.messaging")


class PartitionsMoved(NackMessage):
    """A batch holds records of partitions this instance no longer owns: not handled, not committed
    (a `NackMessage`: the subscriber rewinds the batch's partitions without logging an error)."""


class Stopping(NackMessage):
    """A batch handed to the handler after the stop's last drain: not handled, not committed."""


class Handover(ConsumerRebalanceListener):  # type: ignore[misc]
    """The consumer's rebalance listener and the gate every batch passes (see the module's docstring)."""

    def __init__(self, outbox: Outbox, *, timeout_s: float) -> None:
        self.outbox = outbox
        self.timeout_s = timeout_s
        """Longest a revocation or a stop waits for the batch in hand and the drain: past it the rebalance
        goes on and what is left in the outbox goes out with the next owner's assignment, or the relay."""
        self.gate = asyncio.Lock()
        """Held while a batch is handled, and while the outbox is drained or swept for a rebalance."""
        self.owned: set[tuple[str, int]] | None = None
        """The partitions of the last assignment; None before any (a consumer without group management,
        such as FastStream's in-memory test broker, is never assigned: all its batches are admitted)."""
        self.closed = False
        self.swept = 0
        """Messages this instance published from outbox entries left by others when it was assigned partitions."""

    def admit(self, records: Iterable[Record]) -> None:
        """Called under the gate before a batch is handled: refuse it when a rebalance took any of its
        partitions away (the caller's nack rewinds them; their new owner reads them from the committed offset)."""
        if self.owned is None:
            return
        moved = {(r.topic, r.partition) for r in records} - self.owned
        if moved:
            log.warning("batch_of_moved_partitions_refused", partitions=sorted(moved))
            raise PartitionsMoved()

    async def refuse(self) -> None:
        """Called for a batch that came after `close`: refuse it, a little later (the consumer fetches
        it again until its subscriber stops, a moment later; this keeps that loop from spinning)."""
        await asyncio.sleep(0.05)
        raise Stopping()

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        if not revoked:
            self.owned = set()
            return
        try:
            await asyncio.wait_for(self._quiesce(), self.timeout_s)
        except TimeoutError:
            self.owned = set()
            log.warning("handover_drain_timed_out", partitions=len(revoked), timeout_s=self.timeout_s)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        async with self.gate:
            self.owned = {(tp.topic, tp.partition) for tp in assigned}
            if not assigned:
                return
            # Every live member drained on revocation and handles nothing until it is assigned, so what
            # is stored now is a dead member's (or one whose publish failed): published before this
            # instance handles its new partitions. Not only what is older than this instance's own
            # revocation: a member still finishing its batch then may have committed it and died after
            # (seen on Apache Kafka). A member assigned a moment earlier may have an entry stored too:
            # it is published twice, in order (consumers dedupe).
            try:
                self.swept += await asyncio.wait_for(self.outbox.flush(created_before=time.time()),
                                                     self.timeout_s)
            except Exception as exc:  # noqa: BLE001 - the relay publishes it later; order is then at risk
                log.warning("handover_sweep_failed", error=repr(exc)[:300])

    async def close(self) -> None:
        """A graceful stop: handle no further batch, let the one in hand finish, publish what committed.
        Partitions are released afterwards, when the consumer leaves the group."""
        self.closed = True
        try:
            await asyncio.wait_for(self._quiesce(), self.timeout_s)
        except TimeoutError:
            log.warning("stop_drain_timed_out", timeout_s=self.timeout_s)

    async def _quiesce(self) -> None:
        async with self.gate:
            self.owned = set()
            await self.outbox.drain()
