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

The runtime, one module per part: `records` (what it moves), `transaction` (`Tx`, handler types,
transient errors), `outbox`, `dead_letters`, `consumer`, `handover` (per-key order when a partition
changes owner), `ticks` (`run_in_transaction`). The names
below are its public interface; import them from `libs.messaging`.
"""

from libs.messaging.consumer import Consumer, ConsumerStats, after_commit_hooks, log
from libs.messaging.handover import Handover, PartitionsMoved
from libs.messaging.outbox import Outbox
from libs.messaging.records import (
    INBOX,
    OUTBOX,
    TALLY,
    HandlerError,
    Incoming,
    Outgoing,
    RawPublisher,
    Record,
    content_hash,
)
from libs.messaging.ticks import run_in_transaction
from libs.messaging.transaction import BatchHandler, ConflictHandler, TickHandler, Tx, is_transient, paced

__all__ = [
    "INBOX",
    "OUTBOX",
    "TALLY",
    "BatchHandler",
    "ConflictHandler",
    "Consumer",
    "ConsumerStats",
    "HandlerError",
    "Handover",
    "Incoming",
    "Outbox",
    "Outgoing",
    "PartitionsMoved",
    "RawPublisher",
    "Record",
    "TickHandler",
    "Tx",
    "after_commit_hooks",
    "content_hash",
    "is_transient",
    "log",
    "paced",
    "run_in_transaction",
]
