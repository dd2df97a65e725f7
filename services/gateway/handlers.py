"""Read models: what the gateway shows, built from the topics in its own database (the claims'
read models are in `claim_views.py`, the upstream's in `upstream_views.py`).

Each handler loads what its batch touches in one query, applies the batch in order in memory and
writes back in bulk, inside the batch's transaction (`session=tx.session` everywhere; `writes.py`).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

from pymongo import InsertOne, ReplaceOne, UpdateMany, UpdateOne

from contracts import certificates as cert
from contracts import intake, ledger, movements
from libs.messaging import Incoming, Outgoing, Tx
from services.gateway import upstream_views
from services.gateway.adapters import store
from services.gateway.domain import balances
from services.gateway.domain.webhooks import matches
from services.gateway.writes import NO_OUTPUT
from services.gateway.writes import bulk as _bulk
from services.gateway.writes import load as _load
from services.gateway.writes import not_older as _not_older


# ---- certificates.events.v1 ------------------------------------------------------------------


async def handle_certificate_events(batch: Sequence[Incoming], tx: Tx) -> Sequence[Outgoing]:
    """The registry (members, sites, bodies), the certificates (the highest revision wins, every
    signature kept), the certificate-event log and the webhook deliveries each change owes."""
    registry: dict[str, list[Any]] = {store.MEMBERS: [], store.SITES: [], store.BODIES: []}
    changes = [i.message for i in batch if isinstance(i.message, cert.CertificateChanged)]
    revisions = await _revisions(tx, changes)
    certificate_ops: list[Any] = []
    event_ops: list[Any] = []
    subscriptions = await _active_subscriptions(tx) if changes else []
    delivery_ops: list[Any] = []
    for item in batch:
        m = item.message
        registered = _registry_op(m)
        if registered is not None:
            registry[registered[0]].append(registered[1])
        elif isinstance(m, cert.CertificateChanged):
            update = _certificate_update(m, revisions, tx.now)
            if update:
                certificate_ops.append(UpdateOne({"_id": m.certificate.certificate_id}, update, upsert=True))
            payload = json.loads(m.model_dump_json())
            event_ops.append(_certificate_event_op(m, payload, tx.now))
            delivery_ops += _deliveries(payload, subscriptions, tx.now)
    for collection, ops in registry.items():
        await _bulk(tx, collection, ops)
    await _bulk(tx, store.CERTIFICATES, certificate_ops)
    await _bulk(tx, store.CERTIFICATE_EVENTS, event_ops)
    await _bulk(tx, store.DELIVERIES, delivery_ops)
    return NO_OUTPUT


async def _revisions(tx: Tx, changes: list[cert.CertificateChanged]) -> dict[str, int]:
    """The revision kept of each certificate the batch changes."""
    stored = await _load(tx, store.CERTIFICATES, {c.certificate.certificate_id for c in changes}, {"revision": 1})
    return {k: d.get("revision", 0) for k, d in stored.items()}


async def _active_subscriptions(tx: Tx) -> list[dict[str, Any]]:
    return [s async for s in tx.db[store.SUBSCRIPTIONS].find({"active": True}, session=tx.session)]


def _deliveries(payload: dict[str, Any], subscriptions: list[dict[str, Any]], now: Any) -> list[InsertOne]:
    """A pending delivery of the change for each subscription whose filters it matches."""
    return [InsertOne(new_delivery(sub["_id"], payload, now)) for sub in subscriptions
            if matches(payload, sub.get("organisation_ids", []), sub.get("changes", []))]


def _registry_op(m: Any) -> tuple[str, UpdateOne] | None:
    """A member, site or certification body registered: its collection and upsert; else None."""
    if isinstance(m, cert.MemberRegistered):
        return store.MEMBERS, UpdateOne({"_id": m.member.organisation_id}, {"$set": {
            "name": m.member.name, "name_lower": m.member.name.lower(),
            "membership_class": m.member.membership_class.value, "joined_on": m.member.joined_on.isoformat()}},
            upsert=True)
    if isinstance(m, cert.SiteRegistered):
        return store.SITES, UpdateOne({"_id": m.site.site_id}, {"$set": {
            "organisation_id": m.site.organisation_id, "name": m.site.name, "country": m.site.country,
            "activities": [a.value for a in m.site.activities]}}, upsert=True)
    if isinstance(m, cert.CertificationBodyRegistered):
        body = m.certification_body
        return store.BODIES, UpdateOne({"_id": body.certification_body_id}, {"$set": {
            "name": body.name, "accredited_until": body.accredited_until.isoformat()}}, upsert=True)
    return None


def _certificate_update(m: cert.CertificateChanged, revisions: dict[str, int], now: Any) -> dict[str, Any]:
    """The certificate's read model: replaced by a higher revision than the one kept (`revisions`,
    advanced here), its signed form added to the signatures either way; {} when nothing changes."""
    c = m.certificate
    update: dict[str, Any] = {}
    if c.revision > revisions.get(c.certificate_id, 0):
        revisions[c.certificate_id] = c.revision
        update["$set"] = {
            "certificate_number": c.certificate_number, "organisation_id": c.organisation_id,
            "standard": c.standard.value, "status": c.status.value, "site_ids": list(c.scope.site_ids),
            "valid_until": c.valid_until.isoformat(), "revision": c.revision,
            "certificate": c.model_dump(mode="json"), "signed_certificate": m.signed_certificate,
            "last_change": m.change.value, "updated_at": now,
        }
    if m.signed_certificate:
        update["$addToSet"] = {"signatures": m.signed_certificate}
    return update


def _certificate_event_op(m: cert.CertificateChanged, payload: dict[str, Any], now: Any) -> UpdateOne:
    """The change in the certificate-event log (webhook replays read it), once per event id."""
    c = m.certificate
    return UpdateOne({"_id": str(m.event_id)}, {"$setOnInsert": {
        "certificate_id": c.certificate_id, "organisation_id": c.organisation_id, "change": m.change.value,
        "occurred_at": m.occurred_at, "recorded_at": now, "payload": payload}}, upsert=True)


def new_delivery(subscription_id: str, payload: dict[str, Any], now: Any, *, replay: bool = False) -> dict[str, Any]:
    return {
        "_id": uuid.uuid4().hex, "subscription_id": subscription_id, "event_id": payload["event_id"],
        "event_type": payload.get("type"), "payload": payload, "status": "pending", "attempts": 0,
        "next_attempt_at": now, "created_at": now, "replay": replay, "log": [],
    }


# ---- certificates.rejections.v1 --------------------------------------------------------------


async def handle_certificate_rejections(batch: Sequence[Incoming], tx: Tx) -> Sequence[Outgoing]:
    ops = [
        UpdateOne({"_id": store.status_id(str(m.rejected_event_id), None)}, {"$set": {
            "event_id": str(m.rejected_event_id), "status": "refused", "topic": "certificates.rejections.v1", "organisation_id": m.organisation_id,
            "event_type": m.rejected_event_type, "reasons": [r.model_dump() for r in m.reasons],
            "message": "; ".join(r.message for r in m.reasons)[:4000], "updated_at": tx.now}}, upsert=True)
        for m in (i.message for i in batch) if isinstance(m, cert.CertificateInputRejected)
    ]
    await _bulk(tx, store.EVENT_STATUS, ops)
    return NO_OUTPUT


# ---- intake.rejections.v1 and material.movements.v1: what became of each plant event ---------

FINAL = {"accepted", "refused"}


async def _set_statuses(tx: Tx, changes: list[tuple[str, dict[str, Any]]]) -> None:
    keyed = [(store.status_id(event_id, fields.get("site_id")), event_id, fields) for event_id, fields in changes]
    current = {k: d.get("status") for k, d in (await _load(tx, store.EVENT_STATUS, {k for k, _, _ in keyed}, {"status": 1})).items()}
    ops = []
    for key, event_id, fields in keyed:
        if fields["status"] == "held" and current.get(key) in FINAL:
            continue
        current[key] = fields["status"]
        ops.append(UpdateOne({"_id": key}, {"$set": {**fields, "event_id": event_id, "updated_at": tx.now}}, upsert=True))
    await _bulk(tx, store.EVENT_STATUS, ops)


async def handle_intake_rejections(batch: Sequence[Incoming], tx: Tx) -> Sequence[Outgoing]:
    changes: list[tuple[str, dict[str, Any]]] = []
    for m in (i.message for i in batch):
        if isinstance(m, intake.PlantEventRejected):
            changes.append((str(m.rejected_event_id), {
                "status": "refused", "topic": "intake.rejections.v1", "site_id": m.site_id,
                "event_type": m.rejected_event_type, "reasons": [r.model_dump() for r in m.reasons],
                "message": m.message}))
        elif isinstance(m, intake.PlantEventHeld):
            changes.append((str(m.held_event_id), {
                "status": "held", "topic": "intake.rejections.v1", "site_id": m.site_id,
                "reasons": [r.model_dump() for r in m.waiting_for], "retry_until": m.retry_until,
                "message": "; ".join(r.message for r in m.waiting_for)[:4000]}))
    await _set_statuses(tx, changes)
    return NO_OUTPUT


async def handle_movements(batch: Sequence[Incoming], tx: Tx) -> Sequence[Outgoing]:
    changes = [
        (str(m.movement_id), {"status": "accepted", "topic": "material.movements.v1", "site_id": m.site_id,
                              "event_type": m.type, "reasons": [], "message": "accepted"})
        for m in (i.message for i in batch) if not isinstance(m, movements.MovementCancelled)
    ]
    await _set_statuses(tx, changes)
    await upstream_views.record_receipts(
        tx, [m for m in (i.message for i in batch) if isinstance(m, movements.MaterialReceivedRecorded)])
    return NO_OUTPUT


# ---- ledger.events.v1 ------------------------------------------------------------------------


async def handle_ledger_events(batch: Sequence[Incoming], tx: Tx) -> Sequence[Outgoing]:
    """Balances, statements, CoC Documents (and where each was drawn from), the upstream's entries and
    per account-period summaries, refused movements' status, shadow reports: each read model from the
    batch, in that order."""
    messages = [i.message for i in batch]
    await _balances(tx, messages)
    await _statements_and_documents(tx, messages)
    await upstream_views.record_entries(tx, messages)
    await _refused_movements(tx, messages)
    await _shadow_reports(tx, messages)
    return NO_OUTPUT


async def _balances(tx: Tx, messages: Sequence[Any]) -> None:
    """One balance document per account, folded so that any order of arrival gives the ledger's numbers."""
    accounts = {a for a in map(_balance_account, messages) if a is not None}
    stored = await _load(tx, store.BALANCES, accounts)
    folded = {k: stored.get(k) or balances.empty(k) for k in accounts}
    for m in messages:
        account = _balance_account(m)
        if account is not None:
            folded[account] = _folded(folded[account], m, tx.now)
    await _bulk(tx, store.BALANCES, _changed_balances(folded, stored))


def _changed_balances(folded: dict[str, dict[str, Any]], stored: dict[str, dict[str, Any]]) -> list[UpdateOne]:
    """The upserts of the balances the batch changed."""
    return [UpdateOne({"_id": k}, {"$set": {f: v for f, v in b.items() if f != "_id"}}, upsert=True)
            for k, b in folded.items() if b != stored.get(k)]


def _balance_account(m: Any) -> str | None:
    """The account whose balance a ledger message changes (an entry posted, frozen, thawed), or None."""
    if isinstance(m, ledger.LedgerEntryPosted):
        return m.entry.account_id
    if isinstance(m, ledger.AccountFrozen | ledger.AccountThawed):
        return m.account_id
    return None


def _folded(balance: dict[str, Any], m: Any, now: Any) -> dict[str, Any]:
    """The balance with one entry posted, or its frozen status set."""
    if isinstance(m, ledger.LedgerEntryPosted):
        return balances.with_entry(balance, m.entry, now)
    return balances.with_status(balance, frozen=isinstance(m, ledger.AccountFrozen), reason=m.reason,
                                occurred_at=m.occurred_at)


async def _statements_and_documents(tx: Tx, messages: Sequence[Any]) -> None:
    """Period statements; CoC Documents with where each was drawn from, which the receipts citing
    them get too (the upstream of a document)."""
    statements, documents = [], []
    receipt_ops: list[Any] = []
    for m in messages:
        if isinstance(m, ledger.PeriodClosed):
            s = m.statement
            statements.append(UpdateOne({"_id": f"{s.account_id}|{s.period_id}"}, {"$set": {
                "account_id": s.account_id, "period_id": s.period_id, "statement": s.model_dump(mode="json")}},
                upsert=True))
        elif isinstance(m, ledger.CoCDocumentIssued):
            d = m.document
            documents.append(UpdateOne({"_id": d.document_id}, {"$set": {
                "issuer_organisation_id": d.issuer_organisation_id, "recipient_organisation_id": d.recipient_organisation_id,
                "issued_on": d.issued_on.isoformat(), "document": d.model_dump(mode="json"), "account_id": m.account_id,
                "signature": m.signature, "key_id": m.key_id}}, upsert=True))
    drawn = await upstream_views.drawn_from(tx, messages)
    for m in messages:
        if isinstance(m, ledger.CoCDocumentIssued) and str(m.document.movement_id) in drawn:
            ap, d = drawn[str(m.document.movement_id)], m.document
            documents.append(UpdateOne({"_id": d.document_id}, {"$set": {"account_period": ap}}))
            receipt_ops.append(UpdateMany({"coc_document_id": d.document_id}, {"$set": {
                "upstream_account_period": ap, "issuer_site_id": d.issuer_site_id}}))
    await _bulk(tx, store.STATEMENTS, statements)
    await _bulk(tx, store.DOCUMENTS, documents)
    await _bulk(tx, store.UPSTREAM_RECEIPTS, receipt_ops)


async def _refused_movements(tx: Tx, messages: Sequence[Any]) -> None:
    """What became of a plant event the ledger refused, for its submitter (`/v1/submissions`)."""
    refused = [
        (str(m.movement_id), {"status": "designation_refused" if isinstance(m, ledger.DesignationRefused) else "refused",
                              "topic": "ledger.events.v1", "site_id": m.site_id,
                              "reasons": [r.model_dump() for r in m.reasons],
                              "message": "; ".join(r.message for r in m.reasons)[:4000]})
        for m in messages if isinstance(m, ledger.DesignationRefused | ledger.MovementRefused)
    ]
    await _bulk(tx, store.EVENT_STATUS, [
        UpdateOne({"_id": store.status_id(k, v["site_id"])}, {"$set": {**v, "event_id": k, "updated_at": tx.now}},
                  upsert=True) for k, v in refused])


async def _shadow_reports(tx: Tx, messages: Sequence[Any]) -> None:
    """Accounting's shadow reports (api/shadow.py): the latest one per account; an older one arriving
    late loses."""
    reports = [m for m in messages if isinstance(m, ledger.ShadowReportPublished)]
    stored = await _load(tx, store.SHADOW_REPORTS, {m.account_id for m in reports}, {"occurred_at": 1})
    latest: dict[str, ledger.ShadowReportPublished] = {}
    for m in reports:
        kept = latest.get(m.account_id)
        if (kept is None or m.occurred_at >= kept.occurred_at) and _not_older(m, stored.get(m.account_id)):
            latest[m.account_id] = m
    await _bulk(tx, store.SHADOW_REPORTS, [
        ReplaceOne({"_id": k}, {"occurred_at": m.occurred_at, "report": m.model_dump(mode="json", exclude={"actor"})},
                   upsert=True) for k, m in latest.items()])
