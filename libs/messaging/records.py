"""What the delivery runtime moves: a consumed record, a parsed message with its origin, a message to
publish after commit, and the names of the runtime's collections."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Protocol

from contracts.common import Envelope
from contracts.topics import Topic, topic_for
from libs import tracing

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



class RawPublisher(Protocol):
    async def publish_many(self, items: Sequence[tuple[str, bytes, bytes, str | None]]) -> None:
        """Publish (topic, key, value, traceparent) in order; return once every one is acknowledged."""



class HandlerError(Exception):
    """A handler failed on one message for a reason that retrying will not fix."""


def content_hash(message: Envelope) -> str:
    """What makes a redelivery the same message: everything but the time it was (re)sent."""
    return hashlib.sha256(message.model_dump_json(exclude={"occurred_at"}).encode()).hexdigest()


