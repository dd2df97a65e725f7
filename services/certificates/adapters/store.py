"""The `CertificatesStore` port on this service's own MongoDB: the registry, certificates (latest
revision, plus `clock_due` for the clock), their revision history, accepted audits, number
counters and membership checks. Every call runs in the batch's transaction."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import date
from typing import Any, TypeVar

from pydantic import BaseModel
from pymongo import ASCENDING, InsertOne, ReplaceOne, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import OperationFailure

from contracts.common import Standard
from contracts.registry import Certificate, CertificationBody, Member, Site
from libs.messaging import Tx
from libs.mongo import from_document, to_document
from services.certificates.domain.books import Books
from services.certificates.domain.clock import clock_due
from services.certificates.domain.membership import Standing
from services.certificates.domain.model import CURRENT, LIVE
from services.certificates.domain.rules import Rules
from services.certificates.ports import RegistryRecord, StoreFor

MEMBERS = "members"
SITES = "sites"
BODIES = "certification_bodies"
CERTIFICATES = "certificates"
HISTORY = "certificate_history"
AUDITS = "audits"
COUNTERS = "counters"
CHECKS = "membership_checks"
WRITE_CONFLICT = 112
_FIELDS = set(Certificate.model_fields)
_REGISTRY: dict[type[BaseModel], tuple[str, str]] = {
    Member: (MEMBERS, "organisation_id"),
    Site: (SITES, "site_id"),
    CertificationBody: (BODIES, "certification_body_id"),
}
Model = TypeVar("Model", bound=BaseModel)


async def ensure_indexes(db: AsyncDatabase[dict[str, Any]]) -> None:
    await db[SITES].create_index("organisation_id")
    await db[CERTIFICATES].create_index("certificate_number", unique=True)
    await db[CERTIFICATES].create_index("organisation_id")
    await db[CERTIFICATES].create_index("scope.site_ids")
    await db[CERTIFICATES].create_index([("status", ASCENDING), ("valid_until", ASCENDING)])
    await db[CERTIFICATES].create_index("clock_due", sparse=True)
    await db[HISTORY].create_index(
        [("certificate_id", ASCENDING), ("revision", ASCENDING)], unique=True
    )
    await db[AUDITS].create_index("organisation_id")
    await db[CHECKS].create_index([("done", ASCENDING), ("due_on", ASCENDING)])


def certificate_from(doc: Mapping[str, Any]) -> Certificate:
    return Certificate.model_validate({k: v for k, v in doc.items() if k in _FIELDS})


def _conflict(what: str) -> OperationFailure:
    # A write conflict: the runtime aborts the transaction and retries the whole batch.
    return OperationFailure(f"{what} changed concurrently", code=WRITE_CONFLICT)


def _day(doc: Mapping[str, Any], key: str) -> date | None:
    value = doc.get(key)
    return date.fromisoformat(value) if value else None


class MongoStore:
    """The `CertificatesStore` port in one batch's transaction (`MongoStore.bound(rules)` is the
    `StoreFor`)."""

    def __init__(self, tx: Tx, rules: Rules) -> None:
        self.tx = tx
        self.db = tx.db
        self.rules = rules

    @classmethod
    def bound(cls, rules: Rules) -> StoreFor:
        """The `StoreFor` port: a store per transaction, with the rules that date the clock."""

        def store_for(tx: Tx) -> MongoStore:
            return cls(tx, rules)

        return store_for

    # ---- reading -------------------------------------------------------------------------------

    async def _by_id(
        self, collection: str, kind: type[Model], ids: Iterable[str]
    ) -> dict[str, Model]:
        wanted = list(set(ids))
        if not wanted:
            return {}
        cursor = self.db[collection].find({"_id": {"$in": wanted}}, session=self.tx.session)
        return {
            doc["_id"]: kind.model_validate({k: v for k, v in doc.items() if k != "_id"})
            async for doc in cursor
        }

    async def load_books(
        self,
        *,
        members: Iterable[str] = (),
        sites: Iterable[str] = (),
        bodies: Iterable[str] = (),
        certificates: Iterable[str] = (),
        audits: Iterable[str] = (),
        counters: Iterable[str] = (),
    ) -> Books:
        """The books a batch needs, in a few `$in` queries, and the revisions as loaded."""
        session = self.tx.session
        books = Books(
            members=await self._by_id(MEMBERS, Member, members),
            sites=await self._by_id(SITES, Site, sites),
            bodies=await self._by_id(BODIES, CertificationBody, bodies),
        )
        wanted = list(set(certificates))
        if wanted:
            query = {"_id": {"$in": wanted}}
            async for doc in self.db[CERTIFICATES].find(query, session=session):
                books.certificates[doc["_id"]] = certificate_from(doc)
        wanted = list(set(audits))
        if wanted:
            query = {"_id": {"$in": wanted}}
            async for doc in self.db[AUDITS].find(query, {"digest": 1}, session=session):
                books.audit_digests[doc["_id"]] = doc["digest"]
        wanted = list(set(counters))
        if wanted:
            async for doc in self.db[COUNTERS].find({"_id": {"$in": wanted}}, session=session):
                books.counters[doc["_id"]] = int(doc["seq"])
        books.loaded = {cid: c.revision for cid, c in books.certificates.items()}
        books.loaded |= {f"counter:{k}": v for k, v in books.counters.items()}
        return books

    async def due_certificates(self, today: date, limit: int) -> Books:
        """Live certificates past their end date, or with something else falling due
        (`clock_due`)."""
        day = today.isoformat()
        found: dict[str, Certificate] = {}
        live = {"status": {"$in": [s.value for s in LIVE]}, "valid_until": {"$lt": day}}
        for query in (live, {"clock_due": {"$lt": day}}):
            cursor = self.db[CERTIFICATES].find(query, session=self.tx.session)
            async for doc in cursor.sort("_id", ASCENDING).limit(limit):
                found[doc["_id"]] = certificate_from(doc)
        chosen = [found[k] for k in sorted(found)][:limit]
        return Books(
            certificates={c.certificate_id: c for c in chosen},
            loaded={c.certificate_id: c.revision for c in chosen},
        )

    async def _record(self, kind: type[Model], record_id: str) -> Model | None:
        collection = _REGISTRY[kind][0]
        doc = await self.db[collection].find_one({"_id": record_id}, session=self.tx.session)
        return from_document(kind, doc)

    async def member(self, organisation_id: str) -> Member | None:
        return await self._record(Member, organisation_id)

    async def site(self, site_id: str) -> Site | None:
        return await self._record(Site, site_id)

    async def certification_body(self, certification_body_id: str) -> CertificationBody | None:
        return await self._record(CertificationBody, certification_body_id)

    async def members(self, organisation_ids: Collection[str]) -> dict[str, Member]:
        return await self._by_id(MEMBERS, Member, organisation_ids)

    async def current_certificates(
        self, organisation_ids: Collection[str], standard: Standard
    ) -> list[Certificate]:
        query = {
            "organisation_id": {"$in": list(organisation_ids)},
            "standard": standard.value,
            "status": {"$in": [s.value for s in CURRENT]},
        }
        cursor = self.db[CERTIFICATES].find(query, session=self.tx.session)
        return [certificate_from(doc) async for doc in cursor]

    async def membership_standing(self, organisation_id: str) -> Standing:
        doc = await self.db[CHECKS].find_one({"_id": organisation_id}, session=self.tx.session)
        doc = doc or {}
        return Standing(
            due_on=_day(doc, "due_on"),
            flagged=bool(doc.get("done") and doc.get("flagged")),
            forfeited_on=_day(doc, "forfeited_on"),
            extended_until=_day(doc, "extended_until"),
        )

    async def due_membership_checks(self, today: date, limit: int) -> dict[str, date]:
        query = {"done": False, "due_on": {"$lt": today.isoformat()}}
        cursor = self.db[CHECKS].find(query, {"due_on": 1}, session=self.tx.session)
        return {
            doc["_id"]: date.fromisoformat(doc["due_on"])
            async for doc in cursor.sort("due_on", ASCENDING).limit(limit)
        }

    # ---- writing -------------------------------------------------------------------------------

    def _certificate_doc(self, certificate: Certificate) -> dict[str, Any]:
        due = clock_due(certificate, self.rules)
        return to_document(
            certificate,
            _id=certificate.certificate_id,
            clock_due=due.isoformat() if due else None,
        )

    async def save_books(self, books: Books, signed: Sequence[str]) -> None:
        await self._save_certificates(books, signed)
        await self._save_counters(books)
        if books.new_audits:
            await self.db[AUDITS].insert_many(
                [
                    {
                        "_id": r.audit.audit_id,
                        "digest": r.digest,
                        "organisation_id": r.audit.organisation_id,
                        "certificate_id": r.certificate_id,
                        "outcome": r.outcome,
                        "recorded_at": self.tx.now,
                        "audit": r.audit.model_dump(mode="json"),
                    }
                    for r in books.new_audits
                ],
                session=self.tx.session,
            )

    async def _save_certificates(self, books: Books, signed: Sequence[str]) -> None:
        """The latest revision of every changed certificate (guarded by the revision it was
        loaded at) and one history document per revision."""
        latest: dict[str, Certificate] = {}
        history = []
        for change, jws in zip(books.changes, signed, strict=True):
            c = change.certificate
            latest[c.certificate_id] = c
            entry = {
                "_id": f"{c.certificate_id}:{c.revision}",
                "certificate_id": c.certificate_id,
                "revision": c.revision,
                "change": change.change.value,
                "reason": change.reason,
                "occurred_at": change.occurred_at,
                "audit_id": change.audit_id,
                "certificate": to_document(c),
                "signed_certificate": jws,
            }
            history.append(InsertOne(entry))
        if not latest:
            return
        writes: list[Any] = []
        for cid, certificate in latest.items():
            before = books.loaded.get(cid)
            doc = self._certificate_doc(certificate)
            if before is None:
                writes.append(InsertOne(doc))
            else:
                writes.append(ReplaceOne({"_id": cid, "revision": before}, doc))
        session = self.tx.session
        result = await self.db[CERTIFICATES].bulk_write(writes, ordered=True, session=session)
        expected = sum(1 for cid in latest if books.loaded.get(cid) is not None)
        if result.matched_count != expected:
            raise _conflict("a certificate")
        await self.db[HISTORY].bulk_write(history, ordered=False, session=session)

    async def _save_counters(self, books: Books) -> None:
        for key, seq in books.counters.items():
            before = books.loaded.get(f"counter:{key}")
            if before == seq:
                continue
            if before is None:
                await self.db[COUNTERS].insert_one(
                    {"_id": key, "seq": seq}, session=self.tx.session
                )
                continue
            result = await self.db[COUNTERS].update_one(
                {"_id": key, "seq": before}, {"$set": {"seq": seq}}, session=self.tx.session
            )
            if result.matched_count != 1:
                raise _conflict(f"counter {key}")

    async def save_record(self, record: RegistryRecord) -> None:
        collection, id_field = _REGISTRY[type(record)]
        record_id = getattr(record, id_field)
        await self.db[collection].replace_one(
            {"_id": record_id},
            to_document(record, _id=record_id),
            upsert=True,
            session=self.tx.session,
        )

    async def set_membership_check(self, organisation_id: str, deadline: date | None) -> None:
        session = self.tx.session
        if deadline is None:
            await self.db[CHECKS].delete_one(
                {"_id": organisation_id, "done": False}, session=session
            )
            return
        doc = await self.db[CHECKS].find_one(
            {"_id": organisation_id}, {"extended_until": 1}, session=session
        )
        extended = doc.get("extended_until") if doc else None
        due = max(deadline.isoformat(), extended) if extended else deadline.isoformat()
        await self.db[CHECKS].update_one(
            {"_id": organisation_id},
            {"$set": {"due_on": due}, "$setOnInsert": {"done": False}},
            upsert=True,
            session=session,
        )

    async def extend_membership_check(self, organisation_id: str, until: date) -> None:
        day = until.isoformat()
        fields = {"due_on": day, "extended_until": day, "done": False, "flagged": False}
        await self.db[CHECKS].update_one(
            {"_id": organisation_id}, {"$set": fields}, upsert=True, session=self.tx.session
        )

    async def forfeit_membership(self, organisation_id: str, day: date) -> None:
        await self.db[CHECKS].update_one(
            {"_id": organisation_id},
            {"$set": {"forfeited_on": day.isoformat()}},
            session=self.tx.session,
        )

    async def finish_membership_checks(self, flagged: Mapping[str, bool]) -> None:
        if not flagged:
            return
        writes = [
            UpdateOne(
                {"_id": org, "done": False},
                {"$set": {"done": True, "flagged": was, "checked_at": self.tx.now}},
            )
            for org, was in flagged.items()
        ]
        result = await self.db[CHECKS].bulk_write(writes, ordered=False, session=self.tx.session)
        if result.matched_count != len(flagged):
            raise _conflict("a membership check")
