"""Claims and allocations stored before claim ids became their owner's own (issue 23) were keyed by
the bare claim id; each store's start-up moves them to the owner's key once (`libs.mongo.rekey_once`),
on the embedded MongoDB (or the external one)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from libs.mongo import MIGRATIONS
from services.accounting.adapters import store as accounting_store
from services.claims.adapters import store as claims_store
from services.gateway.adapters import store as gateway_store
from tests.support import scratch_database

pytestmark = pytest.mark.integration

Setup = Callable[[Any], Awaitable[None]]

# (the store's start-up, the collection, the owner field, the migration's name)
STORES = {
    "claims": (claims_store.ensure_indexes, "claims", "claimant", "claims-keyed-by-claimant"),
    "accounting": (accounting_store.ensure_indexes, "allocations", "owner", "allocations-keyed-by-owner"),
    "gateway": (gateway_store.ensure_indexes, "claims", "claimant_organisation_id", "claims-keyed-by-claimant"),
}


@pytest.mark.parametrize("service", sorted(STORES))
async def test_old_bare_claim_ids_move_to_their_owners_key_once(stack, service: str) -> None:  # noqa: ANN001
    setup, collection, owner, migration = STORES[service]
    async with scratch_database(stack.mongodb_uri, f"{service}-rekey") as db:
        await db[collection].insert_many([
            {"_id": "can-claim", owner: "brand-a", "status": "approved", "mass": "12.5"},
            # a run cut short: the new key was written, the old one not yet deleted; the new one is newer
            {"_id": "tray-claim", owner: "brand-b", "status": "approved"},
            {"_id": "brand-b|tray-claim", owner: "brand-b", "claim_id": "tray-claim", "status": "revoked"},
            # already under the new key
            {"_id": "brand-c|lid", owner: "brand-c", "claim_id": "lid", "status": "requested"},
        ])
        await setup(db)
        docs = {d["_id"]: d async for d in db[collection].find({})}
        assert sorted(docs) == ["brand-a|can-claim", "brand-b|tray-claim", "brand-c|lid"]
        assert docs["brand-a|can-claim"] == {"_id": "brand-a|can-claim", owner: "brand-a", "claim_id": "can-claim",
                                             "status": "approved", "mass": "12.5"}
        assert docs["brand-b|tray-claim"]["status"] == "revoked"
        marker = await db[MIGRATIONS].find_one({"_id": migration})
        assert marker is not None and marker["moved"] == 2

        # It runs once: a document stored under an old key afterwards is not touched again.
        await db[collection].insert_one({"_id": "late", owner: "brand-d", "status": "requested"})
        await setup(db)
        assert await db[collection].find_one({"_id": "late"}) is not None
        assert await db[collection].count_documents({}) == 4


async def test_a_gateway_claim_whose_claimant_it_never_learnt_stays_where_it_is(stack) -> None:  # noqa: ANN001
    async with scratch_database(stack.mongodb_uri, "gateway-rekey") as db:
        await db["claims"].insert_one({"_id": "orphan", "status": "approved"})
        await gateway_store.ensure_indexes(db)
        assert [d["_id"] async for d in db["claims"].find({})] == ["orphan"]
