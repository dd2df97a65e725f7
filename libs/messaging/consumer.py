"""A consumer of one topic for one service: parse, dedupe on the inbox, run the handler and write its
output to the outbox in one transaction, dead-letter what cannot be taken, count the batch."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from pydantic import ValidationError
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from contracts.common import Actor, Reason, Role
from contracts.deadletter import DeadLetter, DeadLetterReason
from contracts.topics import Topic, dead_letter_topic
from libs import metrics, tracing
from libs.cancellation import reraise_if_cancelled
from libs.clock import Clock
from libs.logs import get_logger, message_context
from libs.messaging.dead_letters import validation_reasons, as_text, type_tag
from libs.messaging.outbox import Outbox
from libs.messaging.records import INBOX, TALLY, HandlerError, Incoming, Outgoing, Record
from libs.messaging.transaction import BatchHandler, ConflictHandler, Tx, retryable

log = get_logger("libs.messaging")

after_commit_hooks: list[Callable[[str], None]] = []
"""Called with the topic's name after a batch's transaction committed and before its outbox is
published: the fault tests crash a service there (`tests/failpoint.py`). Empty in production."""


class _SeenBefore(Exception):
    """The optimistic inbox insert hit an event id already recorded: redo the batch carefully."""


DUPLICATE_KEY = 11000
CAREFUL_FOR_S = 5.0


def _distinct(items: Sequence[Incoming]) -> bool:
    return len({i.message.event_id for i in items}) == len(items)



@dataclass
class ConsumerStats:
    batches: int = 0
    messages: int = 0
    duplicates: int = 0
    skipped: int = 0
    dead_lettered: int = 0
    emitted: int = 0
    """Messages committed to the outbox (published after commit by the outbox's publisher)."""
    last_batch_at: float = 0.0
    last_dead_letter_at: float = 0.0
    """When (unix seconds) this consumer last sent a message to its dead-letter topic."""

    def dead_lettering(self, count: int) -> None:
        if count:
            self.dead_lettered += count
            self.last_dead_letter_at = time.time()


@dataclass
class Consumer:
    """Processes batches of one topic for one service with the shared delivery semantics."""

    service: str
    topic: Topic
    db: AsyncDatabase[dict[str, Any]]
    outbox: Outbox
    handler: BatchHandler
    clock: Clock
    on_conflict: ConflictHandler | None = None
    wanted: frozenset[str] | None = None
    """Type tags this consumer takes; other messages of the topic are acknowledged unparsed."""
    inbox_while_computing: bool = False
    """The handler writes nothing before its `tx.computing()` block: the inbox records of a batch of
    first deliveries are written during that block instead of before the handler."""
    stats: ConsumerStats = field(default_factory=ConsumerStats)
    counters: metrics.ConsumerMetrics = field(init=False)
    """Its Prometheus metrics (`libs.metrics`), counted once per batch."""
    _careful_until: float = field(default=0.0, init=False)
    """Until then (monotonic), batches read the inbox before they write (see `_transaction`)."""
    max_backoff_s: float = 5.0

    def __post_init__(self) -> None:
        self.counters = metrics.ConsumerMetrics(self.service, self.topic.name)
        self._span_name = f"{self.topic.name} process"

    @property
    def actor(self) -> Actor:
        return Actor(organisation_id=self.service, role=Role.SERVICE)

    async def process(self, records: Sequence[Record]) -> None:
        """Handle a batch; returns once its effects are durable and its output is handed to the
        outbox's publisher (which publishes it in commit order while the next batch is handled)."""
        started = time.perf_counter()
        incoming, dead, skipped = self._parse(records)
        self.stats.skipped += skipped
        parsed = time.perf_counter()
        if not incoming and not dead:  # every record was of a type this consumer does not take
            self.stats.batches += 1
            self.stats.messages += len(records)
            self.counters.batch(len(records), time.perf_counter() - started, {(metrics.SKIPPED, ""): skipped})
            return
        duplicates_before = self.stats.duplicates
        committed = await self._commit(incoming, dead, tracing.BatchTrace(self.service, self._span_name, incoming,
                                                                          size=len(records)))
        self.stats.batches += 1
        self.stats.messages += len(records)
        self.stats.dead_lettering(len(dead))
        self.stats.last_batch_at = time.time()
        for hook in after_commit_hooks:
            hook(self.topic.name)
        docs = [doc for doc in committed if doc is not None]
        self.stats.emitted += sum(len(doc["messages"]) for doc in docs)
        stored = time.perf_counter()
        await self.outbox.submit(docs)
        self._count(records, skipped, self.stats.duplicates - duplicates_before, incoming, docs, started)
        log.debug("batch_processed", topic=self.topic.name, records=len(records), fresh=len(incoming),
                  parse_ms=round(1000 * (parsed - started), 1), transaction_ms=round(1000 * (stored - parsed), 1),
                  handover_ms=round(1000 * (time.perf_counter() - stored), 1))

    def _parse(self, records: Sequence[Record]) -> tuple[list[Incoming], list[Outgoing], int]:
        """The batch's messages of the wanted types, the dead letters of those that do not parse,
        and how many records were skipped (a type this consumer does not take)."""
        incoming: list[Incoming] = []
        dead: list[Outgoing] = []
        skipped = 0
        for record in records:
            if self.wanted is not None and type_tag(record.value) not in self.wanted:
                skipped += 1
                continue
            try:
                message = self.topic.parse(record.value or b"")
            except ValidationError as exc:
                code, reasons = validation_reasons(exc)
                dead.append(self._dead_letter(record, code, reasons))
                continue
            incoming.append(Incoming(message, record))
        return incoming, dead, skipped

    async def _commit(self, incoming: Sequence[Incoming], dead: Sequence[Outgoing],
                      trace: tracing.BatchTrace) -> list[dict[str, Any] | None]:
        """The batch in one transaction; if its handler fails on a message, one transaction per
        message (the failing one dead-lettered) and one for the dead letters. Ends the batch's trace."""
        committed: list[dict[str, Any] | None] = []
        try:
            try:
                committed.append(await self._with_retry(lambda: self._transaction(incoming, dead, trace)))
            except HandlerError:
                for one in incoming:
                    committed.append(await self._with_retry(partial(self._transaction_isolating, one, trace)))
                if dead:
                    committed.append(await self._with_retry(lambda: self._transaction([], dead, trace)))
        except BaseException as exc:
            trace.end(exc)
            raise
        trace.end()
        return committed

    def _count(self, records: Sequence[Record], skipped: int, duplicates: int, incoming: Sequence[Incoming],
               docs: Sequence[dict[str, Any]], started: float) -> None:
        """The batch's metrics, once: outcomes from what its transactions emitted (see `metrics.Tally`)."""
        outcomes: dict[tuple[str, str], int] = {(metrics.SKIPPED, ""): skipped, (metrics.DUPLICATE, ""): duplicates}
        dead_letters: list[str] = []
        not_handled = duplicates
        for doc in docs:
            tally = doc.get(TALLY)
            if tally is None:
                continue
            for code, count in tally.rejected.items():
                key = (metrics.REJECTED, code)
                outcomes[key] = outcomes.get(key, 0) + count
                not_handled += count
            for code, count in tally.dead.items():
                key = (metrics.DEAD_LETTERED, code)
                outcomes[key] = outcomes.get(key, 0) + count
                dead_letters.extend([code] * count)
                if code == DeadLetterReason.HANDLER_ERROR:
                    not_handled += count
        outcomes[(metrics.HANDLED, "")] = max(0, len(incoming) - not_handled)
        self.counters.batch(len(records), time.perf_counter() - started, outcomes, dead_letters)

    async def _transaction_isolating(self, one: Incoming, trace: tracing.BatchTrace | None = None) -> dict[str, Any] | None:
        try:
            return await self._transaction([one], [], trace)
        except HandlerError as exc:
            reason = Reason(code=DeadLetterReason.HANDLER_ERROR, message=str(exc.__cause__ or exc)[:2000])
            committed = await self._transaction([], [self._dead_letter(one.record, DeadLetterReason.HANDLER_ERROR, [reason])], trace)
            self.stats.dead_lettering(1)
            return committed

    async def _transaction(self, incoming: Sequence[Incoming], dead: Sequence[Outgoing],
                           trace: tracing.BatchTrace | None = None) -> dict[str, Any] | None:
        """One transaction for the batch. Insert-first dedupe: the inbox insert itself is the check
        (no read of the inbox), since a duplicate is rare; a batch holding something seen before hits
        a duplicate key, its transaction is aborted, and it is redone the careful way (read the inbox,
        skip what was seen, answer conflicts), as are the batches of the next few seconds (a replay
        after a crash or a rebalance comes in runs)."""
        if incoming and time.monotonic() >= self._careful_until and _distinct(incoming):
            try:
                return await self._run_transaction(incoming, dead, optimistic=True, trace=trace)
            except _SeenBefore:
                self._careful_until = time.monotonic() + CAREFUL_FOR_S
        return await self._run_transaction(incoming, dead, optimistic=False, trace=trace)

    async def _run_transaction(self, incoming: Sequence[Incoming], dead: Sequence[Outgoing], *,
                               optimistic: bool, trace: tracing.BatchTrace | None = None) -> dict[str, Any] | None:
        client = self.db.client
        async with client.start_session() as session:
            async with await session.start_transaction():
                alongside = optimistic and self.inbox_while_computing
                tx = Tx(self.db, session, self.clock.now(), trace=trace,
                        pending=(lambda: self._record_inbox(incoming, session, optimistic=True)) if alongside else None)
                if optimistic:
                    if not alongside:
                        await self._record_inbox(incoming, session, optimistic=True)
                    fresh, out = list(incoming), list[Outgoing]()
                else:
                    fresh, out = await self._dedupe(incoming, tx)
                if fresh:
                    try:
                        out.extend(await self.handler(fresh, tx))
                    except _SeenBefore:
                        raise
                    except Exception as exc:
                        if retryable(exc):
                            raise
                        log.exception("handler_failed", topic=self.topic.name, batch=len(fresh))
                        raise HandlerError(str(exc)) from exc
                    await tx.settle()
                    if not optimistic:
                        await self._record_inbox(fresh, session)
                out.extend(dead)
                doc = await self.outbox.add(out, tx)
        return doc

    async def _record_inbox(self, items: Sequence[Incoming], session: AsyncClientSession, *,
                            optimistic: bool = False) -> None:
        docs = [{"_id": str(i.message.event_id), "h": i.digest, "t": self.topic.name} for i in items]
        try:
            await self.db[INBOX].insert_many(docs, ordered=False, session=session)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if optimistic and errors and all(e.get("code") == DUPLICATE_KEY for e in errors):
                raise _SeenBefore from exc
            raise

    async def _dedupe(self, incoming: Sequence[Incoming], tx: Tx) -> tuple[list[Incoming], list[Outgoing]]:
        if not incoming:
            return [], []
        ids = [str(i.message.event_id) for i in incoming]
        seen = {
            doc["_id"]: doc["h"]
            async for doc in self.db[INBOX].find({"_id": {"$in": ids}}, {"h": 1}, session=tx.session)
        }
        fresh: list[Incoming] = []
        out: list[Outgoing] = []
        for item in incoming:
            event_id = str(item.message.event_id)
            digest = item.digest
            if event_id in seen:
                if seen[event_id] != digest and self.on_conflict is not None:
                    with message_context(event_id=event_id, correlation_id=str(item.message.correlation_id)):
                        log.warning("event_id_conflict", topic=self.topic.name)
                    out.extend(self.on_conflict(item, tx.now))
                self.stats.duplicates += 1
                continue
            seen[event_id] = digest
            fresh.append(item)
        return fresh, out

    def _dead_letter(self, record: Record, code: str, reasons: list[Reason]) -> Outgoing:
        payload, encoding = as_text(record.value)
        key, _ = as_text(record.key) if record.key is not None else (None, "utf-8")
        letter = DeadLetter(
            event_id=uuid.uuid5(uuid.NAMESPACE_URL, f"dlq:{record.topic}:{record.partition}:{record.offset}:{payload}"),
            occurred_at=self.clock.now(),
            correlation_id=uuid.uuid4(),
            actor=self.actor,
            source_topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            key=key[:1000] if key else None,
            payload=payload,
            payload_encoding=encoding,
            service=self.service,
            reason_code=code,
            errors=reasons,
        )
        log.warning("dead_lettered", topic=record.topic, offset=record.offset, reason_code=code)
        return Outgoing(letter, topic=dead_letter_topic(self.topic), key=key or "", trace=record.traceparent)

    async def _with_retry(self, action: Callable[[], Awaitable[Any]]) -> Any:
        delay = 0.05
        while True:
            try:
                return await action()
            except HandlerError:
                raise
            except Exception as exc:
                reraise_if_cancelled()
                if not retryable(exc):
                    raise
                log.warning("transient_error_retrying", error=repr(exc)[:500], delay_s=round(delay, 2))
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.max_backoff_s)


