"""The outbox: what a transaction emits is written in it, published after commit by a background
publisher in commit order, and swept by a relay when a crashed instance left it behind."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Sequence
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from libs import metrics
from libs.cancellation import cancel_requested, reraise_if_cancelled
from libs.logs import get_logger
from libs.messaging.records import OUTBOX, TALLY, Outgoing, RawPublisher
from libs.messaging.transaction import Tx

log = get_logger("libs.messaging")


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
                return await self._publish_stored_instead(docs)
            docs = self._not_flushed(docs)
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

    async def _publish_stored_instead(self, docs: Sequence[dict[str, Any]]) -> int:
        """After a failed publish: this instance's stored outbox in order, `docs` among it (committed)."""
        published = await self._flush_stored({"owner": self.instance_id})
        self._dirty = False
        self._flushed -= {doc["_id"] for doc in docs}  # committed, so the flush published them
        return published

    def _not_flushed(self, docs: Sequence[dict[str, Any]]) -> Sequence[dict[str, Any]]:
        """`docs` without those a flush of the stored outbox has already published (not published again)."""
        if not self._flushed:
            return docs
        done = self._flushed & {doc["_id"] for doc in docs}
        self._flushed -= done
        return [doc for doc in docs if doc["_id"] not in done]

    async def flush(self, *, older_than_s: float | None = None, created_before: float | None = None) -> int:
        """Publish stored outbox documents in order, then delete them: this instance's, or any instance's
        left for `older_than_s` (a crashed process's), or written before the instant `created_before` (a
        rebalance's: see `libs.messaging.handover`). Returns messages published."""
        async with self._lock:
            query: dict[str, Any] = {"owner": self.instance_id}
            if older_than_s is not None:
                created_before = time.time() - older_than_s
            if created_before is not None:
                query = {"created": {"$lt": created_before}}
            published = await self._flush_stored(query)
            if created_before is None:
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


