"""What a handler works in: one MongoDB transaction (`Tx`), the handler signatures, and which errors
are worth retrying the same work for."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import ConnectionFailure, OperationFailure, PyMongoError

from libs import tracing
from libs.messaging.records import Incoming, Outgoing

T = TypeVar("T")


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


def _is_kafka_error(exc: BaseException) -> bool:
    return type(exc).__module__.startswith("aiokafka")


def retryable(exc: BaseException) -> bool:
    """Worth retrying the same work: the database or broker is unreachable or a transaction conflicted.
    Anything else raised by a handler (a bug, a duplicate key it did not expect) is the message's fault."""
    return is_transient(exc) or isinstance(exc, OSError | asyncio.TimeoutError) or _is_kafka_error(exc)


