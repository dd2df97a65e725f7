"""The claims service's own database: claims (keyed by `identity.claim_key`: claimant and claim id)
with their decision history, approved texts and claim type statuses; its projection of members,
certificates, footprints and sites is in `store_registry.py`.

Every write of a claim is conditional on the version it was read at, inside the batch's
transaction; a lost race surfaces as a transient write conflict and the runtime retries the batch.
`MongoStore` implements `ports.ClaimsStore`; `claim_documents` and `claims_of` serve the CLI.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, InsertOne, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import OperationFailure

from contracts.claims import ClaimType, ClaimTypeStatus
from contracts.common import today_utc
from libs.mongo import rekey_once
from services.claims.adapters.documents import claim_from, state_of, text_document
from services.claims.adapters.store_registry import REGISTRY, RegistryStore
from services.claims.domain.effects import Status
from services.claims.domain.identity import claim_key, claim_ref
from services.claims.domain.plausibility import OPEN
from services.claims.domain.state import Loaded
from services.claims.domain.texts import ApprovedText

CLAIMS = "claims"
TEXTS = "texts"
CLAIM_TYPES = "claim_types"
WRITE_CONFLICT = 112
UNUSED_INDEXES = ("status_1_awaiting_since_1", "approval_code_1")


async def ensure_indexes(db: AsyncDatabase[dict[str, Any]]) -> None:
    await db[CLAIMS].create_index([("claimant", ASCENDING), ("updated_at", ASCENDING)])
    await db[CLAIMS].create_index([("certificate_ids", ASCENDING), ("status", ASCENDING)])
    await db[CLAIMS].create_index([("status", ASCENDING), ("decide_by", ASCENDING)])
    await db[CLAIMS].create_index([("status", ASCENDING), ("valid_until", ASCENDING)])
    await db[CLAIMS].create_index("allocate_command_id")
    await db[CLAIMS].create_index("claim_id")
    # No query of this service asks for these (the gateway keeps claims of its own), and every
    # write of a claim removes and inserts its entries in each index: dropped where an earlier
    # version made them.
    for unused in UNUSED_INDEXES:
        with contextlib.suppress(OperationFailure):
            await db[CLAIMS].drop_index(unused)
    # `open_claims_with` asks this once per new claim: with `status` in the key the embedded
    # database answers from the index instead of scanning every claim.
    await db[CLAIMS].create_index(
        [
            ("request.product.product_id", ASCENDING),
            ("request.artwork_reference", ASCENDING),
            ("status", ASCENDING),
        ]
    )
    await db[TEXTS].create_index([("text_id", ASCENDING), ("version", ASCENDING)])
    await db[REGISTRY].create_index("organisation_id")
    await db[REGISTRY].create_index("number_key", sparse=True)
    await rekey_once(db, "claims-keyed-by-claimant", CLAIMS, claim_per_claimant)


def claim_per_claimant(doc: dict[str, Any]) -> dict[str, Any] | None:
    """Claims stored before claim ids became their claimant's own were keyed by the bare claim id
    (issue 23): the same claim under `identity.claim_key`, with its `claim_id` field."""
    claim_id = doc.get("claim_id", doc["_id"])
    key = claim_key(doc["claimant"], claim_id)
    return None if key == doc["_id"] else {**doc, "_id": key, "claim_id": claim_id}


# ---- claims ----------------------------------------------------------------------------------


class MongoStore(RegistryStore):
    """`ports.ClaimsStore` on the service's MongoDB, inside one batch's transaction: the claims,
    texts and claim type statuses here, the registry projection in `RegistryStore`."""

    # ---- claims ----

    async def load_claims(
        self, *, ids: Sequence[str] = (), allocate_command_ids: Sequence[str] = ()
    ) -> Loaded:
        clauses: list[dict[str, Any]] = []
        if ids:
            clauses.append({"_id": {"$in": list(set(ids))}})
        if allocate_command_ids:
            clauses.append({"allocate_command_id": {"$in": list(set(allocate_command_ids))}})
        return await self._load(clauses)

    async def load_approved_resting_on(self, certificate_ids: Sequence[str]) -> Loaded:
        query = {"certificate_ids": {"$in": list(certificate_ids)}, "status": Status.APPROVED.value}
        return await self._load([query])

    async def load_due(self, now: datetime, limit: int) -> Loaded:
        """Pending claims past their allocation deadline, then approvals past `valid_until`: two
        indexed queries (an `$or` is a scan of every claim in the embedded database), up to
        `limit` in all."""
        timed_out = {"status": Status.PENDING.value, "decide_by": {"$lte": now}}
        expired = {
            "status": Status.APPROVED.value,
            "valid_until": {"$lt": today_utc(now).isoformat()},
        }
        loaded = await self._load([timed_out], limit)
        left = limit - len(loaded.claims) if limit else 0
        if limit and left <= 0:
            return loaded
        return await self._load([expired], left, into=loaded)

    async def open_claims_with(self, product_id: str, artwork_reference: str) -> list[str]:
        query = {
            "request.product.product_id": product_id,
            "request.artwork_reference": artwork_reference,
            "status": {"$in": [s.value for s in OPEN]},
        }
        found = self.db[CLAIMS].find(query, {"claimant": 1, "claim_id": 1}, session=self.session)
        return sorted([claim_ref(doc["claimant"], doc["claim_id"]) async for doc in found])

    async def _load(
        self, clauses: list[dict[str, Any]], limit: int = 0, into: Loaded | None = None
    ) -> Loaded:
        """The claims any clause matches, each once. One query per clause, never an `$or`: the
        embedded database answers an `$or` by scanning every claim, and each clause has an index."""
        loaded = into if into is not None else Loaded()
        for query in clauses:
            found = self.db[CLAIMS].find(query, {"decisions": 0}, session=self.session)
            if limit:
                found = found.limit(limit)
            async for doc in found:
                if doc["_id"] not in loaded.claims:
                    loaded.add_read(claim_from(doc), doc.get("allocate_command_id"))
        return loaded

    async def save_claims(self, loaded: Loaded) -> None:
        now = self.tx.now
        ops: list[InsertOne[dict[str, Any]] | UpdateOne] = []
        updates = 0
        for key in loaded.changed:
            claim = loaded.claims[key]
            history = loaded.history.get(key, [])
            if key in loaded.new:
                claim.version = 1
                ops.append(
                    InsertOne(
                        {
                            "_id": key,
                            "claim_id": claim.claim_id,
                            "claimant": claim.claimant,
                            "claim_type": claim.request.claim_type.value,
                            "product_id": claim.request.product.product_id,
                            "request": claim.request.model_dump(mode="json"),
                            "request_hash": claim.request_hash,
                            "created_at": now,
                            "allocate_command_id": loaded.commands.get(key),
                            "decisions": history,
                            **state_of(claim, now),
                        }
                    )
                )
            else:
                read = loaded.read_version[key]
                claim.version = read + 1
                change: dict[str, Any] = {"$set": state_of(claim, now)}
                if history:
                    change["$push"] = {"decisions": {"$each": history}}
                ops.append(UpdateOne({"_id": key, "version": read}, change))
                updates += 1
        if not ops:
            return
        result = await self.db[CLAIMS].bulk_write(ops, ordered=True, session=self.session)
        if result.matched_count != updates:
            raise OperationFailure("a claim changed while this batch read it", code=WRITE_CONFLICT)

    # ---- the secretariat's approved texts and claim type statuses ----

    async def save_text(self, text: ApprovedText) -> bool:
        wanted = text_document(text)
        stored = await self.db[TEXTS].find_one({"_id": wanted["_id"]}, session=self.session)
        if stored is None:
            await self.db[TEXTS].insert_one(wanted, session=self.session)
            return True
        return stored == wanted

    async def latest_texts(self, text_ids: Iterable[str]) -> dict[str, ApprovedText]:
        ids = list(set(text_ids))
        if not ids:
            return {}
        latest: dict[str, ApprovedText] = {}
        async for doc in self.db[TEXTS].find({"text_id": {"$in": ids}}, session=self.session):
            if doc["text_id"] not in latest or doc["version"] > latest[doc["text_id"]].version:
                latest[doc["text_id"]] = ApprovedText(
                    doc["text_id"],
                    doc["version"],
                    ClaimType(doc["claim_type"]),
                    doc["language"],
                    doc["template"],
                    doc["auto_approve"],
                )
        return latest

    # ---- claim type statuses ----

    async def set_claim_type_status(
        self, claim_type: ClaimType, status: ClaimTypeStatus, now: datetime
    ) -> None:
        await self.db[CLAIM_TYPES].update_one(
            {"_id": claim_type.value},
            {"$set": {"status": status.value, "set_at": now}},
            upsert=True,
            session=self.session,
        )

    async def claim_type_statuses(self) -> dict[ClaimType, ClaimTypeStatus]:
        return {
            ClaimType(d["_id"]): ClaimTypeStatus(d["status"])
            async for d in self.db[CLAIM_TYPES].find({}, session=self.session)
        }


async def claim_documents(db: AsyncDatabase[dict[str, Any]], claim_id: str) -> list[dict[str, Any]]:
    """Every owner's claim with this id (claim ids are the owner's own)."""
    return [
        doc async for doc in db[CLAIMS].find({"claim_id": claim_id}).sort("claimant", ASCENDING)
    ]


async def claims_of(
    db: AsyncDatabase[dict[str, Any]], organisation_id: str, limit: int = 200
) -> list[dict[str, Any]]:
    fields = {"decisions": 0, "request": 0, "evidence": 0}
    cursor = (
        db[CLAIMS]
        .find({"claimant": organisation_id}, fields)
        .sort([("updated_at", ASCENDING)])
        .limit(limit)
    )
    return [doc async for doc in cursor]
