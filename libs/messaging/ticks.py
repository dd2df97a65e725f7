"""Clock-driven work (expiry, timeouts) run in one transaction with its outbox."""

from __future__ import annotations

import asyncio
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import ConnectionFailure

from libs import tracing
from libs.cancellation import reraise_if_cancelled
from libs.clock import Clock
from libs.messaging.outbox import Outbox
from libs.messaging.transaction import TickHandler, Tx, is_transient


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
