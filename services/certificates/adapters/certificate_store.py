"""Certificates, their revision history, audits, number counters and membership checks in this
service's own database. Every call runs in the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from pymongo import ASCENDING, InsertOne, ReplaceOne, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import OperationFailure

from contracts.common import Standard
from contracts.registry import Certificate, CertificationBody, Member, Site
from libs.messaging import Tx
from libs.mongo import to_document
from services.certificates.domain.certification import LIVE, Books, Change, clock_due
from services.certificates.domain.membership import Standing
from services.certificates.domain.rules import Rules

CERTIFICATES = "certificates"
HISTORY = "certificate_history"
AUDITS = "audits"
COUNTERS = "counters"
CHECKS = "membership_checks"
WRITE_CONFLICT = 112
_FIELDS = set(Certificate.model_fields)


async def ensure_indexes(db: AsyncDatabase[dict[str, Any]]) -> None:
    await db[CERTIFICATES].create_index("certificate_number", unique=True)
    await db[CERTIFICATES].create_index("organisation_id")
    await db[CERTIFICATES].create_index("scope.site_ids")
    await db[CERTIFICATES].create_index([("status", ASCENDING), ("valid_until", ASCENDING)])
    await db[CERTIFICATES].create_index("clock_due", sparse=True)
    await db[HISTORY].create_index([("certificate_id", ASCENDING), ("revision", ASCENDING)], unique=True)
    await db[AUDITS].create_index("organisation_id")
    await db[CHECKS].create_index([("done", ASCENDING), ("due_on", ASCENDING)])


def certificate_from(doc: dict[str, Any]) -> Certificate:
    return Certificate.model_validate({k: v for k, v in doc.items() if k in _FIELDS})


def _certificate_doc(certificate: Certificate, rules: Rules) -> dict[str, Any]:
    due = clock_due(certificate, rules)
    return to_document(certificate, _id=certificate.certificate_id, clock_due=due.isoformat() if due else None)


async def _load(tx: Tx, collection: str, kind: Any, ids: Iterable[str]) -> dict[str, Any]:
    wanted = list(set(ids))
    if not wanted:
        return {}
    cursor = tx.db[collection].find({"_id": {"$in": wanted}}, session=tx.session)
    return {doc["_id"]: kind.model_validate({k: v for k, v in doc.items() if k != "_id"}) async for doc in cursor}


async def load_books(tx: Tx, *, members: Iterable[str] = (), sites: Iterable[str] = (), bodies: Iterable[str] = (),
                     certificates: Iterable[str] = (), audits: Iterable[str] = (),
                     counters: Iterable[str] = ()) -> tuple[Books, dict[str, int]]:
    """The books a batch needs, in a few `$in` queries, and the revisions as loaded."""
    books = Books(
        members=await _load(tx, "members", Member, members),
        sites=await _load(tx, "sites", Site, sites),
        bodies=await _load(tx, "certification_bodies", CertificationBody, bodies),
    )
    wanted = list(set(certificates))
    if wanted:
        async for doc in tx.db[CERTIFICATES].find({"_id": {"$in": wanted}}, session=tx.session):
            books.certificates[doc["_id"]] = certificate_from(doc)
    wanted = list(set(audits))
    if wanted:
        async for doc in tx.db[AUDITS].find({"_id": {"$in": wanted}}, {"digest": 1}, session=tx.session):
            books.audit_digests[doc["_id"]] = doc["digest"]
    wanted = list(set(counters))
    if wanted:
        async for doc in tx.db[COUNTERS].find({"_id": {"$in": wanted}}, session=tx.session):
            books.counters[doc["_id"]] = int(doc["seq"])
    loaded = {cid: c.revision for cid, c in books.certificates.items()}
    loaded |= {f"counter:{k}": v for k, v in books.counters.items()}
    return books, loaded


def _conflict(what: str) -> OperationFailure:
    # A write conflict: the runtime aborts the transaction and retries the whole batch.
    return OperationFailure(f"{what} changed concurrently", code=WRITE_CONFLICT)


async def save_changes(tx: Tx, changes: list[Change], loaded: dict[str, int], signed: list[str], rules: Rules) -> None:
    """Write the latest revision of every changed certificate (guarded by the revision it was
    loaded at) and one history document per revision."""
    latest: dict[str, Certificate] = {}
    history = []
    for change, jws in zip(changes, signed, strict=True):
        c = change.certificate
        latest[c.certificate_id] = c
        history.append(InsertOne({
            "_id": f"{c.certificate_id}:{c.revision}", "certificate_id": c.certificate_id, "revision": c.revision,
            "change": change.change.value, "reason": change.reason, "occurred_at": change.occurred_at,
            "audit_id": change.audit_id,
            "certificate": to_document(c), "signed_certificate": jws,
        }))
    if not latest:
        return
    writes: list[Any] = []
    for cid, certificate in latest.items():
        before = loaded.get(cid)
        if before is None:
            writes.append(InsertOne(_certificate_doc(certificate, rules)))
        else:
            writes.append(ReplaceOne({"_id": cid, "revision": before}, _certificate_doc(certificate, rules)))
    result = await tx.db[CERTIFICATES].bulk_write(writes, ordered=True, session=tx.session)
    expected = sum(1 for cid in latest if loaded.get(cid) is not None)
    if result.matched_count != expected:
        raise _conflict("a certificate")
    await tx.db[HISTORY].bulk_write(history, ordered=False, session=tx.session)


async def save_books(tx: Tx, books: Books, loaded: dict[str, int], signed: list[str], rules: Rules) -> None:
    await save_changes(tx, books.changes, loaded, signed, rules)
    for key, seq in books.counters.items():
        before = loaded.get(f"counter:{key}")
        if before == seq:
            continue
        if before is None:
            await tx.db[COUNTERS].insert_one({"_id": key, "seq": seq}, session=tx.session)
        else:
            result = await tx.db[COUNTERS].update_one({"_id": key, "seq": before}, {"$set": {"seq": seq}},
                                                      session=tx.session)
            if result.matched_count != 1:
                raise _conflict(f"counter {key}")
    if books.new_audits:
        await tx.db[AUDITS].insert_many([
            {"_id": r.audit.audit_id, "digest": r.digest, "organisation_id": r.audit.organisation_id,
             "certificate_id": r.certificate_id, "outcome": r.outcome, "recorded_at": tx.now,
             "audit": r.audit.model_dump(mode="json")}
            for r in books.new_audits
        ], session=tx.session)


async def due_certificates(tx: Tx, today: date, limit: int) -> list[Certificate]:
    """Live certificates past their end date, or with something else falling due (`clock_due`)."""
    day = today.isoformat()
    found: dict[str, Certificate] = {}
    for query in ({"status": {"$in": [s.value for s in LIVE]}, "valid_until": {"$lt": day}},
                  {"clock_due": {"$lt": day}}):
        cursor = tx.db[CERTIFICATES].find(query, session=tx.session).sort("_id", ASCENDING).limit(limit)
        async for doc in cursor:
            found[doc["_id"]] = certificate_from(doc)
    return [found[k] for k in sorted(found)][:limit]


async def set_membership_check(tx: Tx, organisation_id: str, deadline: date | None) -> None:
    """The member's check falls due on its deadline, or on a later one the secretariat extended it to."""
    if deadline is None:
        await tx.db[CHECKS].delete_one({"_id": organisation_id, "done": False}, session=tx.session)
        return
    doc = await tx.db[CHECKS].find_one({"_id": organisation_id}, {"extended_until": 1}, session=tx.session)
    extended = doc.get("extended_until") if doc else None
    due = max(deadline.isoformat(), extended) if extended else deadline.isoformat()
    await tx.db[CHECKS].update_one({"_id": organisation_id},
                                   {"$set": {"due_on": due}, "$setOnInsert": {"done": False}},
                                   upsert=True, session=tx.session)


async def due_membership_checks(tx: Tx, today: date, limit: int) -> dict[str, date]:
    """Members whose check is due, with the day it fell due."""
    cursor = tx.db[CHECKS].find({"done": False, "due_on": {"$lt": today.isoformat()}}, {"due_on": 1},
                                session=tx.session).sort("due_on", ASCENDING).limit(limit)
    return {doc["_id"]: date.fromisoformat(doc["due_on"]) async for doc in cursor}


async def membership_standing(tx: Tx, organisation_id: str) -> Standing:
    doc = await tx.db[CHECKS].find_one({"_id": organisation_id}, session=tx.session) or {}
    day = lambda key: date.fromisoformat(doc[key]) if doc.get(key) else None  # noqa: E731
    return Standing(due_on=day("due_on"), flagged=bool(doc.get("done") and doc.get("flagged")),
                    forfeited_on=day("forfeited_on"), extended_until=day("extended_until"))


async def extend_membership_check(tx: Tx, organisation_id: str, until: date) -> None:
    await tx.db[CHECKS].update_one({"_id": organisation_id}, {"$set": {
        "due_on": until.isoformat(), "extended_until": until.isoformat(), "done": False, "flagged": False}},
        upsert=True, session=tx.session)


async def forfeit_membership(tx: Tx, organisation_id: str, day: date) -> None:
    await tx.db[CHECKS].update_one({"_id": organisation_id}, {"$set": {"forfeited_on": day.isoformat()}},
                                   session=tx.session)


async def members(tx: Tx, organisation_ids: list[str]) -> dict[str, Member]:
    return await _load(tx, "members", Member, organisation_ids)


async def current_certificates(tx: Tx, organisation_ids: list[str], standard: Standard) -> list[Certificate]:
    cursor = tx.db[CERTIFICATES].find({"organisation_id": {"$in": organisation_ids}, "standard": standard.value,
                                       "status": {"$in": ["active", "provisional"]}}, session=tx.session)
    return [certificate_from(doc) async for doc in cursor]


async def finish_membership_checks(tx: Tx, outcome: dict[str, bool]) -> None:
    if outcome:
        result = await tx.db[CHECKS].bulk_write(
            [UpdateOne({"_id": org, "done": False}, {"$set": {"done": True, "flagged": flagged, "checked_at": tx.now}})
             for org, flagged in outcome.items()], ordered=False, session=tx.session)
        if result.matched_count != len(outcome):
            raise _conflict("a membership check")
