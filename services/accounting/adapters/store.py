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

from contracts.ledger import DocumentShare, LedgerEntry, PeriodStatement
from contracts.registry import Certificate
from libs.messaging import Tx
from libs.mongo import from_document, to_document
from services.accounting.adapters import keys
from services.accounting.domain import periods
from services.accounting.domain.ledger import (
    DEBITED,
    GRANTED,
    Account,
    Allocation,
    Effect,
    Ledger,
    Lot,
    MovementRecord,
    Period,
)
from services.accounting.domain.rules import ZERO, Assignment, Level
from services.accounting.signing import Signer

WRITE_CONFLICT = 112
T = TypeVar("T")


class ConcurrentUpdate(OperationFailure):
    """Another transaction changed an account this batch read; the runtime retries the batch."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code=WRITE_CONFLICT)


async def ensure_indexes(db: AsyncDatabase[dict[str, Any]]) -> None:
    # Entries and lots need no secondary index (each costs the embedded database half its insert
    # rate):
    # their ids are `<account>#<sequence:012d>` and `<owner>#<movement>`, so an account's chain and
    # an
    # owner's lots are `_id` range scans, and the id itself makes (account, sequence) unique.
    await db["accounts"].create_index("organisation_id")
    await db["accounts"].create_index("period_end")
    await db["certificates"].create_index("organisation_id")
    await db["statements"].create_index([("account_id", ASCENDING), ("period_id", ASCENDING)])
    await db["allocations"].create_index([("owner", ASCENDING), ("mass", DESCENDING)])


# ---- encoding -------------------------------------------------------------------------------


def _pairs(mapping: dict[str, Any]) -> list[list[Any]]:
    """Dict keys may hold '.', which field names must not: store maps as [key, value] pairs."""
    return [[k, v] for k, v in sorted(mapping.items())]


def _map(pairs: Iterable[list[Any]] | None) -> dict[str, Any]:
    return dict(pairs or [])


def _day(value: str | date) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def account_doc(a: Account, version: int) -> dict[str, Any]:
    p = a.period
    return {
        "_id": a.account_id,
        "organisation_id": a.organisation_id,
        "level": a.level.value,
        "site_id": a.site_id,
        "rule_set_id": a.rule_set_id,
        "balance": a.balance,
        "reserved": a.reserved,
        "buckets": _pairs(a.buckets),
        "sequence": a.sequence,
        "last_hash": a.last_hash,
        "version": version,
        "period_end": p.end.isoformat(),
        "layers": _pairs(a.layers),
        "period": {
            "period_id": p.period_id,
            "start": p.start.isoformat(),
            "end": p.end.isoformat(),
            "opening_balance": p.opening_balance,
            "coc_input": p.coc_input,
            "total_input": p.total_input,
            "coc_output": p.coc_output,
            "total_output": p.total_output,
            "inputs_by_category": _pairs(p.inputs_by_category),
            "conversion_applied": _pairs(p.conversion_applied),
            "site_coc_input": _pairs(p.site_coc_input),
            "recycled_kg": p.recycled_kg,
            "recycled_unknown": p.recycled_unknown,
            "deducted": p.deducted,
            "non_coc_inputs": _pairs(p.non_coc_inputs),
            "expired": p.expired,
            "transformations": _pairs(p.transformations),
        },
    }


def account_from(doc: dict[str, Any]) -> Account:
    p = doc["period"]
    buckets = _map(doc["buckets"])
    layers = (
        _map(doc["layers"])
        if "layers" in doc
        else {periods.layer_key(k, _day(p["start"]).replace(day=1)): v for k, v in buckets.items()}
    )  # before credits aged
    return Account(
        account_id=doc["_id"],
        organisation_id=doc["organisation_id"],
        level=Level(doc["level"]),
        site_id=doc.get("site_id"),
        rule_set_id=doc["rule_set_id"],
        balance=doc["balance"],
        reserved=doc["reserved"],
        buckets=buckets,
        sequence=doc["sequence"],
        last_hash=doc["last_hash"],
        version=doc["version"],
        layers=layers,
        period=Period(
            period_id=p["period_id"],
            start=_day(p["start"]),
            end=_day(p["end"]),
            opening_balance=p["opening_balance"],
            coc_input=p["coc_input"],
            total_input=p["total_input"],
            coc_output=p["coc_output"],
            total_output=p["total_output"],
            inputs_by_category=_map(p["inputs_by_category"]),
            conversion_applied=_map(p["conversion_applied"]),
            site_coc_input=_map(p["site_coc_input"]),
            recycled_kg=p["recycled_kg"],
            recycled_unknown=p["recycled_unknown"],
            deducted=p.get("deducted", ZERO),
            non_coc_inputs=_map(p.get("non_coc_inputs")),
            expired=p.get("expired", ZERO),
            transformations=_map(p.get("transformations")),
        ),
    )


def entry_key(account_id: str, sequence: int) -> str:
    return f"{account_id}#{sequence:012d}"


def account_range(prefix: str) -> dict[str, str]:
    """Every `_id` of the form `<prefix>#...` ('$' sorts right after '#')."""
    return {"$gte": f"{prefix}#", "$lt": f"{prefix}$"}


def entry_doc(entry: LedgerEntry) -> dict[str, Any]:
    """The entry as its contract JSON (what the hash covers, plus the hash), keyed by account and
    sequence."""
    return {
        "_id": entry_key(entry.account_id, entry.sequence),
        "account_id": entry.account_id,
        "sequence": entry.sequence,
        "period_id": entry.period_id,
        "entry": entry.model_dump_json(),
    }


def entry_from(doc: dict[str, Any]) -> LedgerEntry:
    return LedgerEntry.model_validate_json(doc["entry"])


def entries_filter(account_id: str, period_id: str | None = None) -> dict[str, Any]:
    """An account's entries (an `_id` range scan; sort by `_id` for sequence order)."""
    query: dict[str, Any] = {"_id": account_range(account_id)}
    if period_id is not None:
        query["period_id"] = period_id
    return query


def statement_doc(statement: PeriodStatement) -> dict[str, Any]:
    doc = to_document(statement, _id=f"{statement.account_id}|{statement.period_id}")
    doc["inputs_by_category_kg"] = _pairs(statement.inputs_by_category_kg)
    doc["conversion_applied"] = _pairs(statement.conversion_applied)
    doc["non_coc_inputs_kg"] = _pairs(statement.non_coc_inputs_kg)
    return doc


def statement_from(doc: dict[str, Any]) -> PeriodStatement:
    body = dict(doc)
    body["inputs_by_category_kg"] = _map(body.get("inputs_by_category_kg"))
    body["conversion_applied"] = _map(body.get("conversion_applied"))
    body["non_coc_inputs_kg"] = _map(body.get("non_coc_inputs_kg"))
    statement = from_document(PeriodStatement, body)
    if statement is None:
        raise ValueError(f"statement {doc.get('_id')} is empty")
    return statement


def _effect_doc(e: Effect) -> dict[str, Any]:
    return {**{k: v for k, v in vars(e).items() if k != "buckets"}, "buckets": _pairs(e.buckets)}


def movement_doc(m: MovementRecord) -> dict[str, Any]:
    doc = {
        "_id": m.movement_id,
        "status": m.status,
        "lot_id": m.lot_id,
        "by": m.by,
        "effects": [_effect_doc(e) for e in m.effects],
    }
    if m.movement is not None:
        doc["organisation_id"], doc["movement"] = m.organisation_id, m.movement
    return doc


def movement_from(doc: dict[str, Any]) -> MovementRecord:
    effects = [
        Effect(**{**{k: v for k, v in e.items() if k != "buckets"}, "buckets": _map(e["buckets"])})
        for e in doc["effects"]
    ]
    return MovementRecord(
        doc["_id"],
        doc["status"],
        effects,
        doc.get("lot_id"),
        doc.get("by"),
        doc.get("organisation_id"),
        doc.get("movement"),
    )


def lot_doc(lot: Lot) -> dict[str, Any]:
    return {
        "_id": lot.lot_id,
        **{k: v for k, v in vars(lot).items() if k != "lot_id"},
        "received_on": lot.received_on.isoformat(),
    }


def lot_from(doc: dict[str, Any]) -> Lot:
    body = {k: v for k, v in doc.items() if k != "_id"}
    return Lot(lot_id=doc["_id"], **{**body, "received_on": _day(body["received_on"])})


def allocation_doc(a: Allocation) -> dict[str, Any]:
    return {
        "_id": a.claim_id,
        "owner": a.owner,
        "mass": a.mass,
        "status": a.status,
        "reservations": _pairs(a.reservations),
        "lot_takes": _pairs(a.lot_takes),
        "documents": [to_document(d) for d in a.documents],
        "recycled_content_share": a.recycled_content_share,
        "carbon_footprint": a.carbon_footprint,
        "debit_entries": _pairs(a.debit_entries),
        "debit_takes": _pairs(a.debit_takes),
        "returned": a.returned,
    }


def allocation_from(doc: dict[str, Any]) -> Allocation:
    return Allocation(
        claim_id=doc["_id"],
        owner=doc["owner"],
        mass=doc["mass"],
        status=doc["status"],
        reservations=_map(doc["reservations"]),
        lot_takes=_map(doc["lot_takes"]),
        documents=[DocumentShare.model_validate(d) for d in doc["documents"]],
        recycled_content_share=doc.get("recycled_content_share"),
        carbon_footprint=doc.get("carbon_footprint"),
        debit_entries=_map(doc.get("debit_entries", [])),
        debit_takes=_map(doc.get("debit_takes", [])),
        returned=doc.get("returned", ZERO),
    )


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

    async def load_assignments(self, organisations: Iterable[str]) -> dict[str, list[Assignment]]:
        docs = await self._find("assignments", {"_id": {"$in": sorted(set(organisations))}})
        return {
            d["_id"]: [Assignment(_day(i["effective_from"]), i["rule_set_id"]) for i in d["items"]]
            for d in docs
        }

    async def load_certificates(self, organisations: Iterable[str]) -> list[Certificate]:
        docs = await self._find(
            "certificates", {"organisation_id": {"$in": sorted(set(organisations))}}
        )
        return [
            c for c in (from_document(Certificate, d["certificate"]) for d in docs) if c is not None
        ]

    async def load_accounts(self, account_ids: Iterable[str]) -> list[Account]:
        return [
            account_from(d)
            for d in await self._find("accounts", {"_id": {"$in": sorted(set(account_ids))}})
        ]

    async def load_movements(self, movement_ids: Iterable[str]) -> list[MovementRecord]:
        return [
            movement_from(d)
            for d in await self._find("movements", {"_id": {"$in": sorted(set(movement_ids))}})
        ]

    async def load_lots(self, lot_ids: Iterable[str]) -> list[Lot]:
        return [
            lot_from(d) for d in await self._find("lots", {"_id": {"$in": sorted(set(lot_ids))}})
        ]

    async def load_owner(self, owners: Iterable[str]) -> tuple[list[Account], list[Lot]]:
        owners = sorted(set(owners))
        accounts = [
            account_from(d)
            for d in await self._find("accounts", {"organisation_id": {"$in": owners}})
        ]
        lots = [
            lot_from(d)
            for owner in owners
            for d in await self._find("lots", {"_id": account_range(owner), "void": False})
        ]
        return accounts, [lot for lot in lots if lot.remaining > 0]

    async def load_allocations(self, claim_ids: Iterable[str]) -> list[Allocation]:
        return [
            allocation_from(d)
            for d in await self._find("allocations", {"_id": {"$in": sorted(set(claim_ids))}})
        ]

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
                result = await db["accounts"].bulk_write(writes, ordered=True, session=session)
                if result.matched_count != updates:
                    raise ConcurrentUpdate("an account changed since this batch read it")
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
        docs = await self._find("account_flags", {"_id": {"$in": sorted(set(account_ids))}})
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
