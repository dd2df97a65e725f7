"""The public keys the gateway verifies signed documents with, learnt from the topics: the
certificates service publishes its keys on `certificates.events.v1` and accounting its CoC Document
key on `ledger.events.v1` (`DocumentSigningKeyPublished`), each again when it is retired. Retired keys are
kept, so what they signed stays verifiable; `GATEWAY_VERIFICATION_KEYS` may add keys by hand."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymongo import UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from contracts.signing import PublishedSigningKey
from libs.messaging import BatchHandler, Incoming, Outgoing, Tx

SIGNING_KEYS = "signing_keys"


def learning_keys(handler: BatchHandler) -> BatchHandler:
    """The topic's handler, after recording the keys its batch publishes."""

    async def handle(batch: Sequence[Incoming], tx: Tx) -> Sequence[Outgoing]:
        await record_keys([i.message for i in batch if isinstance(i.message, PublishedSigningKey)], tx)
        return await handler(batch, tx)

    return handle


async def record_keys(messages: list[PublishedSigningKey], tx: Tx) -> None:
    ops = []
    for m in messages:
        update: dict[str, Any] = {"$setOnInsert": {"kid": m.kid, "jwk": {**m.jwk, "kid": m.kid}, "issuer": m.issuer,
                                                   "valid_from": m.valid_from}}
        if m.valid_until is not None:  # a retirement is final; the earlier "current" event never undoes it
            update["$set"] = {"valid_until": m.valid_until}
        ops.append(UpdateOne({"_id": m.kid}, update, upsert=True))
    if ops:
        await tx.db[SIGNING_KEYS].bulk_write(ops, ordered=True, session=tx.session)


async def known_keys(db: AsyncDatabase[dict[str, Any]], configured: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every key learnt from the topics, then the configured ones."""
    learnt = [doc["jwk"] async for doc in db[SIGNING_KEYS].find({}, {"jwk": 1})]
    return learnt + list(configured)
