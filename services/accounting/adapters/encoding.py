"""How accounting's state is stored: each domain object as a MongoDB document and back (maps as
[key, value] pairs, since keys may hold '.'), the `_id` scheme that makes an account's entries an
`_id` range, and the field (`OPEN_OWNER`) that finds an owner's open lots. Read by the store and by
the CLI."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from contracts.ledger import DocumentShare, LedgerEntry, PeriodStatement
from libs.mongo import from_document, to_document
from services.accounting.domain import periods
from services.accounting.domain.ledger import (
    Account,
    Allocation,
    Effect,
    Lot,
    MovementRecord,
    Period,
)
from services.accounting.domain.rules import ZERO, Level


def _pairs(mapping: dict[str, Any]) -> list[list[Any]]:
    """Dict keys may hold '.', which field names must not: store maps as [key, value] pairs."""
    return [[k, v] for k, v in sorted(mapping.items())]


def _map(pairs: Iterable[list[Any]] | None) -> dict[str, Any]:
    return dict(pairs or [])


def as_day(value: str | date) -> date:
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
            "recycled": _pairs(p.recycled),
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
        else {
            periods.layer_key(k, as_day(p["start"]).replace(day=1)): v for k, v in buckets.items()
        }
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
            start=as_day(p["start"]),
            end=as_day(p["end"]),
            opening_balance=p["opening_balance"],
            coc_input=p["coc_input"],
            total_input=p["total_input"],
            coc_output=p["coc_output"],
            total_output=p["total_output"],
            inputs_by_category=_map(p["inputs_by_category"]),
            conversion_applied=_map(p["conversion_applied"]),
            site_coc_input=_map(p["site_coc_input"]),
            recycled=_map(p.get("recycled")),
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


_EFFECT_FIELDS = frozenset(Effect.__dataclass_fields__)
_EFFECT_DECIMALS = (
    "credit",
    "coc_input",
    "total_input",
    "coc_output",
    "total_output",
    "site_input",
)
_ZERO_TEXT = str(ZERO)


def _unset(value: Any) -> bool:
    """A field left at its default, omitted from the stored text: None, an empty map, or a zero
    written exactly as `ZERO` is (so the value read back has the same exponent)."""
    if isinstance(value, Decimal):
        return value.is_zero() and not value.is_signed() and str(value) == _ZERO_TEXT
    return value is None or value == {}


def effects_text(effects: Iterable[Effect]) -> str:
    """A record's effects as one compact JSON text, decimals as their exact strings. One string
    field instead of about twenty fields and nine Decimal128 per effect: encoding those was the
    largest single cost of a movement record, for accounting and for the database (issue 15's
    benchmark; services/accounting/README.md, "Speed")."""
    return json.dumps(
        [{k: v for k, v in vars(e).items() if not _unset(v)} for e in effects],
        separators=(",", ":"),
        default=str,
    )


def _decimals(mapping: dict[str, str] | None) -> dict[str, Decimal]:
    return {k: Decimal(v) for k, v in (mapping or {}).items()}


def _effect_from_text(e: dict[str, Any]) -> Effect:
    body = {k: v for k, v in e.items() if k in _EFFECT_FIELDS}
    for name in _EFFECT_DECIMALS:
        if name in body:
            body[name] = Decimal(body[name])
    body["buckets"] = _decimals(body.get("buckets"))
    body["step"] = _decimals(body.get("step"))
    body["inflows"] = {k: _decimals(v) for k, v in (body.get("inflows") or {}).items()}
    return Effect(**body)


def _effect_from(e: dict[str, Any]) -> Effect:
    """An effect stored as a document (before `effects_text`), ignoring fields it no longer has
    (`recycled`, before inflows by product)."""
    body = {k: v for k, v in e.items() if k in _EFFECT_FIELDS}
    return Effect(**{**body, "buckets": _map(e["buckets"]), "inflows": _map(e.get("inflows"))})


def effects_from(stored: str | list[dict[str, Any]]) -> list[Effect]:
    """A record's effects, from either stored form: JSON text, or (records written before it) a
    list of documents."""
    if isinstance(stored, str):
        return [_effect_from_text(e) for e in json.loads(stored)]
    return [_effect_from(e) for e in stored]


def movement_doc(m: MovementRecord) -> dict[str, Any]:
    doc = {
        "_id": m.movement_id,
        "status": m.status,
        "lot_id": m.lot_id,
        "by": m.by,
        "effects": effects_text(m.effects),
    }
    if m.movement is not None:
        doc["organisation_id"], doc["movement"] = m.organisation_id, m.movement
    return doc


def movement_from(doc: dict[str, Any]) -> MovementRecord:
    return MovementRecord(
        doc["_id"],
        doc["status"],
        effects_from(doc["effects"]),
        doc.get("lot_id"),
        doc.get("by"),
        doc.get("organisation_id"),
        doc.get("movement"),
    )


OPEN_OWNER = "open_owner"
"""A lot with mass left carries its owner under this field too, and only such a lot: a sparse
index on it finds an owner's open lots without reading the spent ones (the embedded database
answers an `_id` range by scanning the whole collection)."""


def lot_doc(lot: Lot) -> dict[str, Any]:
    doc = {
        "_id": lot.lot_id,
        **{k: v for k, v in vars(lot).items() if k != "lot_id" and v is not None},
        "received_on": lot.received_on.isoformat(),
    }
    if lot.remaining > 0:
        doc[OPEN_OWNER] = lot.owner
    return doc


def lot_from(doc: dict[str, Any]) -> Lot:
    body = {k: v for k, v in doc.items() if k not in ("_id", OPEN_OWNER)}
    return Lot(lot_id=doc["_id"], **{**body, "received_on": as_day(body["received_on"])})


def allocation_doc(a: Allocation) -> dict[str, Any]:
    return {
        "_id": a.key,
        "claim_id": a.claim_id,
        "owner": a.owner,
        "mass": a.mass,
        "status": a.status,
        "reservations": _pairs(a.reservations),
        "lot_takes": _pairs(a.lot_takes),
        "documents": [to_document(d) for d in a.documents],
        "recycled_content_share": a.recycled_content_share,
        "carbon_footprint": a.carbon_footprint,
        "recycled_pre_consumer_share": a.recycled_pre_consumer_share,
        "recycled_post_consumer_share": a.recycled_post_consumer_share,
        "debit_entries": _pairs(a.debit_entries),
        "debit_takes": _pairs(a.debit_takes),
        "returned": a.returned,
    }


def allocation_from(doc: dict[str, Any]) -> Allocation:
    return Allocation(
        claim_id=doc["claim_id"],
        owner=doc["owner"],
        mass=doc["mass"],
        status=doc["status"],
        reservations=_map(doc["reservations"]),
        lot_takes=_map(doc["lot_takes"]),
        documents=[DocumentShare.model_validate(d) for d in doc["documents"]],
        recycled_content_share=doc.get("recycled_content_share"),
        carbon_footprint=doc.get("carbon_footprint"),
        recycled_pre_consumer_share=doc.get("recycled_pre_consumer_share"),
        recycled_post_consumer_share=doc.get("recycled_post_consumer_share"),
        debit_entries=_map(doc.get("debit_entries", [])),
        debit_takes=_map(doc.get("debit_takes", [])),
        returned=doc.get("returned", ZERO),
    )
