"""The claims service's own database: claims with their decision history, and its projection of
members and certificates from `certificates.events.v1`.

Every write of a claim is conditional on the version it was read at, inside the batch's
transaction; a lost race surfaces as a transient write conflict and the runtime retries the batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from pymongo import ASCENDING, InsertOne, ReplaceOne, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import OperationFailure

from contracts.claims import ClaimRequested, ClaimType, ClaimTypeStatus, Evidence
from contracts.common import Envelope
from contracts.registry import Certificate, Member
from libs.messaging import Tx
from libs.mongo import to_document
from services.claims.domain.checks import Allocation, Registry
from services.claims.domain.saga import Claim, Status
from services.claims.domain.texts import ApprovedText

CLAIMS = "claims"
TEXTS = "texts"
CLAIM_TYPES = "claim_types"
REGISTRY = "registry"
WRITE_CONFLICT = 112


async def ensure_indexes(db: AsyncDatabase[dict[str, Any]]) -> None:
    await db[CLAIMS].create_index([("claimant", ASCENDING), ("updated_at", ASCENDING)])
    await db[CLAIMS].create_index([("certificate_ids", ASCENDING), ("status", ASCENDING)])
    await db[CLAIMS].create_index([("status", ASCENDING), ("decide_by", ASCENDING)])
    await db[CLAIMS].create_index([("status", ASCENDING), ("awaiting_since", ASCENDING)])
    await db[CLAIMS].create_index([("status", ASCENDING), ("valid_until", ASCENDING)])
    await db[CLAIMS].create_index("allocate_command_id")
    await db[CLAIMS].create_index("approval_code")
    await db[TEXTS].create_index([("text_id", ASCENDING), ("version", ASCENDING)])
    await db[REGISTRY].create_index("organisation_id")
    await db[REGISTRY].create_index("number_key", sparse=True)


# ---- claims ----------------------------------------------------------------------------------


class Loaded:
    """Claims read in one transaction, with the version each was read at."""

    def __init__(self) -> None:
        self.claims: dict[str, Claim] = {}
        self.new: set[str] = set()
        self.read_version: dict[str, int] = {}
        self.allocate_command_ids: dict[str, str] = {}
        self.history: dict[str, list[dict[str, Any]]] = {}

    def add_new(self, claim: Claim) -> None:
        self.claims[claim.claim_id] = claim
        self.new.add(claim.claim_id)

    def record(self, claim_id: str, messages: Iterable[Envelope]) -> None:
        self.history.setdefault(claim_id, []).extend(m.model_dump(mode="json") for m in messages)


def _claim_from(doc: dict[str, Any]) -> Claim:
    allocation = doc.get("allocation")
    return Claim(
        request=ClaimRequested.model_validate(doc["request"]),
        request_hash=doc["request_hash"],
        status=Status(doc["status"]),
        decide_by=doc.get("decide_by"),
        allocation_held=doc.get("allocation_held", False),
        allocation=Allocation(
            mass_kg=allocation["mass_kg"], account_ids=tuple(allocation["account_ids"]),
            document_ids=tuple(allocation["document_ids"]),
            recycled_content_share=allocation.get("recycled_content_share"),
            carbon_footprint_kg_co2e_per_kg=allocation.get("carbon_footprint_kg_co2e_per_kg"),
        ) if allocation else None,
        certificate_ids=list(doc.get("certificate_ids", [])),
        approval_code=doc.get("approval_code"),
        valid_until=date.fromisoformat(doc["valid_until"]) if doc.get("valid_until") else None,
        evidence=Evidence.model_validate(doc["evidence"]) if doc.get("evidence") else None,
        usage={k: int(v) for k, v in doc.get("usage", [])},
        returned_kg=doc.get("returned_kg"),
        awaiting_since=doc.get("awaiting_since"),
        pilot=doc.get("pilot", False),
        version=doc["version"],
    )


def _state_of(claim: Claim, now: datetime) -> dict[str, Any]:
    allocation = claim.allocation
    return {
        "status": claim.status.value,
        "decide_by": claim.decide_by,
        "allocation_held": claim.allocation_held,
        "allocation": {
            "mass_kg": allocation.mass_kg, "account_ids": list(allocation.account_ids),
            "document_ids": list(allocation.document_ids),
            "recycled_content_share": allocation.recycled_content_share,
            "carbon_footprint_kg_co2e_per_kg": allocation.carbon_footprint_kg_co2e_per_kg,
        } if allocation else None,
        "certificate_ids": claim.certificate_ids,
        "approval_code": claim.approval_code,
        "valid_until": claim.valid_until.isoformat() if claim.valid_until else None,
        "evidence": claim.evidence.model_dump(mode="json") if claim.evidence else None,
        "usage": [[k, v] for k, v in sorted(claim.usage.items())],
        "approved_kg": claim.approved_kg,
        "used_units": claim.used.used_units,
        "used_kg": claim.used.used_kg if claim.approved_kg is not None else None,
        "returned_kg": claim.returned_kg,
        "awaiting_since": claim.awaiting_since,
        "pilot": claim.pilot,
        "version": claim.version,
        "updated_at": now,
    }


async def load_claims(tx: Tx, loaded: Loaded, *, ids: Sequence[str] = (), allocate_command_ids: Sequence[str] = (),
                      query: dict[str, Any] | None = None, limit: int = 0) -> Loaded:
    """Read claims (without their history) into `loaded`."""
    clauses: list[dict[str, Any]] = []
    if ids:
        clauses.append({"_id": {"$in": list(set(ids))}})
    if allocate_command_ids:
        clauses.append({"allocate_command_id": {"$in": list(set(allocate_command_ids))}})
    if query is not None:
        clauses.append(query)
    if not clauses:
        return loaded
    found = tx.db[CLAIMS].find(clauses[0] if len(clauses) == 1 else {"$or": clauses}, {"decisions": 0},
                               session=tx.session)
    if limit:
        found = found.limit(limit)
    async for doc in found:
        if doc["_id"] in loaded.claims:
            continue
        loaded.claims[doc["_id"]] = _claim_from(doc)
        loaded.read_version[doc["_id"]] = doc["version"]
        if doc.get("allocate_command_id"):
            loaded.allocate_command_ids[doc["allocate_command_id"]] = doc["_id"]
    return loaded


async def save_claims(tx: Tx, loaded: Loaded, changed: set[str], allocate_command_ids: dict[str, str]) -> None:
    """Write the changed claims, each guarded by the version it was read at, and their new decisions."""
    ops: list[InsertOne[dict[str, Any]] | UpdateOne] = []
    updates = 0
    for claim_id in changed:
        claim = loaded.claims[claim_id]
        history = loaded.history.get(claim_id, [])
        if claim_id in loaded.new:
            claim.version = 1
            ops.append(InsertOne({
                "_id": claim_id,
                "claimant": claim.claimant,
                "claim_type": claim.request.claim_type.value,
                "product_id": claim.request.product.product_id,
                "request": claim.request.model_dump(mode="json"),
                "request_hash": claim.request_hash,
                "created_at": tx.now,
                "allocate_command_id": allocate_command_ids.get(claim_id),
                "decisions": history,
                **_state_of(claim, tx.now),
            }))
        else:
            read = loaded.read_version[claim_id]
            claim.version = read + 1
            change: dict[str, Any] = {"$set": _state_of(claim, tx.now)}
            if history:
                change["$push"] = {"decisions": {"$each": history}}
            ops.append(UpdateOne({"_id": claim_id, "version": read}, change))
            updates += 1
    if not ops:
        return
    result = await tx.db[CLAIMS].bulk_write(ops, ordered=True, session=tx.session)
    if result.matched_count != updates:
        raise OperationFailure("a claim changed while this batch read it", code=WRITE_CONFLICT)


async def claim_document(db: AsyncDatabase[dict[str, Any]], claim_id: str) -> dict[str, Any] | None:
    return await db[CLAIMS].find_one({"_id": claim_id})


async def claims_of(db: AsyncDatabase[dict[str, Any]], organisation_id: str, limit: int = 200) -> list[dict[str, Any]]:
    fields = {"decisions": 0, "request": 0, "evidence": 0}
    cursor = db[CLAIMS].find({"claimant": organisation_id}, fields).sort([("updated_at", ASCENDING)]).limit(limit)
    return [doc async for doc in cursor]


# ---- the registry projection -----------------------------------------------------------------
# Members and certificates share one collection so a check reads both in a single query:
# `member:<org>` documents and `certificate:<id>` documents (the certificate's own fields).

_NOT_CERTIFICATE_FIELDS = ("_id", "kind", "number_key")


async def save_members(tx: Tx, members: Sequence[Member]) -> None:
    if members:
        await tx.db[REGISTRY].bulk_write(
            [ReplaceOne({"_id": f"member:{m.organisation_id}"},
                        {"kind": "member", "organisation_id": m.organisation_id, "member": to_document(m)},
                        upsert=True) for m in members],
            ordered=True, session=tx.session,
        )


async def newer_certificates(tx: Tx, certificates: Sequence[Certificate]) -> list[Certificate]:
    """Keep, in order, the certificate revisions newer than what is stored (and than earlier ones in the batch)."""
    ids = list({f"certificate:{c.certificate_id}" for c in certificates})
    stored = {doc["_id"]: doc["revision"] async for doc in
              tx.db[REGISTRY].find({"_id": {"$in": ids}}, {"revision": 1}, session=tx.session)}
    newer = []
    for c in certificates:
        key = f"certificate:{c.certificate_id}"
        if c.revision > stored.get(key, 0):
            stored[key] = c.revision
            newer.append(c)
    return newer


async def save_certificates(tx: Tx, certificates: Sequence[Certificate]) -> None:
    latest = {c.certificate_id: c for c in certificates}
    if latest:
        await tx.db[REGISTRY].bulk_write(
            [ReplaceOne({"_id": f"certificate:{cid}"},
                        to_document(c, kind="certificate", number_key=c.certificate_number.upper()), upsert=True)
             for cid, c in latest.items()],
            ordered=True, session=tx.session,
        )


async def load_registry(tx: Tx, requests: Iterable[ClaimRequested], quoted_numbers: Iterable[str]) -> Registry:
    """Members and certificates the given requests need, in one query."""
    orgs = list({org for r in requests for org in (r.claimant_organisation_id, *r.product.supplier_organisation_ids)})
    keys = list({n.upper() for n in quoted_numbers})
    if not orgs:
        return Registry()
    query: dict[str, Any] = {"organisation_id": {"$in": orgs}}
    if keys:
        query = {"$or": [query, {"number_key": {"$in": keys}}]}
    members: set[str] = set()
    certificates: list[Certificate] = []
    standing: dict[str, str] = {}
    async for doc in tx.db[REGISTRY].find(query, {"findings": 0, "member": 0}, session=tx.session):
        if doc["kind"] == "member":
            members.add(doc["organisation_id"])
        elif doc["kind"] == "standing":  # adapters.membership_store
            standing[doc["organisation_id"]] = doc["standing"]
        else:
            certificates.append(Certificate.model_validate(
                {k: v for k, v in doc.items() if k not in _NOT_CERTIFICATE_FIELDS}))
    return Registry(frozenset(members), tuple(certificates), standing)


# ---- the secretariat's approved texts --------------------------------------------------------


def _text_document(text: ApprovedText) -> dict[str, Any]:
    return {"_id": f"{text.text_id}:{text.version}", "text_id": text.text_id, "version": text.version,
            "claim_type": text.claim_type.value, "language": text.language, "template": text.template,
            "auto_approve": text.auto_approve}


async def save_text(tx: Tx, text: ApprovedText) -> bool:
    """Store a text version; False when that version already exists with other content (the first stands)."""
    wanted = _text_document(text)
    stored = await tx.db[TEXTS].find_one({"_id": wanted["_id"]}, session=tx.session)
    if stored is None:
        await tx.db[TEXTS].insert_one(wanted, session=tx.session)
        return True
    return stored == wanted


async def latest_texts(tx: Tx, text_ids: Iterable[str]) -> dict[str, ApprovedText]:
    ids = list(set(text_ids))
    if not ids:
        return {}
    latest: dict[str, ApprovedText] = {}
    async for doc in tx.db[TEXTS].find({"text_id": {"$in": ids}}, session=tx.session):
        if doc["text_id"] not in latest or doc["version"] > latest[doc["text_id"]].version:
            latest[doc["text_id"]] = ApprovedText(doc["text_id"], doc["version"], ClaimType(doc["claim_type"]),
                                                  doc["language"], doc["template"], doc["auto_approve"])
    return latest


# ---- claim type statuses set by the secretariat -----------------------------------------------


async def set_claim_type_status(tx: Tx, claim_type: ClaimType, status: ClaimTypeStatus, now: datetime) -> None:
    await tx.db[CLAIM_TYPES].update_one({"_id": claim_type.value}, {"$set": {"status": status.value, "set_at": now}},
                                        upsert=True, session=tx.session)


async def claim_type_statuses(tx: Tx) -> dict[ClaimType, ClaimTypeStatus]:
    return {ClaimType(d["_id"]): ClaimTypeStatus(d["status"])
            async for d in tx.db[CLAIM_TYPES].find({}, session=tx.session)}
