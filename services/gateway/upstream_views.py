"""The upstream's read models (issue 21), from `material.movements.v1` and `ledger.events.v1`: the
entries that book a period's inputs and the designation debits (`upstream_entries`), who supplied each
receipt with which CoC Document (`upstream_receipts`), and the per account-period summaries a level of
the upstream is read from (`upstream_periods`, `domain/upstream.py`; read by `upstream.py`). Called by
`handlers.py` inside the batch's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymongo import UpdateOne

from contracts import ledger, movements
from libs.messaging import Tx
from services.gateway.adapters import store
from services.gateway.domain import upstream as upstream_rules
from services.gateway.writes import bulk as _bulk
from services.gateway.writes import load as _load


async def record_receipts(tx: Tx, received: Sequence[movements.MaterialReceivedRecorded]) -> None:
    """Who supplied each receipt, with which document, and the receipts' facts in their summaries."""
    # Where each cited document was drawn from, when the ledger's topic told already (else the
    # document's own event sets it, `handle_ledger_events`): the receipt's fact in the summary of the
    # account-period that booked it is then complete (`_summarise_receipts`).
    drawn = await _load(tx, store.DOCUMENTS, {m.coc_document_id for m in received if m.coc_document_id},
                        {"account_period": 1, "document.issuer_site_id": 1})
    receipts = []
    for m in received:
        fields = {
            "site_id": m.site_id, "organisation_id": m.organisation_id, "received_on": m.received_on.isoformat(),
            "supplier_organisation_id": m.supplier_organisation_id, "supplier_site_id": m.supplier_site_id,
            "coc_document_id": m.coc_document_id, "classification": m.classification.value,
            "material_category": m.material_category.value}
        document = drawn.get(m.coc_document_id or "")
        if document and document.get("account_period"):
            fields.update(upstream_account_period=document["account_period"],
                          issuer_site_id=document["document"]["issuer_site_id"])
        receipts.append(UpdateOne({"_id": str(m.movement_id)}, {"$set": fields}, upsert=True))
    await _bulk(tx, store.UPSTREAM_RECEIPTS, receipts)
    await _summarise_receipts(tx, {str(m.movement_id) for m in received})


async def drawn_from(tx: Tx, messages: Sequence[Any]) -> dict[str, str]:
    """Shipment movement id -> the account and period its designation was debited in, for the CoC
    Documents of the batch: from the batch (accounting posts the debit just before the document, on
    the same partition), else from the entries stored earlier."""
    issued = {str(m.document.movement_id) for m in messages if isinstance(m, ledger.CoCDocumentIssued)}
    drawn = {str(e.movement_id): record["account_period"] for e, record in _upstream_entries(messages)
             if record["kind"] == "designation" and str(e.movement_id) in issued}
    missing = sorted(issued - set(drawn))
    if missing:
        cursor = tx.db[store.UPSTREAM_ENTRIES].find({"movement_id": {"$in": missing}, "kind": "designation"},
                                                    {"movement_id": 1, "account_period": 1}, session=tx.session)
        drawn.update({e["movement_id"]: e["account_period"] async for e in cursor})
    return drawn


async def record_entries(tx: Tx, messages: Sequence[Any]) -> None:
    """The entries of the upstream (`upstream_entries`, as posted) and the per account-period summaries a
    level is read from (`upstream_periods`, `domain/upstream.py`): each input entry's fact under its id,
    with the receipt it booked. A receipt entry's account-period goes on its receipt record, which both
    topics' handlers write, so that on MongoDB one of two concurrent joins waits for the other."""
    entries = _upstream_entries(messages)
    await _bulk(tx, store.UPSTREAM_ENTRIES, [UpdateOne({"_id": str(e.entry_id)}, {"$setOnInsert": record}, upsert=True)
                                             for e, record in entries])
    facts: dict[str, dict[str, str]] = {}
    for e, record in entries:
        if record["kind"] in ("origin", "reversal") or (record["kind"] == "receipt" and not record["movement_id"]):
            # a receipt entry is stored with its receipt, below; a designation is no input
            facts.setdefault(record["account_period"], {})[str(e.entry_id)] = upstream_rules.entry_fact_of(record)
    await _bulk(tx, store.UPSTREAM_PERIODS, [UpdateOne({"_id": ap}, {"$set": upstream_rules.summary_set(f)}, upsert=True)
                                             for ap, f in sorted(facts.items())])
    booked = {record["movement_id"]: record["account_period"] for _, record in entries
              if record["kind"] == "receipt" and record["movement_id"]}
    await _bulk(tx, store.UPSTREAM_RECEIPTS, [UpdateOne({"_id": m}, {"$set": {"account_period": ap}}, upsert=True)
                                              for m, ap in sorted(booked.items())])
    issued = sorted({m.document.document_id for m in messages if isinstance(m, ledger.CoCDocumentIssued)})
    citing = [r["_id"] async for r in tx.db[store.UPSTREAM_RECEIPTS].find(
        {"coc_document_id": {"$in": issued}}, {"_id": 1}, session=tx.session)] if issued else []
    await _summarise_receipts(tx, set(booked) | set(citing))


async def _summarise_receipts(tx: Tx, movement_ids: set[str]) -> None:
    """The facts of the receipt entries that booked these movements, with what is known of each receipt
    (who supplied it, with which document, where that was drawn from), into their summaries: as far as
    both topics have told (the rest joins when the other topic's handler runs; the reader joins what
    neither could, `services/gateway/upstream.py`)."""
    if not movement_ids:
        return
    receipts = await _load(tx, store.UPSTREAM_RECEIPTS, movement_ids)
    cursor = tx.db[store.UPSTREAM_ENTRIES].find({"movement_id": {"$in": sorted(movement_ids)}, "kind": "receipt"},
                                                session=tx.session)
    facts: dict[str, dict[str, str]] = {}
    async for record in cursor:
        facts.setdefault(record["account_period"], {})[record["_id"]] = upstream_rules.entry_fact_of(
            record, receipts.get(record["movement_id"]))
    await _bulk(tx, store.UPSTREAM_PERIODS, [UpdateOne({"_id": ap}, {"$set": upstream_rules.summary_set(f)}, upsert=True)
                                             for ap, f in sorted(facts.items())])


INPUT_KINDS = {ledger.EntryKind.RECEIPT_CREDIT: "receipt", ledger.EntryKind.TRANSFORMATION: "origin",
               ledger.EntryKind.REVERSAL: "reversal"}


def _upstream_entries(messages: Sequence[Any]) -> list[tuple[ledger.LedgerEntry, dict[str, Any]]]:
    """The entries the upstream of a document is computed from (`domain/upstream.py`): those that book
    an input of the period (a transformation that does is an origin: mining), and designation debits,
    which say the account and period a CoC Document was drawn from."""
    out = []
    for m in messages:
        if not isinstance(m, ledger.LedgerEntryPosted):
            continue
        e = m.entry
        if e.kind is ledger.EntryKind.DESIGNATION_DEBIT:
            kind = "designation"
        elif e.kind in INPUT_KINDS and (e.total_input_kg or e.coc_input_kg):
            kind = INPUT_KINDS[e.kind]
        else:
            continue
        out.append((e, {
            "kind": kind, "account_id": e.account_id, "period_id": e.period_id,
            "account_period": f"{e.account_id}|{e.period_id}", "site_id": e.site_id,
            "movement_id": str(e.movement_id) if e.movement_id else None,
            "reverses_entry_id": str(e.reverses_entry_id) if e.reverses_entry_id else None,
            "coc_input_kg": e.coc_input_kg, "total_input_kg": e.total_input_kg,
            "categories": sorted({k.partition("|")[0] for k in e.credit_buckets_kg}), "booked_on": e.booked_on.isoformat()}))
    return out
