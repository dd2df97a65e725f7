"""What every read-model handler does with the gateway's database: load the documents a batch
touches in one query, write back in bulk, inside the batch's transaction (`session=tx.session`)."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from libs.messaging import Outgoing, Tx

NO_OUTPUT: list[Outgoing] = []


async def bulk(tx: Tx, collection: str, ops: list[Any]) -> None:
    if ops:
        await tx.db[collection].bulk_write(ops, ordered=True, session=tx.session)


def not_older(message: Any, stored: dict[str, Any] | None) -> bool:
    at = stored.get("occurred_at") if stored else None
    return at is None or message.occurred_at >= (at if at.tzinfo else at.replace(tzinfo=UTC))


async def load(tx: Tx, collection: str, ids: set[str], projection: dict[str, int] | None = None) -> dict[str, dict[str, Any]]:
    if not ids:
        return {}
    cursor = tx.db[collection].find({"_id": {"$in": list(ids)}}, projection, session=tx.session)
    return {d["_id"]: d async for d in cursor}
