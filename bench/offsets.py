"""Topic partitions and consumer-group offsets: how far behind a group is, and placing a group some
messages before a topic's end."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer, TopicPartition

from libs.kafka import refresh_metadata


async def partitions(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
    for _ in range(50):
        # Refreshes the consumer's own metadata (`consumer.topics()` returns fresh metadata without
        # storing it: enough on tansu, whose first metadata answer lists every topic; not on Apache Kafka).
        await refresh_metadata(consumer)
        found = consumer.partitions_for_topic(topic)
        if found:
            return found
        await asyncio.sleep(0.1)
    raise RuntimeError(f"topic {topic} has no partitions")


async def group_lag(bootstrap: str, group_id: str, topic: str) -> int | None:
    """Messages of `topic` the consumer group has not committed yet; None before it committed anything."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group_id, enable_auto_commit=False
    )
    await consumer.start()  # never subscribes: it only reads the group's committed offsets
    try:
        tps = [TopicPartition(topic, p) for p in sorted(await partitions(consumer, topic))]
        ends = await consumer.end_offsets(tps)
        if not any(ends.values()):
            return 0
        committed = {tp: await consumer.committed(tp) for tp in tps}
        if all(offset is None for offset in committed.values()):
            return None
        return sum(max(0, end - (committed[tp] or 0)) for tp, end in ends.items())
    finally:
        await consumer.stop()


async def commit_group_offsets(bootstrap: str, group_id: str, topic: str, behind_end: int) -> int:
    """Place a consumer group `behind_end` messages (spread over the partitions) before the topic's
    end, as if it had consumed the rest; returns how many messages it is left to read."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group_id, enable_auto_commit=False
    )
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in sorted(await partitions(consumer, topic))]
        consumer.assign(tps)
        starts = await consumer.beginning_offsets(tps)
        ends = await consumer.end_offsets(tps)
        offsets = {tp: max(starts[tp], ends[tp] - behind_end // len(tps)) for tp in tps}
        await consumer.commit(offsets)
        return sum(ends[tp] - offsets[tp] for tp in tps)
    finally:
        await consumer.stop()
