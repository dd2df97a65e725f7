"""The ledger in this service's own database: load what a batch needs with `$in`, write it back in
bulk, inside the batch's transaction.

Collections: `accounts` (one balance document per account: balance, reservations, credits per
product, open period, chain head; O(1) to read), `entries` (the append-only hash-chained entries),
`movements` (what became of each movement id), `lots` (CoC Documents received, for allocations),
`allocations`, `statements` (immutable period statements), `certificates` and `sites` (projections
of certificates.events.v1), `assignments` (rule sets per organisation), `account_flags` (frozen or
not), `keys` (the signing key, when not configured).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import Any, TypeVar

from pymongo import ASCENDING, DESCENDING, InsertOne, ReplaceOne, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import OperationFailure

from contracts.registry import Certificate
from libs.messaging import Tx
from libs.mongo import from_document, rekey_once, to_document
from services.accounting.adapters import keys
from services.accounting.adapters.encoding import (
    OPEN_OWNER,
    account_doc,
    account_from,
    allocation_doc,
    allocation_from,
    as_day,
    entry_doc,
    lot_doc,
    lot_from,
    movement_doc,
    movement_from,
    statement_doc,
)
from services.accounting.domain.ledger import (
    DEBITED,
    GRANTED,
    Account,
    Allocation,
    Ledger,
    Lot,
    MovementRecord,
)
from services.accounting.domain.rules import Assignment
from services.accounting.domain.state import allocation_key
from services.accounting.signing import Signer

WRITE_CONFLICT = 112
T = TypeVar("T")


class ConcurrentUpdate(OperationFailure):
    """Another transaction changed an account this batch read; the runtime retries the batch."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code=WRITE_CONFLICT)


async def ensure_indexes(db: AsyncDatabase[dict[str, Any]]) -> None:
    # Entries need no secondary index (one costs the embedded database half its insert rate):
    # their ids are `<account>#<sequence:012d>`, so an account's chain is an `_id` range and the
    # id itself makes (account, sequence) unique. Lots are fewer (one per CoC Document received)
    # and a claim asks for its owner's open ones: a sparse index on `OPEN_OWNER` holds those only.
    await _mark_open_lots(db)
    await db["accounts"].create_index("organisation_id")
    await db["accounts"].create_index("period_end")
    await db["certificates"].create_index("organisation_id")
    await db["statements"].create_index([("account_id", ASCENDING), ("period_id", ASCENDING)])
    await db["allocations"].create_index([("owner", ASCENDING), ("mass", DESCENDING)])
    await rekey_once(db, "allocations-keyed-by-owner", "allocations", allocation_per_owner)


def allocation_per_owner(doc: dict[str, Any]) -> dict[str, Any] | None:
    """Allocations stored before claim ids became their owner's own were keyed by the bare claim id
    (issue 23): the same allocation under `state.allocation_key`."""
    claim_id = doc.get("claim_id", doc["_id"])
    key = allocation_key(doc["owner"], claim_id)
    return None if key == doc["_id"] else {**doc, "_id": key, "claim_id": claim_id}


async def _mark_open_lots(db: AsyncDatabase[dict[str, Any]]) -> None:
    """Lots stored before `OPEN_OWNER` existed get it (if they have mass left), once: before the
    sparse index on it is made, so the index's existence says the lots are marked."""
    if f"{OPEN_OWNER}_1" in await db["lots"].index_information():
        return
    async for doc in db["lots"].find({OPEN_OWNER: {"$exists": False}, "void": False}):
        lot = lot_from(doc)
        if lot.remaining > 0:
            await db["lots"].update_one({"_id": lot.lot_id}, {"$set": {OPEN_OWNER: lot.owner}})
    await db["lots"].create_index(OPEN_OWNER, sparse=True)


def _writes(
    dirty: set[str], table: dict[str, T], known: set[str], encode: Callable[[T], dict[str, Any]]
) -> list[Any]:
    """Replace what storage holds (`known`), insert what is new."""
    return [
        ReplaceOne({"_id": key}, encode(table[key]), upsert=True)
        if key in known
        else InsertOne(encode(table[key]))
        for key in sorted(dirty)
        if key in table
    ]


class MongoStore:
    """The `AccountingStore` port on MongoDB, bound to one batch's transaction."""

    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def signing_key(self) -> Signer:
        return await keys.ensure_signer(self.tx.db)

    # ---- loading --------------------------------------------------------------------------------

    async def _find(self, collection: str, query: dict[str, Any]) -> list[dict[str, Any]]:
        return [doc async for doc in self.tx.db[collection].find(query, session=self.tx.session)]

    async def _find_in(
        self, collection: str, field: str, values: Iterable[str]
    ) -> list[dict[str, Any]]:
        """Documents whose `field` is one of `values`; no round trip for none (a batch of new
        movements has no stored lots to read, a batch of commands no accounts to close)."""
        wanted = sorted(set(values))
        return await self._find(collection, {field: {"$in": wanted}}) if wanted else []

    async def load_assignments(self, organisations: Iterable[str]) -> dict[str, list[Assignment]]:
        docs = await self._find_in("assignments", "_id", organisations)
        return {
            d["_id"]: [
                Assignment(as_day(i["effective_from"]), i["rule_set_id"]) for i in d["items"]
            ]
            for d in docs
        }

    async def load_certificates(self, organisations: Iterable[str]) -> list[Certificate]:
        docs = await self._find_in("certificates", "organisation_id", organisations)
        return [
            c for c in (from_document(Certificate, d["certificate"]) for d in docs) if c is not None
        ]

    async def load_accounts(self, account_ids: Iterable[str]) -> list[Account]:
        return [account_from(d) for d in await self._find_in("accounts", "_id", account_ids)]

    async def load_movements(self, movement_ids: Iterable[str]) -> list[MovementRecord]:
        return [movement_from(d) for d in await self._find_in("movements", "_id", movement_ids)]

    async def load_organisation_movements(self, organisation_id: str) -> list[MovementRecord]:
        query = {"organisation_id": organisation_id, "movement": {"$exists": True}}
        return [movement_from(d) for d in await self._find("movements", query)]

    async def load_lots(self, lot_ids: Iterable[str]) -> list[Lot]:
        return [lot_from(d) for d in await self._find_in("lots", "_id", lot_ids)]

    async def load_owner(self, owners: Iterable[str]) -> tuple[list[Account], list[Lot]]:
        owners = sorted(set(owners))
        accounts = [
            account_from(d)
            for d in await self._find("accounts", {"organisation_id": {"$in": owners}})
        ]
        lots = [lot_from(d) for d in await self._find("lots", {OPEN_OWNER: {"$in": owners}})]
        return accounts, [lot for lot in lots if lot.remaining > 0]

    async def load_allocations(self, keys: Iterable[str]) -> list[Allocation]:
        return [allocation_from(d) for d in await self._find_in("allocations", "_id", keys)]

    async def load_claim_holders(self, owners: Iterable[str], limit: int) -> list[Allocation]:
        """Per owner, the allocations holding the most of its mass (reserved or spent), to name in a
        refusal."""
        found: list[Allocation] = []
        for owner in sorted(set(owners)):
            cursor = (
                self.tx.db["allocations"]
                .find(
                    {"owner": owner, "status": {"$in": [GRANTED, DEBITED]}}, session=self.tx.session
                )
                .sort("mass", -1)
                .limit(limit)
            )
            found += [allocation_from(d) async for d in cursor]
        return found

    async def accounts_due(self, today: date, limit: int = 200) -> list[Account]:
        cursor = (
            self.tx.db["accounts"]
            .find({"period_end": {"$lt": today.isoformat()}}, session=self.tx.session)
            .limit(limit)
        )
        return [account_from(d) async for d in cursor]

    # ---- saving ---------------------------------------------------------------------------------

    async def save(self, books: Ledger) -> None:
        """Write what the ledger changed. An account changed by a concurrent transaction since it
        was read raises `ConcurrentUpdate` (a transient error: the batch is retried)."""
        db, session = self.tx.db, self.tx.session
        if books.dirty_accounts:
            await self._save_accounts(books)
        if books.entries:
            await db["entries"].insert_many(
                [entry_doc(e) for e in books.entries], ordered=True, session=session
            )
        if books.statements:
            await db["statements"].insert_many(
                [statement_doc(s) for s in books.statements], session=session
            )
        for collection, writes in (
            (
                "movements",
                _writes(
                    books.dirty_movements, books.movements, books.loaded["movements"], movement_doc
                ),
            ),
            ("lots", _writes(books.dirty_lots, books.lots, books.loaded["lots"], lot_doc)),
            (
                "allocations",
                _writes(
                    books.dirty_allocations,
                    books.allocations,
                    books.loaded["allocations"],
                    allocation_doc,
                ),
            ),
        ):
            if writes:
                await db[collection].bulk_write(writes, ordered=False, session=session)

    async def _save_accounts(self, books: Ledger) -> None:
        """The changed accounts, each written only if still at the version it was read at (a new
        one inserted); raises `ConcurrentUpdate` otherwise."""
        writes: list[Any] = []
        updates = 0
        for account_id in sorted(books.dirty_accounts):
            account = books.accounts.get(account_id)
            if account is None:
                continue
            if account.version == 0:
                writes.append(InsertOne(account_doc(account, 1)))
            else:
                updates += 1
                writes.append(
                    ReplaceOne(
                        {"_id": account_id, "version": account.version},
                        account_doc(account, account.version + 1),
                    )
                )
        if writes:
            result = await self.tx.db["accounts"].bulk_write(
                writes, ordered=True, session=self.tx.session
            )
            if result.matched_count != updates:
                raise ConcurrentUpdate("an account changed since this batch read it")

    async def save_certificate(self, certificate: Certificate) -> bool:
        """Keep the newest revision; False when this one is not newer than what is stored."""
        current = await self.tx.db["certificates"].find_one(
            {"_id": certificate.certificate_id}, {"revision": 1}, session=self.tx.session
        )
        if current is not None and current["revision"] >= certificate.revision:
            return False
        await self.tx.db["certificates"].replace_one(
            {"_id": certificate.certificate_id},
            {
                "_id": certificate.certificate_id,
                "organisation_id": certificate.organisation_id,
                "revision": certificate.revision,
                "certificate": to_document(certificate),
            },
            upsert=True,
            session=self.tx.session,
        )
        return True

    async def save_site(self, site_id: str, organisation_id: str) -> None:
        await self.tx.db["sites"].update_one(
            {"_id": site_id},
            {"$set": {"organisation_id": organisation_id}},
            upsert=True,
            session=self.tx.session,
        )

    async def load_flags(self, account_ids: Iterable[str]) -> dict[str, bool]:
        docs = await self._find_in("account_flags", "_id", account_ids)
        return {d["_id"]: bool(d.get("frozen")) for d in docs}

    async def save_flags(self, flags: dict[str, tuple[bool, str]]) -> None:
        if flags:
            await self.tx.db["account_flags"].bulk_write(
                [
                    UpdateOne(
                        {"_id": k}, {"$set": {"frozen": v[0], "certificate_id": v[1]}}, upsert=True
                    )
                    for k, v in sorted(flags.items())
                ],
                session=self.tx.session,
            )

    async def add_assignment(self, organisation_id: str, assignment: Assignment) -> None:
        await self.tx.db["assignments"].update_one(
            {"_id": organisation_id},
            {
                "$push": {
                    "items": {
                        "effective_from": assignment.effective_from.isoformat(),
                        "rule_set_id": assignment.rule_set_id,
                    }
                }
            },
            upsert=True,
            session=self.tx.session,
        )
