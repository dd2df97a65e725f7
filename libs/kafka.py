"""The Kafka broker every service uses, and the publisher the outbox relays through."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from faststream.kafka import KafkaBroker


def make_broker(bootstrap_servers: str, client_id: str) -> KafkaBroker:
    # The embedded broker has no idempotent producer nor Kafka transactions: nothing depends on them.
    return KafkaBroker(
        bootstrap_servers,
        client_id=client_id,
        enable_idempotence=False,
        acks="all",
        linger_ms=2,
        logger=logging.getLogger("faststream"),
        log_level=logging.DEBUG,
    )


class BrokerPublisher:
    """Publishes raw outbox entries through the FastStream broker, in order, then waits for every ack."""

    def __init__(self, broker: KafkaBroker) -> None:
        self.broker = broker

    async def publish_many(self, items: Sequence[tuple[str, bytes, bytes]]) -> None:
        pending = []
        for topic, key, value in items:
            result = await self.broker.publish(
                value, topic, key=key, headers={"content-type": "application/json"}, no_confirm=True
            )
            if isinstance(result, asyncio.Future):
                pending.append(result)
        if pending:
            await asyncio.gather(*pending)
