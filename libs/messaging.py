"""Delivery semantics every service shares.

* At-least-once consumption: offsets are committed only after a batch's effects are durable.
* A batch's effects, the inbox records of its event ids and the outbox of what it emits are written
  in one MongoDB transaction, so a replayed message is a no-op and a crash loses nothing.
* The outbox is published after commit (at-least-once; consumers dedupe on event id) by a background
  publisher, in commit order, while the next batch is processed; it is swept by a relay for entries
  a crashed instance left behind.
* A message that cannot be parsed, or that its handler cannot take, goes to `<topic>.dlq` with a
  reason; it never stops the consumer. Transient database errors are retried with backoff.
* Every batch is measured once (`libs.metrics`), and every message produced carries a `traceparent`
  continuing the trace of the message it answers (`libs.tracing`).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from datetime import datetime
from typing import Any, Protocol, TypeVar

from pydantic import ValidationError
from pymongo import ASCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, ConnectionFailure, OperationFailure, PyMongoError

from contracts.common import Actor, Envelope, Reason, Role
from contracts.deadletter import DeadLetter, DeadLetterReason
from contracts.topics import Topic, dead_letter_topic, topic_for
from libs import metrics, tracing
from libs.cancellation import cancel_requested, reraise_if_cancelled
from libs.clock import Clock
from libs.logs import get_logger, message_context

log = get_logger("libs.messaging")

after_commit_hooks: list[Callable[[str], None]] = []
"""Called with the topic's name after a batch's transaction committed and before its outbox is
published: the fault tests crash a service there (`tests/failpoint.py`). Empty in production."""
T = TypeVar("T")

INBOX = "inbox"
OUTBOX = "outbox"
TALLY = "tally"
"""Key of the in-memory `metrics.Tally` on an outbox document `Outbox.add` returned (never stored)."""


@dataclass(frozen=True)
class Record:
    """A raw Kafka record as consumed."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes]] = ()

    @property
    def traceparent(self) -> str | None:
        return tracing.from_headers(self.headers)


@dataclass(frozen=True)
class Outgoing:
    """A message to publish once the transaction that produced it has committed."""

    message: Envelope
    topic: Topic | None = None
    key: str | None = None
    trace: str | None = None
    """Its `traceparent`; unset: that of the consumed message it answers, else of the batch (see `libs.tracing`)."""

    def resolved_topic(self) -> Topic:
        return self.topic or topic_for(self.message)


@dataclass(frozen=True)
class Incoming:
    """A parsed message with where it came from."""

    message: Envelope
    record: Record

    @cached_property
    def digest(self) -> str:
        return content_hash(self.message)


class Tx:
    """What a handler gets: the database, the open transaction's session (pass `session=tx.session`)
    and the time of the batch.

    `async with tx.computing():` marks a block of pure computation (no database call): writes the
    runtime left pending on the transaction (the inbox records of a consumer declared with
    `inbox_while_computing`) run on the session meanwhile, so the database works while the handler
    computes. Inside, iterate with `paced` so their replies are read; the block ends once they are
    done, and raises what they raised."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]], session: AsyncClientSession, now: datetime, *,
                 pending: Callable[[], Awaitable[None]] | None = None, trace: tracing.BatchTrace | None = None) -> None:
        self.db = db
        self.now = now
        self.trace = trace
        self._session = session
        self._pending = pending
        self._running: asyncio.Future[None] | None = None

    @property
    def session(self) -> AsyncClientSession:
        if self._running is not None:
            raise RuntimeError("no database call inside tx.computing(): the session is busy with the runtime's writes")
        return self._session

    @contextlib.asynccontextmanager
    async def computing(self) -> AsyncIterator[None]:
        pending, self._pending = self._pending, None
        if pending is None:
            yield
            return
        running = self._running = asyncio.ensure_future(pending())
        try:
            yield
        except asyncio.CancelledError:
            running.cancel()
            with contextlib.suppress(BaseException):
                await running
            raise
        except BaseException:
            with contextlib.suppress(Exception):  # the transaction aborts: the session must be idle first
                await running
            raise
        else:
            await running
        finally:
            self._running = None

    async def settle(self) -> None:
        """Run the pending writes no `computing()` block took (the runtime calls it after the handler)."""
        pending, self._pending = self._pending, None
        if pending is not None:
            await pending()


async def paced(items: Iterable[T], every: int = 50) -> AsyncIterator[T]:
    """The items one by one, letting the event loop run after every `every` of them: inside
    `tx.computing()`, so the writes in flight go on while the handler computes."""
    for n, item in enumerate(items, 1):
        yield item
        if n % every == 0:
            await asyncio.sleep(0)


BatchHandler = Callable[[Sequence[Incoming], Tx], Awaitable[Sequence[Outgoing]]]
ConflictHandler = Callable[[Incoming, datetime], Sequence[Outgoing]]
TickHandler = Callable[[Tx], Awaitable[Sequence[Outgoing]]]


class RawPublisher(Protocol):
    async def publish_many(self, items: Sequence[tuple[str, bytes, bytes, str | None]]) -> None:
        """Publish (topic, key, value, traceparent) in order; return once every one is acknowledged."""


class _SeenBefore(Exception):
    """The optimistic inbox insert hit an event id already recorded: redo the batch carefully."""


DUPLICATE_KEY = 11000
CAREFUL_FOR_S = 5.0


def _distinct(items: Sequence[Incoming]) -> bool:
    return len({i.message.event_id for i in items}) == len(items)


class HandlerError(Exception):
    """A handler failed on one message for a reason that retrying will not fix."""


def content_hash(message: Envelope) -> str:
    """What makes a redelivery the same message: everything but the time it was (re)sent."""
    return hashlib.sha256(message.model_dump_json(exclude={"occurred_at"}).encode()).hexdigest()


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, ConnectionFailure):
        return True
    if isinstance(exc, PyMongoError) and (
        exc.has_error_label("TransientTransactionError") or exc.has_error_label("UnknownTransactionCommitResult")
    ):
        return True
    if isinstance(exc, OperationFailure) and exc.code in {112, 11600, 11602, 189, 91, 10107, 13435, 13436, 251}:
        return True
    return False


def _text(raw: bytes | None) -> tuple[str, str]:
    if raw is None:
        return "", "utf-8"
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return base64.b64encode(raw).decode(), "base64"


def _errors(exc: ValidationError) -> tuple[str, list[Reason]]:
    reasons = []
    code = DeadLetterReason.SCHEMA_INVALID
    for err in exc.errors()[:20]:
        if err["type"] == "json_invalid":
            code = DeadLetterReason.NOT_JSON
        elif err["type"] in {"union_tag_invalid", "union_tag_not_found"}:
            code = DeadLetterReason.UNKNOWN_TYPE
        location = ".".join(str(p) for p in err["loc"])
        reasons.append(Reason(code=err["type"][:80], message=str(err["msg"])[:2000], field=location[:200] or None))
    return code, reasons or [Reason(code=code, message=str(exc)[:2000])]


class Outbox:
    """Messages written in the handler's transaction, published after commit, swept if orphaned."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]], publisher: RawPublisher, instance_id: str,
                 *, max_pending: int = 4, forget_after: int = 50, service: str = "") -> None:
        self.db = db
        self.service = service
        self.publisher = publisher
        self.instance_id = instance_id
        self.max_pending = max_pending
        self.published = 0
        """Messages published by this instance's background publisher."""
        self._lock = asyncio.Lock()
        self._seq = 0
        self._dirty = False
        self._flushed: set[str] = set()
        """This instance's documents a flush of the stored outbox published before they were submitted
        (ticks and batches commit concurrently, so a flush may publish a later document before an
        earlier one is submitted; each is dropped from here when it is)."""
        self._published: list[str] = []
        """This instance's documents published from memory and not yet deleted from the stored outbox:
        deleted in one statement every `forget_after` documents, on the relay's round and on drain,
        rather than one delete per batch (a statement and a commit less per batch on the database)."""
        self.forget_after = forget_after
        self._pending: asyncio.Queue[list[dict[str, Any]]] | None = None
        self._worker: asyncio.Task[None] | None = None

    async def ensure_indexes(self) -> None:
        await self.db[OUTBOX].create_index([("owner", ASCENDING), ("seq", ASCENDING)])
        await self.db[OUTBOX].create_index([("created", ASCENDING)])

    def _next_seq(self) -> int:
        self._seq = max(self._seq + 1, time.time_ns())
        return self._seq

    async def add(self, items: Sequence[Outgoing], tx: Tx) -> dict[str, Any] | None:
        """Write one outbox document holding every message of this transaction, in order.
        Returns it, to be handed to `publish_committed` once the transaction has committed."""
        if not items:
            return None
        messages = []
        tally = metrics.Tally()
        trace = tx.trace
        for item in items:
            topic = item.resolved_topic()
            message = item.message
            messages.append(
                {"topic": topic.name, "key": (item.key or topic.key_of(message)).encode(),
                 "value": topic.encode(message),
                 "tp": item.trace or (trace.for_message(message) if trace is not None else None)}
            )
            tally.add(topic.name, message)
        doc = {"_id": uuid.uuid4().hex, "owner": self.instance_id, "seq": self._next_seq(), "created": time.time(),
               "messages": messages}
        await self.db[OUTBOX].insert_one(doc, session=tx.session)
        doc[TALLY] = tally  # in memory only: the stored document was written above
        return doc

    async def submit(self, docs: Sequence[dict[str, Any] | None]) -> None:
        """Hand what committed transactions wrote to the background publisher, which publishes it in
        the order submitted while the caller goes on. Waits only while `max_pending` submissions are
        still unpublished (back-pressure). A crash loses nothing: the documents are in the outbox."""
        committed = [doc for doc in docs if doc is not None]
        if not committed:
            return
        metrics.count_committed(self.service, (doc[TALLY] for doc in committed if TALLY in doc))
        if self._pending is None:
            self._pending = asyncio.Queue(self.max_pending)
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._publish_loop(), name=f"outbox-publisher-{self.instance_id}")
        await self._pending.put(committed)

    async def drain(self) -> None:
        """Return once everything submitted so far is published and deleted from the stored outbox."""
        if self._pending is not None and self._worker is not None and not self._worker.done():
            await self._pending.join()
        async with self._lock:
            await self._forget()

    async def close(self) -> None:
        """Stop the background publisher; what it had not published stays in the stored outbox."""
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._worker
            self._worker = None

    async def _publish_loop(self) -> None:
        assert self._pending is not None
        while not cancel_requested():
            docs = await self._pending.get()
            taken = 1
            while not self._pending.empty():  # what queued meanwhile goes out in the same round
                docs += self._pending.get_nowait()
                taken += 1
            try:
                await self._publish_until_done(docs)
            finally:
                for _ in range(taken):
                    self._pending.task_done()

    async def _publish_until_done(self, docs: list[dict[str, Any]]) -> None:
        delay = 0.05
        while True:
            try:
                self.published += await self.publish_committed(docs)
                return
            except Exception as exc:  # noqa: BLE001 - committed: the stored outbox is published on the retry
                reraise_if_cancelled()
                log.warning("publish_failed_retrying_from_outbox", error=repr(exc)[:300], delay_s=round(delay, 2))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def publish_committed(self, docs: Sequence[dict[str, Any]]) -> int:
        """Publish what a committed transaction wrote, from memory, then delete it. If an earlier
        publish of this instance failed, go through the stored outbox first, so order holds."""
        async with self._lock:
            if self._dirty:
                published = await self._flush_stored({"owner": self.instance_id})
                self._dirty = False
                self._flushed -= {doc["_id"] for doc in docs}  # committed, so the flush published them
                return published
            # Documents a flush of the stored outbox has already published are not published again.
            if self._flushed:
                done = self._flushed & {doc["_id"] for doc in docs}
                self._flushed -= done
                docs = [doc for doc in docs if doc["_id"] not in done]
            try:
                items = [(m["topic"], m["key"], m["value"], m.get("tp")) for doc in docs for m in doc["messages"]]
                if items:
                    await self.publisher.publish_many(items)
                self._published.extend(doc["_id"] for doc in docs)
                if len(self._published) >= self.forget_after:
                    await self._forget()
                return len(items)
            except BaseException:
                self._dirty = True
                raise

    async def flush(self, *, older_than_s: float | None = None) -> int:
        """Publish stored outbox documents in order, then delete them: this instance's, or (with
        `older_than_s`) any instance's left for that long (a crashed process's). Returns messages published."""
        async with self._lock:
            query: dict[str, Any] = {"owner": self.instance_id}
            if older_than_s is not None:
                query = {"created": {"$lt": time.time() - older_than_s}}
            published = await self._flush_stored(query)
            if older_than_s is None:
                self._dirty = False
            return published

    async def _forget(self) -> None:
        """Delete what was published from memory (a crash before this republishes it: at-least-once)."""
        ids, self._published = self._published, []
        if ids:
            try:
                await self.db[OUTBOX].delete_many({"_id": {"$in": ids}})
            except BaseException:
                self._published = ids + self._published
                raise

    async def _flush_stored(self, query: dict[str, Any]) -> int:
        await self._forget()  # what was published is not in the way, nor published again
        published = 0
        while True:
            docs = await self.db[OUTBOX].find(query).sort([("seq", ASCENDING)]).limit(20).to_list()
            if not docs:
                return published
            for doc in docs:
                items = [(m["topic"], bytes(m["key"]), bytes(m["value"]), m.get("tp")) for m in doc["messages"]]
                await self.publisher.publish_many(items)
                await self.db[OUTBOX].delete_one({"_id": doc["_id"]})
                published += len(items)
                if doc.get("owner") == self.instance_id:
                    self._flushed.add(doc["_id"])


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
        incoming: list[Incoming] = []
        dead: list[Outgoing] = []
        skipped = 0
        for record in records:
            if self.wanted is not None and _type_tag(record.value) not in self.wanted:
                skipped += 1
                continue
            try:
                message = self.topic.parse(record.value or b"")
            except ValidationError as exc:
                code, reasons = _errors(exc)
                dead.append(self._dead_letter(record, code, reasons))
                continue
            incoming.append(Incoming(message, record))
        self.stats.skipped += skipped
        parsed = time.perf_counter()
        committed: list[dict[str, Any]] = []
        if not incoming and not dead:  # every record was of a type this consumer does not take
            self.stats.batches += 1
            self.stats.messages += len(records)
            self.counters.batch(len(records), time.perf_counter() - started, {(metrics.SKIPPED, ""): skipped})
            return
        duplicates_before = self.stats.duplicates
        trace = tracing.BatchTrace(self.service, self._span_name, incoming, size=len(records))
        try:
            try:
                committed.append(await self._with_retry(lambda: self._transaction(incoming, dead, trace)))
            except HandlerError:
                for one in incoming:
                    committed.append(await self._with_retry(lambda one=one: self._transaction_isolating(one, trace)))
                if dead:
                    committed.append(await self._with_retry(lambda: self._transaction([], dead, trace)))
        except BaseException as exc:
            trace.end(exc)
            raise
        trace.end()
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
                    fresh, out = list(incoming), []
                else:
                    fresh, out = await self._dedupe(incoming, tx)
                if fresh:
                    try:
                        out.extend(await self.handler(fresh, tx))
                    except _SeenBefore:
                        raise
                    except Exception as exc:
                        if _retryable(exc):
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
        payload, encoding = _text(record.value)
        key, _ = _text(record.key) if record.key is not None else (None, "utf-8")
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
                if not _retryable(exc):
                    raise
                log.warning("transient_error_retrying", error=repr(exc)[:500], delay_s=round(delay, 2))
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.max_backoff_s)


def _is_kafka_error(exc: BaseException) -> bool:
    return type(exc).__module__.startswith("aiokafka")


def _type_tag(raw: bytes | None) -> str | None:
    """The `type` of a JSON message, or None (then it is parsed in full, and dead-lettered if bad)."""
    try:
        value = json.loads(raw or b"")
    except ValueError:
        return None
    return value.get("type") if isinstance(value, dict) else None


def _retryable(exc: BaseException) -> bool:
    """Worth retrying the same work: the database or broker is unreachable or a transaction conflicted.
    Anything else raised by a handler (a bug, a duplicate key it did not expect) is the message's fault."""
    return is_transient(exc) or isinstance(exc, OSError | asyncio.TimeoutError) or _is_kafka_error(exc)


async def run_in_transaction(
    db: AsyncDatabase[dict[str, Any]], outbox: Outbox, clock: Clock, work: TickHandler, *, name: str = "tick"
) -> int:
    """Run clock-driven work (expiry, timeouts) in one transaction with its outbox; hand what it
    emitted to the outbox's publisher. Returns the number of messages emitted. What it emits
    starts a trace of its own (a span per run)."""
    delay = 0.05
    trace = tracing.BatchTrace(outbox.service, name, size=0, lazy=True)
    try:
        while True:
            try:
                async with db.client.start_session() as session:
                    async with await session.start_transaction():
                        tx = Tx(db, session, clock.now(), trace=trace)
                        out = list(await work(tx))
                        doc = await outbox.add(out, tx)
                break
            except Exception as exc:
                reraise_if_cancelled()
                if not is_transient(exc) and not isinstance(exc, ConnectionFailure):
                    raise
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
    except BaseException as exc:
        trace.end(exc)
        raise
    trace.end()
    await outbox.submit([doc])
    return len(doc["messages"]) if doc else 0
