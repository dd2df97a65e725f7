"""The gateway's own MongoDB: API keys, read models built from the topics, webhooks."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from libs.mongo import rekey_once
from services.gateway.domain.epcis import Gs1Registry

KEYS = "api_keys"
MEMBERS = "members"
SITES = "sites"
BODIES = "certification_bodies"
CERTIFICATES = "certificates"
CERTIFICATE_EVENTS = "certificate_events"
BALANCES = "balances"
STATEMENTS = "statements"
DOCUMENTS = "documents"
CLAIMS = "claims"
"""One document per claim, `_id` = `claim_key(claimant, claim id)`: a claim id is its claimant's own."""
PLAUSIBILITY_ALERTS = "plausibility_alerts"
FOOTPRINTS = "footprints"
"""Every version of every PACT footprint submitted (`FootprintSubmitted`), as submitted."""
EVENT_STATUS = "event_status"
SUBMISSIONS = "submissions"
SUBSCRIPTIONS = "webhook_subscriptions"
DELIVERIES = "webhook_deliveries"
GS1 = "gs1_identifiers"
CAPTURE_JOBS = "epcis_capture_jobs"
CREDENTIAL_KEYS = "credential_keys"
STATUS_INDICES = "status_indices"
UPSTREAM_ENTRIES = "upstream_entries"
"""Ledger entries that book a period's inputs, and designation debits (which period a document drew on)."""
UPSTREAM_RECEIPTS = "upstream_receipts"
"""Who supplied each receipt, with which CoC Document (from `material.movements.v1`), the account-period
that booked it and where its document was drawn from (from `ledger.events.v1`); keyed by movement id."""
UPSTREAM_PERIODS = "upstream_periods"
"""One summary per account-period (`_id` `account|period`): the facts a level of an upstream is
computed from (`domain/upstream.py`, `Facts`), one JSON text per entry, receipt and document drawn."""
MEMBER_SETTINGS = "member_settings"
SHADOW_REPORTS = "shadow_reports"
"""Accounting's latest `ShadowReportPublished` per account (api/shadow.py)."""

Db = AsyncDatabase[dict[str, Any]]


def claim_key(claimant: str, claim_id: str) -> str:
    """A claim in the read model: two owners may use the same claim id (`|` is in no identifier)."""
    return f"{claimant}|{claim_id}"


def claim_per_claimant(doc: dict[str, Any]) -> dict[str, Any] | None:
    """Claims stored before claim ids became their claimant's own were keyed by the bare claim id
    (issue 23): the same claim under `claim_key`, with its `claim_id` field. One whose claimant
    the read model never learnt stays as it is (no key can be made for it)."""
    if "claimant_organisation_id" not in doc:
        return None
    claim_id = doc.get("claim_id", doc["_id"])
    key = claim_key(doc["claimant_organisation_id"], claim_id)
    return None if key == doc["_id"] else {**doc, "_id": key, "claim_id": claim_id}


def claim_request_upsert(m: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The filter and update that record a ClaimRequested in the read model: written by the API when it publishes
    (a brand reads its claim back at once) and again by the consumer (the same fields, so either order is fine)."""
    return {"_id": claim_key(m.claimant_organisation_id, m.claim_id)}, {
        "$setOnInsert": {"status": "requested", "claimant_organisation_id": m.claimant_organisation_id,
                         "claim_id": m.claim_id},
        "$set": {"request": m.model_dump(mode="json", exclude={"actor", "correlation_id", "causation_id"})},
    }


async def ensure_indexes(db: Db) -> None:
    await db[SITES].create_index([("organisation_id", ASCENDING)])
    await db[CERTIFICATES].create_index([("certificate_number", ASCENDING)])
    await db[CERTIFICATES].create_index([("organisation_id", ASCENDING)])
    await db[CERTIFICATES].create_index([("site_ids", ASCENDING)])
    await db[CERTIFICATES].create_index([("signatures", ASCENDING)])
    await db[CERTIFICATE_EVENTS].create_index([("occurred_at", ASCENDING)])
    await db[STATEMENTS].create_index([("account_id", ASCENDING), ("period_id", DESCENDING)])
    await db[DOCUMENTS].create_index([("issuer_organisation_id", ASCENDING)])
    await db[PLAUSIBILITY_ALERTS].create_index([("raised_at", DESCENDING)])
    await db[FOOTPRINTS].create_index([("footprint_id", ASCENDING), ("version", DESCENDING)])
    await db[FOOTPRINTS].create_index([("coc_document_ids", ASCENDING), ("submitted_at", DESCENDING)])
    await db[DOCUMENTS].create_index([("recipient_organisation_id", ASCENDING)])
    await db[CLAIMS].create_index([("approval_code", ASCENDING)], sparse=True)
    await db[CLAIMS].create_index([("claimant_organisation_id", ASCENDING), ("claim_id", ASCENDING)])
    await db[CLAIMS].create_index([("claim_id", ASCENDING)])
    await rekey_once(db, "claims-keyed-by-claimant", CLAIMS, claim_per_claimant)
    await db[EVENT_STATUS].create_index([("site_id", ASCENDING), ("updated_at", DESCENDING)])
    await db[SUBSCRIPTIONS].create_index([("organisation_id", ASCENDING)])
    await db[DELIVERIES].create_index([("status", ASCENDING), ("next_attempt_at", ASCENDING)])
    await db[DELIVERIES].create_index([("subscription_id", ASCENDING), ("created_at", DESCENDING)])
    await db[GS1].create_index([("number", ASCENDING)])
    await db[GS1].create_index([("registered_by", ASCENDING)])
    await db[CERTIFICATES].create_index([("status_index", ASCENDING)], sparse=True)
    await db[CAPTURE_JOBS].create_index([("organisation_id", ASCENDING), ("createdAt", DESCENDING)])
    await db[UPSTREAM_ENTRIES].create_index([("account_period", ASCENDING)])
    await db[UPSTREAM_ENTRIES].create_index([("movement_id", ASCENDING)])
    await db[UPSTREAM_ENTRIES].create_index([("kind", ASCENDING), ("booked_on", ASCENDING)])
    await db[UPSTREAM_RECEIPTS].create_index([("site_id", ASCENDING), ("received_on", ASCENDING)])
    await db[UPSTREAM_RECEIPTS].create_index([("coc_document_id", ASCENDING)])


async def site_owners(db: Db, site_ids: list[str]) -> dict[str, str]:
    return {d["_id"]: d["organisation_id"] async for d in db[SITES].find({"_id": {"$in": site_ids}})}


async def sites_of(db: Db, organisation_id: str) -> list[dict[str, Any]]:
    return [d async for d in db[SITES].find({"organisation_id": organisation_id}).sort("_id", ASCENDING)]


def status_id(event_id: str, site_id: str | None) -> str:
    """What became of a submitted message is kept per site (an organisation's own) and event id, so a
    message another organisation sends under the same event id never changes what the owner is told."""
    return f"{site_id or '-'}|{event_id}"


def public(doc: dict[str, Any] | None) -> dict[str, Any] | None:
    """A stored document without Mongo's `_id` (exposed under its own name)."""
    if doc is None:
        return None
    return {k: v for k, v in doc.items() if k != "_id"}


def gs1_id(kind: str, number: str, organisation_id: str) -> str:
    """One registration per meaning of a GS1 number: `site|<GLN>` and `party|<GLN>` for everyone (only the
    site's or party's own organisation registers them), `product|<organisation>|<GTIN>` per organisation
    (each classifies the products it books; nobody else's registration changes what its documents say)."""
    return f"product|{organisation_id}|{number}" if kind == "product" else f"{kind}|{number}"


async def gs1_registry(db: Db, numbers: set[str], organisation_id: str) -> Gs1Registry:
    """What the registered GS1 numbers among `numbers` stand for, for `organisation_id`, in one query."""
    registry = Gs1Registry()
    if not numbers:
        return registry
    query = {"number": {"$in": sorted(numbers)},
             "$or": [{"kind": {"$ne": "product"}}, {"registered_by": organisation_id}]}
    async for d in db[GS1].find(query):
        if d["kind"] == "site":
            registry.sites[d["number"]] = d["site_id"]
            registry.site_owners[d["number"]] = d["organisation_id"]
        elif d["kind"] == "party":
            registry.parties[d["number"]] = d["organisation_id"]
        elif d["kind"] == "product":
            registry.products[d["number"]] = (d["material_category"], d["product_form"])
    return registry
