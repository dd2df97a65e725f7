"""The claims service's own database: claims (keyed by `saga.claim_key`: claimant and claim id)
with their decision history, and its projection of
members and certificates from `certificates.events.v1`.

Every write of a claim is conditional on the version it was read at, inside the batch's
transaction; a lost race surfaces as a transient write conflict and the runtime retries the batch.
`MongoStore` implements `ports.ClaimsStore`; `claim_documents` and `claims_of` serve the CLI.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pymongo import ASCENDING, InsertOne, ReplaceOne, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import OperationFailure

from contracts.claims import ClaimRequested, ClaimType, ClaimTypeStatus
from contracts.common import today_utc
from contracts.registry import Certificate, Member, Site
from libs.messaging import Tx
from libs.mongo import rekey_once, to_document
from services.claims.adapters.documents import (
    claim_from,
    footprint_document,
    footprint_from,
    state_of,
    text_document,
)
from services.claims.domain.checks import Registry
from services.claims.domain.effects import Status
from services.claims.domain.footprints import Footprint
from services.claims.domain.membership import AT_RISK, FORFEITED
from services.claims.domain.plausibility import OPEN, SiteYear
from services.claims.domain.saga import claim_key, claim_ref
from services.claims.domain.state import Loaded
from services.claims.domain.texts import ApprovedText

CLAIMS = "claims"
TEXTS = "texts"
FOOTPRINTS = "footprints"
CLAIM_TYPES = "claim_types"
REGISTRY = "registry"
SITES = "sites"
"""Each site's organisation and declared yearly output capacity (from `SiteRegistered`)."""
SITE_OUTPUT = "site_output"
"""CoC mass of the documents each site issued per calendar year (`<site>|<year>`), exact strings."""
WRITE_CONFLICT = 112


async def ensure_indexes(db: AsyncDatabase[dict[str, Any]]) -> None:
    await db[CLAIMS].create_index([("claimant", ASCENDING), ("updated_at", ASCENDING)])
    await db[CLAIMS].create_index([("certificate_ids", ASCENDING), ("status", ASCENDING)])
    await db[CLAIMS].create_index([("status", ASCENDING), ("decide_by", ASCENDING)])
    await db[CLAIMS].create_index([("status", ASCENDING), ("awaiting_since", ASCENDING)])
    await db[CLAIMS].create_index([("status", ASCENDING), ("valid_until", ASCENDING)])
    await db[CLAIMS].create_index("allocate_command_id")
    await db[CLAIMS].create_index("approval_code")
    await db[CLAIMS].create_index("claim_id")
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
    (issue 23): the same claim under `saga.claim_key`, with its `claim_id` field."""
    claim_id = doc.get("claim_id", doc["_id"])
    key = claim_key(doc["claimant"], claim_id)
    return None if key == doc["_id"] else {**doc, "_id": key, "claim_id": claim_id}


# ---- claims ----------------------------------------------------------------------------------


class MongoStore:
    """`ports.ClaimsStore` on the service's MongoDB, inside one batch's transaction."""

    def __init__(self, tx: Tx) -> None:
        self.tx = tx
        self.db = tx.db
        self.session = tx.session
        self._outputs: dict[str, dict[str, Any] | None] = {}
        """Site-years (`SITE_OUTPUT`) as this transaction read and wrote them."""
        self._sites: dict[str, dict[str, Any]] = {}
        """Sites (`SITES`) as this transaction read them."""

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

    # ---- the registry projection ----
    # Members, their standing and certificates share one collection so a check reads them all in a
    # single query: `member:<org>`, `standing:<org>` and `certificate:<id>` documents (the
    # certificate's own fields).

    async def save_members(self, members: Sequence[Member]) -> None:
        if members:
            await self.db[REGISTRY].bulk_write(
                [
                    ReplaceOne(
                        {"_id": f"member:{m.organisation_id}"},
                        {
                            "kind": "member",
                            "organisation_id": m.organisation_id,
                            "member": to_document(m),
                        },
                        upsert=True,
                    )
                    for m in members
                ],
                ordered=True,
                session=self.session,
            )

    async def newer_certificates(self, certificates: Sequence[Certificate]) -> list[Certificate]:
        ids = list({f"certificate:{c.certificate_id}" for c in certificates})
        stored = {
            doc["_id"]: doc["revision"]
            async for doc in self.db[REGISTRY].find(
                {"_id": {"$in": ids}}, {"revision": 1}, session=self.session
            )
        }
        newer = []
        for c in certificates:
            key = f"certificate:{c.certificate_id}"
            if c.revision > stored.get(key, 0):
                stored[key] = c.revision
                newer.append(c)
        return newer

    async def save_certificates(self, certificates: Sequence[Certificate]) -> None:
        latest = {c.certificate_id: c for c in certificates}
        if latest:
            await self.db[REGISTRY].bulk_write(
                [
                    ReplaceOne(
                        {"_id": f"certificate:{cid}"},
                        to_document(c, kind="certificate", number_key=c.certificate_number.upper()),
                        upsert=True,
                    )
                    for cid, c in latest.items()
                ],
                ordered=True,
                session=self.session,
            )

    async def load_registry(
        self, requests: Iterable[ClaimRequested], quoted_numbers: Iterable[str]
    ) -> Registry:
        requests = list(requests)
        orgs = list(
            {
                org
                for r in requests
                for org in (r.claimant_organisation_id, *r.product.supplier_organisation_ids)
            }
        )
        keys = list({n.upper() for n in quoted_numbers})
        if not orgs:
            return Registry()
        footprints = await self.load_footprints(
            str(r.footprint_id) for r in requests if r.footprint_id is not None
        )
        # Two indexed queries rather than an `$or`, which the embedded database answers by a scan.
        queries: list[dict[str, Any]] = [{"organisation_id": {"$in": orgs}}]
        if keys:
            queries.append({"number_key": {"$in": keys}})
        members: set[str] = set()
        certificates: list[Certificate] = []
        standing: dict[str, str] = {}
        projection = {"findings": 0, "member": 0}
        seen: set[str] = set()
        for query in queries:
            async for doc in self.db[REGISTRY].find(query, projection, session=self.session):
                if doc["_id"] not in seen:
                    seen.add(doc["_id"])
                    _read_registry_doc(doc, members, certificates, standing)
        return Registry(frozenset(members), tuple(certificates), standing, footprints)

    # ---- members' standing (`domain/membership.py`) ----

    async def mark_at_risk(self, organisation_id: str, since: datetime) -> None:
        key = f"standing:{organisation_id}"
        current = await self.db[REGISTRY].find_one(
            {"_id": key}, {"standing": 1}, session=self.session
        )
        if current is None or current["standing"] != FORFEITED:
            await self.db[REGISTRY].replace_one(
                {"_id": key},
                _standing(organisation_id, AT_RISK, since),
                upsert=True,
                session=self.session,
            )

    async def mark_forfeited(
        self, organisation_id: str, since: datetime, forfeited_on: date
    ) -> None:
        await self.db[REGISTRY].replace_one(
            {"_id": f"standing:{organisation_id}"},
            {
                **_standing(organisation_id, FORFEITED, since),
                "forfeited_on": forfeited_on.isoformat(),
            },
            upsert=True,
            session=self.session,
        )

    async def clear_at_risk(self, organisation_id: str) -> None:
        await self.db[REGISTRY].delete_one(
            {"_id": f"standing:{organisation_id}", "standing": AT_RISK}, session=self.session
        )

    async def clear_forfeited(self, organisation_id: str, joined_on: date) -> None:
        # `domain.membership.rejoins` as a query: forfeited before the new join date
        await self.db[REGISTRY].delete_one(
            {
                "_id": f"standing:{organisation_id}",
                "standing": FORFEITED,
                "forfeited_on": {"$lt": joined_on.isoformat()},
            },
            session=self.session,
        )

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

    # ---- PACT footprints (`domain/footprints.py`) ----

    async def load_footprints(self, footprint_ids: Iterable[str]) -> dict[str, Footprint]:
        ids = list(set(footprint_ids))
        if not ids:
            return {}
        found = self.db[FOOTPRINTS].find({"_id": {"$in": ids}}, session=self.session)
        return {doc["_id"]: footprint_from(doc) async for doc in found}

    async def save_footprint(self, footprint: Footprint) -> None:
        wanted = footprint_document(footprint)
        await self.db[FOOTPRINTS].replace_one(
            {"_id": wanted["_id"]}, wanted, upsert=True, session=self.session
        )

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

    # ---- sites' output, for the capacity plausibility check ----

    async def save_sites(self, sites: Sequence[Site]) -> None:
        for site in sites:
            self._sites.pop(site.site_id, None)
            capacity = site.output_capacity_kg_per_year
            await self.db[SITES].update_one(
                {"_id": site.site_id},
                {
                    "$set": {
                        "organisation_id": site.organisation_id,
                        "capacity_kg": None if capacity is None else str(capacity),
                    }
                },
                upsert=True,
                session=self.session,
            )

    async def add_site_output(self, site_id: str, year: int, coc_kg: Decimal) -> SiteYear:
        # A batch of ledger events carries many documents of few sites: each site and site-year
        # is read once per transaction and kept with what this transaction wrote to it.
        key = f"{site_id}|{year}"
        if key not in self._outputs:
            self._outputs[key] = await self.db[SITE_OUTPUT].find_one(
                {"_id": key}, session=self.session
            )
        stored = self._outputs[key]
        total = coc_kg + (Decimal(stored["coc_output_kg"]) if stored else Decimal(0))
        await self.db[SITE_OUTPUT].update_one(
            {"_id": key},
            {"$set": {"site_id": site_id, "year": year, "coc_output_kg": str(total)}},
            upsert=True,
            session=self.session,
        )
        self._outputs[key] = {**(stored or {}), "coc_output_kg": str(total)}
        if site_id not in self._sites:
            self._sites[site_id] = (
                await self.db[SITES].find_one({"_id": site_id}, session=self.session) or {}
            )
        site = self._sites[site_id]
        capacity = site.get("capacity_kg")
        return SiteYear(
            site_id=site_id,
            year=year,
            coc_output_kg=total,
            organisation_id=site.get("organisation_id"),
            capacity_kg=None if capacity is None else Decimal(capacity),
            alerted=bool(stored and stored.get("alerted")),
        )

    async def mark_site_alerted(self, site_id: str, year: int) -> None:
        key = f"{site_id}|{year}"
        await self.db[SITE_OUTPUT].update_one(
            {"_id": key}, {"$set": {"alerted": True}}, session=self.session
        )
        if (stored := self._outputs.get(key)) is not None:
            self._outputs[key] = {**stored, "alerted": True}


_NOT_CERTIFICATE_FIELDS = ("_id", "kind", "number_key")


def _read_registry_doc(
    doc: dict[str, Any],
    members: set[str],
    certificates: list[Certificate],
    standing: dict[str, str],
) -> None:
    if doc["kind"] == "member":
        members.add(doc["organisation_id"])
    elif doc["kind"] == "standing":
        standing[doc["organisation_id"]] = doc["standing"]
    else:
        fields = {k: v for k, v in doc.items() if k not in _NOT_CERTIFICATE_FIELDS}
        certificates.append(Certificate.model_validate(fields))


def _standing(organisation_id: str, standing: str, since: datetime) -> dict[str, Any]:
    return {
        "kind": "standing",
        "organisation_id": organisation_id,
        "standing": standing,
        "since": since,
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
