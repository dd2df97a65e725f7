"""The stored facts of the upstream (issue 21; the rules are in `domain/upstream.py`): one summary
document per account-period (`upstream_periods`), one short text per input entry under the entry's
id, with the receipt it booked once known, so that storing one again, or storing them in any order,
gives the same summary; and what a level reads from them: each input's source (`Facts.source`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple

COC_DOCUMENT = "coc_document"
ELIGIBLE_SCRAP = "eligible_scrap"
ORIGIN = "origin"
NON_COC = "non_coc"
NO_INPUT = "no_input_in_period"
"""An account that booked no input in the period (what it shipped came from credits carried in)."""
OTHER_COC = "coc_material"
"""CoC input the books cannot yet attribute (its movement has not reached the gateway)."""

RECEIPT, REVERSAL = "receipt", "reversal"
"""Kinds of stored entries (with `ORIGIN`: a transformation that books an input, i.e. mining)."""

ENTRIES = "entries"
"""A summary's one map: ledger entry id -> its fact, with the receipt it booked once known. Every key
is a UUID (no `.` or `$`), every value one text (one BSON element per input: the embedded database
decodes documents element by element in Python). A fact is its fields separated by spaces, `None`
empty: identifiers (`contracts.common.Identifier`), account-periods, enum values and decimals hold
no space."""

SEPARATOR = " "
_RECEIPT = 7
"""Where a fact's receipt fields start: supplier, supplier site, document, classification, category,
the account-period the document was drawn from, its issuing site."""
_CLASSIFICATION = _RECEIPT + 3


class Input(NamedTuple):
    """One input entry of an account's period, joined with the receipt it booked."""

    account_period: str
    account_id: str
    site_id: str | None
    kind: str
    coc_kg: Decimal
    total_kg: Decimal
    supplier_organisation_id: str | None = None
    supplier_site_id: str | None = None
    document_id: str | None = None
    material_category: str | None = None
    drawn_from: str | None = None
    """The account-period the document was drawn from, where known."""
    document_site_id: str | None = None
    """The site that issued the document, where known."""


Source = tuple[str, str | None, str | None, str | None, str | None, str | None, str | None]
"""Where an input came from: kind, supplier organisation, supplier site, CoC Document, material
category, the account-period the document was drawn from, its issuing site (`Input`'s fields 3 and
6 to 11)."""

_UNATTRIBUTED: Source = (OTHER_COC, None, None, None, None, None, None)


def _text(values: Iterable[Any]) -> str:
    fields = ["" if v is None else str(v) for v in values]
    if any(SEPARATOR in f for f in fields):
        raise ValueError(f"a fact of the upstream cannot hold a space: {fields}")
    return SEPARATOR.join(fields)


def _receipt_fields(receipt: Mapping[str, Any] | None) -> list[Any]:
    """Who supplied a receipt, with which document, and where it was drawn from (a stored
    `upstream_receipts` record); nothing until the receipt itself has been read (a record that only
    says which account booked it)."""
    if not receipt or not receipt.get("classification"):
        return [None] * 7
    return [receipt.get("supplier_organisation_id"), receipt.get("supplier_site_id"), receipt.get("coc_document_id"),
            receipt["classification"], receipt.get("material_category"), receipt.get("upstream_account_period"),
            receipt.get("issuer_site_id")]


def entry_fact(kind: str, movement_id: str | None, site_id: str | None, coc_kg: Decimal, total_kg: Decimal,
               category: str | None, reverses_entry_id: str | None, receipt: Mapping[str, Any] | None = None) -> str:
    """An input entry's fact, with the receipt it booked (`upstream_receipts` record) where read."""
    return _text([kind, movement_id, site_id, format(coc_kg, "f"), format(total_kg, "f"), category, reverses_entry_id,
                  *_receipt_fields(receipt)])


def entry_fact_of(record: Mapping[str, Any], receipt: Mapping[str, Any] | None = None) -> str:
    """The fact of a stored `upstream_entries` record, with its receipt where read."""
    return entry_fact(record["kind"], record.get("movement_id"), record.get("site_id"), record["coc_input_kg"],
                      record["total_input_kg"], (record.get("categories") or [None])[0], record.get("reverses_entry_id"),
                      receipt)


def summary_set(entries: Mapping[str, str]) -> dict[str, str]:
    """The `$set` that adds facts to a summary: each under its own path, so storing a fact again, or
    storing facts in any order, gives the same summary. A fact written before its receipt was read, or
    before its document's upstream was known, is completed by the next write; the reader looks up
    what a fact still lacks."""
    return {f"{ENTRIES}.{k}": v for k, v in entries.items()}


Fields = list[str]


@dataclass
class Facts:
    """The facts of some account-periods' summaries (merged: ids are global), and what they lack. The
    texts are kept as stored and split where read (a wide level holds thousands)."""

    entries: dict[str, str] = field(default_factory=dict)
    """entry id -> its fact (text)."""
    receipts: dict[str, Fields] = field(default_factory=dict)
    """Receipts looked up because the facts lacked them (movement id -> receipt fields)."""
    by_account_period: dict[str, list[str]] = field(default_factory=dict)
    """account-period -> its entry ids."""

    def add(self, account_period: str, summary: Mapping[str, Any]) -> None:
        entries = summary.get(ENTRIES) or {}
        self.entries.update(entries)
        self.by_account_period.setdefault(account_period, []).extend(entries)

    def add_entries(self, facts: Iterable[tuple[str, str]]) -> None:
        self.entries.update(facts)

    def add_receipts(self, receipts: Iterable[Mapping[str, Any]]) -> None:
        """Stored `upstream_receipts` records (by `_id`, the movement id)."""
        self.receipts.update((r["_id"], _text(_receipt_fields(r)).split(SEPARATOR)) for r in receipts
                             if r.get("classification"))

    def reversed_missing(self, account_periods: Iterable[str] | None = None) -> list[str]:
        """Entries reversed by a reversal here but stored in another account-period's summary (of the facts
        of `account_periods` only, where given)."""
        prefix = REVERSAL + SEPARATOR
        reversed_ = {f.split(SEPARATOR)[6] for f in self._texts(account_periods) if f.startswith(prefix)}
        return sorted(reversed_ - {""} - set(self.entries))

    def _texts(self, account_periods: Iterable[str] | None) -> Iterable[str]:
        if account_periods is None:
            return self.entries.values()
        return [self.entries[i] for ap in account_periods for i in self.by_account_period.get(ap, ())]

    def receipts_missing(self, account_periods: Iterable[str] | None = None) -> list[str]:
        """Receipt movements whose supplier, or whose document's upstream, the facts do not hold (yet): the
        two topics were read in an order, or at a time, that left the join to the reader. Of the facts of
        `account_periods` only, where given."""
        missing = set()
        receipts, entries = self.receipts, self.entries
        for text in self._texts(account_periods):
            f = text.split(SEPARATOR)
            if f[0] == REVERSAL and f[6] in entries:
                f = entries[f[6]].split(SEPARATOR)
            if f[0] != RECEIPT or not f[1]:
                continue
            if f[1] in receipts:
                receipt = receipts[f[1]]
                if receipt[2] and not receipt[5]:
                    missing.add(f[1])
            elif not f[_CLASSIFICATION] or (f[_RECEIPT + 2] and not f[_RECEIPT + 5]):  # no receipt; no upstream
                missing.add(f[1])
        return sorted(missing)

    def local(self, fact: Fields, own: set[str]) -> bool:
        """Whether a fact of a summary (`own`: its entry ids) gives its input by itself: a receipt joined
        in it with its supplier and its document's upstream, no receipt looked up for it, a reversal of
        an entry of the same summary. A summary whose facts all do gives its inputs alone."""
        if fact[0] == REVERSAL:
            if fact[6] not in own:
                return False
            fact = self.entries[fact[6]].split(SEPARATOR)
        if fact[0] != RECEIPT or not fact[1]:
            return True
        return not (fact[1] in self.receipts or not fact[_CLASSIFICATION]
                    or (fact[_RECEIPT + 2] and not fact[_RECEIPT + 5]))

    def source(self, fact: Fields) -> Source:
        """Where an input came from, joined with the receipt it booked (a reversal takes the kind and
        supplier of what it reverses)."""
        if fact[0] == REVERSAL:
            reversed_ = self.entries.get(fact[6])
            if reversed_ is None:
                return _UNATTRIBUTED
            fact = reversed_.split(SEPARATOR)
            if fact[0] == REVERSAL:
                return _UNATTRIBUTED
        category = fact[5] or None
        if fact[0] == ORIGIN:
            return ORIGIN, None, fact[2] or None, None, category, None, None
        receipt = self.receipts.get(fact[1]) or (fact[_RECEIPT:] if fact[_CLASSIFICATION] else None)
        if receipt is None:
            return OTHER_COC, None, None, None, category, None, None
        supplier, supplier_site, document_id, classification, receipt_category, drawn_from, document_site = receipt
        kind = COC_DOCUMENT if document_id else ELIGIBLE_SCRAP if classification == "eligible_scrap" else OTHER_COC
        return (kind, supplier or None, supplier_site or None, document_id or None, receipt_category or category,
                drawn_from or None, document_site or None)

    def inputs(self, account_period: str) -> list[Input]:
        """The inputs of an account-period, each joined with the receipt it booked (a reversal takes the
        kind and supplier of what it reverses, with its own, negative, masses)."""
        account_id = account_period.partition("|")[0]
        out: list[Input] = []
        for entry_id in sorted(self.by_account_period.get(account_period, [])):
            fact = self.entries[entry_id].split(SEPARATOR)
            kind, supplier, supplier_site, document_id, category, drawn_from, document_site = self.source(fact)
            out.append(Input(account_period, account_id, fact[2] or None, kind, Decimal(fact[3]), Decimal(fact[4]),
                             supplier, supplier_site, document_id, category, drawn_from, document_site))
        return out
