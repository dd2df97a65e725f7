"""Topics: create the missing ones and wait until every partition has a leader (tansu or real Kafka)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from typing import Any

log = logging.getLogger("devstack.embedded")  # the package's one logger, named as before the split


async def ensure_topics(
    bootstrap: str,
    topics: Iterable[str],
    partitions: int = 4,
    *,
    replication_factor: int = 1,
    timeout: float = 30.0,
) -> None:
    """Create the missing ``topics`` (idempotent) and wait until all show up in metadata.

    Existing topics are left as they are (a warning is logged when one has fewer partitions than
    asked for). Works against tansu and real Kafka.
    """
    from aiokafka.admin import AIOKafkaAdminClient

    wanted = list(dict.fromkeys(topics))
    if not wanted:
        return
    deadline = time.monotonic() + timeout
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap,
        request_timeout_ms=int(min(timeout, 30.0) * 1000),
        client_id="ensure-topics",
    )
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in wanted if t not in existing]
        if missing:
            await _create(admin, missing, partitions, replication_factor)
        pending = set(wanted)
        while True:
            for meta in await admin.describe_topics(sorted(pending)):
                if _led(meta):
                    pending.discard(meta["topic"])
                    _warn_if_fewer(meta, existing, partitions)
            if not pending:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"topics {sorted(pending)} did not appear in metadata within {timeout:.0f}s"
                )
            await asyncio.sleep(0.1)
    finally:
        await admin.close()


async def _create(admin: Any, missing: list[str], partitions: int, replication_factor: int) -> None:
    """Create the topics; one that another client created meanwhile is fine, any other error raises."""
    from aiokafka.admin import NewTopic
    from aiokafka.errors import TopicAlreadyExistsError, for_code

    response = await admin.create_topics(
        [
            NewTopic(t, num_partitions=partitions, replication_factor=replication_factor)
            for t in missing
        ]
    )
    for entry in response.topic_errors:
        topic, code = entry[0], entry[1]
        message = entry[2] if len(entry) > 2 else None
        if code == 0 or code == TopicAlreadyExistsError.errno:
            continue
        error_cls = for_code(code)
        raise error_cls(f"could not create topic {topic!r}: {message or error_cls.__name__}")
    log.info("created Kafka topics %s (%d partitions)", missing, partitions)


def _led(meta: dict[str, Any]) -> bool:
    """Every partition of the topic has a leader (a fresh Apache Kafka lists a new topic a moment
    before its partitions have leaders; reads then fail with NOT_LEADER until they do)."""
    return bool(
        meta.get("error_code", 0) == 0
        and meta.get("partitions")
        and all(p.get("leader", 0) >= 0 and p.get("error_code", 0) == 0 for p in meta["partitions"])
    )


def _warn_if_fewer(meta: dict[str, Any], existing: set[str], partitions: int) -> None:
    if meta["topic"] in existing and len(meta["partitions"]) < partitions:
        log.warning(
            "topic %s already exists with %d partitions (< %d requested); left as is",
            meta["topic"],
            len(meta["partitions"]),
            partitions,
        )
