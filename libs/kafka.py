"""The Kafka broker every service uses, and the publisher the outbox relays through."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner, murmur2
from faststream.kafka import KafkaBroker


@functools.lru_cache(maxsize=65_536)
def _key_hash(key: bytes) -> int:
    return murmur2(key) & 0x7FFFFFFF


def partition_for(key: bytes | None, all_partitions: list[int], available: list[int]) -> int:
    """aiokafka's default partitioner (murmur2 of the key, as the Java client: the same partition for
    a key from any client) with the hashes of recent keys remembered: aiokafka's murmur2 is pure Python
    and the keys repeat (site ids), so hashing every record cost a few per cent of a busy service's CPU."""
    if key is None:
        return DefaultPartitioner()(key, all_partitions, available)
    return all_partitions[_key_hash(key) % len(all_partitions)]


async def refresh_metadata(consumer: AIOKafkaConsumer) -> None:
    """Fetch the cluster's metadata into the consumer now, so `partitions_for_topic` knows a topic it
    neither subscribes to nor was assigned (a topic just created, or read by assignment). aiokafka has
    no public call that stores it (`topics()` returns fresh metadata without keeping it): this is the one
    place that reaches into its private client, and `tests/unit/test_libs.py` fails if aiokafka changes
    it."""
    await consumer._client.force_metadata_update()


def make_broker(bootstrap_servers: str, client_id: str, *, idempotent: bool = False) -> KafkaBroker:
    """`idempotent` on Apache Kafka only: the embedded tansu broker has no idempotent producer (nor Kafka
    transactions). Nothing depends on it for correctness (consumers dedupe on event id); it stops a
    retried send from writing a record twice, out of order, before the consumers' dedupe sees it."""
    return KafkaBroker(
        bootstrap_servers,
        client_id=client_id,
        enable_idempotence=idempotent,
        acks="all",
        linger_ms=2,
        partitioner=partition_for,
        logger=logging.getLogger("faststream"),
        log_level=logging.DEBUG,
    )


HEADERS = [("content-type", b"application/json")]


def _headers(traceparent: str | None) -> list[tuple[str, bytes]]:
    return HEADERS if traceparent is None else [*HEADERS, ("traceparent", traceparent.encode())]


class BrokerPublisher:
    """Publishes raw outbox entries with the FastStream broker's producer, in order, then waits for
    every ack. The broker's aiokafka producer is used directly when it has one (a real connection):
    the outbox's records are already encoded, and FastStream's per-message publish path (middlewares,
    serialisation) costs more than the send itself. On FastStream's test broker it publishes through
    the broker."""

    def __init__(self, broker: KafkaBroker) -> None:
        self.broker = broker

    def _producer(self) -> AIOKafkaProducer | None:
        state = getattr(getattr(self.broker.config, "producer", None), "_producer", None)
        producer = getattr(state, "producer", None)
        return producer if isinstance(producer, AIOKafkaProducer) else None

    async def publish_many(self, items: Sequence[tuple[str, bytes, bytes, str | None]]) -> None:
        """Publish (topic, key, value, traceparent) in order, with the `traceparent` header where given."""
        producer = self._producer()
        if producer is not None:
            sent = [await producer.send(topic, value, key=key, headers=_headers(trace))
                    for topic, key, value, trace in items]
            if sent:
                await asyncio.gather(*sent)
            return
        pending = []
        for topic, key, value, trace in items:
            result = await self.broker.publish(
                value, topic, key=key, headers={name: raw.decode() for name, raw in _headers(trace)}, no_confirm=True
            )
            if isinstance(result, asyncio.Future):
                pending.append(result)
        if pending:
            await asyncio.gather(*pending)
