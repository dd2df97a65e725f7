"""The certificates service's signing keys as a verifier learns them: from `certificates.events.v1`
(`SigningKeyPublished`), read from its beginning to its end. Used by the command line's `verify` and
`keys`; a key retired since stays in the directory, so what it signed still verifies."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from contracts import topics
from contracts.signing import SigningKeyPublished
from libs.kafka import refresh_metadata


def fold(messages: Iterable[Any]) -> dict[str, SigningKeyPublished]:
    """The latest state of every key: a retirement (`valid_until`) is final, whatever the order."""
    keys: dict[str, SigningKeyPublished] = {}
    for m in messages:
        if isinstance(m, SigningKeyPublished) and (
            m.kid not in keys or keys[m.kid].valid_until is None
        ):
            keys[m.kid] = m
    return keys


async def keys_from_topic(
    bootstrap: str, timeout_s: float = 15.0
) -> dict[str, SigningKeyPublished]:
    """Every key published on the topic so far. Raises TimeoutError or a Kafka error when the broker
    does not answer in time."""
    topic = topics.CERTIFICATES_EVENTS
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        fetch_max_wait_ms=50,
        request_timeout_ms=int(timeout_s * 1000),
    )
    await asyncio.wait_for(consumer.start(), timeout_s)
    try:

        async def read() -> list[Any]:
            partitions = consumer.partitions_for_topic(topic.name)
            if not partitions:
                await refresh_metadata(consumer)
                partitions = consumer.partitions_for_topic(topic.name) or set()
            tps = [TopicPartition(topic.name, p) for p in sorted(partitions)]
            if not tps:
                return []
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            end = await consumer.end_offsets(tps)
            found = []
            while [tp for tp in tps if await consumer.position(tp) < end[tp]]:
                for records in (await consumer.getmany(timeout_ms=200, max_records=5000)).values():
                    for record in records:
                        with contextlib.suppress(
                            ValueError
                        ):  # not ours to judge: skip what does not parse
                            found.append(topic.parse(record.value))
            return found

        return fold(await asyncio.wait_for(read(), timeout_s))
    finally:
        await consumer.stop()
