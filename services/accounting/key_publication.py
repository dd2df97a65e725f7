"""Accounting's CoC Document signing key on `ledger.events.v1` (`DocumentSigningKeyPublished`), so
verifiers (the gateway, buyers) learn it, and a change of key, from the topic. Idempotent by state:
each key is published once when first used and once more when it is replaced; documents in `keys`
named
`published:<kid>` record what the topic has."""

from __future__ import annotations

from typing import Any

from contracts import topics
from contracts.common import Actor, Role, derived_event_id
from contracts.signing import DocumentSigningKeyPublished
from libs.messaging import Outgoing, Tx
from services.accounting.signing import Signer

KEYS = "keys"
_ACTOR = Actor(organisation_id="accounting", role=Role.SERVICE)


def _event(entry: dict[str, Any]) -> Outgoing:
    return Outgoing(
        DocumentSigningKeyPublished.create(
            actor=_ACTOR,
            occurred_at=entry["valid_until"] or entry["valid_from"],
            issuer="accounting",
            kid=entry["kid"],
            jwk=entry["jwk"],
            valid_from=entry["valid_from"],
            valid_until=entry["valid_until"],
            event_id=derived_event_id(
                "signing-key", entry["kid"], entry["valid_until"] or "current"
            ),
        ),
        topic=topics.LEDGER_EVENTS,
    )


async def publish_signing_key(signer: Signer, tx: Tx) -> list[Outgoing]:
    """Publish the current key if the topic does not have it yet, retiring the one it replaces."""
    entry_id = f"published:{signer.key_id}"
    if await tx.db[KEYS].find_one({"_id": entry_id}, {"_id": 1}, session=tx.session) is not None:
        return []
    entry = {
        "_id": entry_id,
        "kid": signer.key_id,
        "jwk": signer.jwk,
        "valid_from": tx.now,
        "valid_until": None,
    }
    # An upsert, not an insert: two instances racing here conflict (retried), never fail on a
    # duplicate key.
    result = await tx.db[KEYS].update_one(
        {"_id": entry_id},
        {"$setOnInsert": {k: v for k, v in entry.items() if k != "_id"}},
        upsert=True,
        session=tx.session,
    )
    if result.upserted_id is None:
        return []
    out = []
    async for old in tx.db[KEYS].find(
        {"_id": {"$regex": "^published:", "$ne": entry_id}, "valid_until": None}, session=tx.session
    ):
        old["valid_until"] = tx.now
        await tx.db[KEYS].update_one(
            {"_id": old["_id"]}, {"$set": {"valid_until": tx.now}}, session=tx.session
        )
        out.append(_event(old))
    return [*out, _event(entry)]
