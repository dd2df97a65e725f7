"""The upstream of a CoC Document under mass balance (issue 21): not a physical trace, but the CoC
inputs the account it was drawn from booked in that period, level by level back to the mine or the
scrap receipt.

* Level 1 is the inputs of the account and period the document was drawn from. Each input counts by
  its mass (`total_input_kg` of its ledger entry): its CoC part goes to its supplier's row, the rest
  to the level's non-CoC row. The shares are those masses over the account's total input.
* Level n+1 follows each CoC Document received at level n to the account and period its issuer drew
  it from, with the weight of that document in the level, and apportions that weight over the
  upstream account's inputs the same way. Inputs without an upstream on the platform end their
  branch: the mine's own extraction (`origin`), eligible scrap, non-CoC input, a document the
  platform did not issue. A level's shares are relative to the branches that reach it, so each level
  adds up to one. An account that booked no input in the period shows as `no_input_in_period`.
* A level has one row per supplier (kind, supplier organisation, supplier site): its share is the
  sum, over every path from the document to it, of the products of the shares on the path. What
  each receiving account contributed to a row stays in the row (`Row.accounts`), for whoever may
  see it.
* Shares are exact fractions until shown; `apportion` rounds them to `SHARE_PLACES` decimals by the
  largest remainder, so the shown Decimals of a level add up to exactly one.
* Credits carried in from an earlier period are not followed (they are not inputs of the period).

The facts a level is computed from are stored per account-period as they arrive (`Facts`, one
summary document per account-period): one short text per input entry, with the receipt it booked,
under the entry's id, so that storing one again, or storing them in any order, gives the same
summary.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from math import lcm
from typing import Any, NamedTuple

SHARE_PLACES = 6
MAX_LEVELS = 20

COC_DOCUMENT = "coc_document"
ELIGIBLE_SCRAP = "eligible_scrap"
ORIGIN = "origin"
NON_COC = "non_coc"
NO_INPUT = "no_input_in_period"
"""An account that booked no input in the period (what it shipped came from credits carried in)."""
OTHER_COC = "coc_material"
"""CoC input the books cannot yet attribute (its movement has not reached the gateway)."""
ORDER = {k: n for n, k in enumerate((COC_DOCUMENT, ELIGIBLE_SCRAP, ORIGIN, OTHER_COC, NO_INPUT, NON_COC))}
"""How a level lists its rows: CoC sources first, largest share first; then what has no source."""

RECEIPT, REVERSAL = "receipt", "reversal"
"""Kinds of stored entries (with `ORIGIN`: a transformation that books an input, i.e. mining)."""


# ---- the stored summary of an account-period -----------------------------------------------------

ENTRIES = "entries"
"""A summary's one map: ledger entry id -> its fact, with the receipt it booked once known. Every key
is a UUID (no `.` or `$`), every value one text (one BSON element per input: the embedded database
decodes documents element by element in Python). A fact is its fields separated by spaces, `None`
empty: identifiers (`contracts.common.Identifier`), account-periods, enum values and decimals hold
no space."""

_SEPARATOR = " "
_RECEIPT = 7
"""Where a fact's receipt fields start: supplier, supplier site, document, classification, category,
the account-period the document was drawn from, its issuing site."""
_CLASSIFICATION = _RECEIPT + 3


def _text(values: Iterable[Any]) -> str:
    fields = ["" if v is None else str(v) for v in values]
    if any(_SEPARATOR in f for f in fields):
        raise ValueError(f"a fact of the upstream cannot hold a space: {fields}")
    return _SEPARATOR.join(fields)


def _fields(text: str) -> list[str]:
    """A fact's fields, `""` for None."""
    return text.split(_SEPARATOR)


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
    """The facts of some account-periods' summaries (merged: ids are global), and what they lack."""

    entries: dict[str, Fields] = field(default_factory=dict)
    receipts: dict[str, Fields] = field(default_factory=dict)
    """Receipts looked up because the facts lacked them (movement id -> receipt fields)."""
    by_account_period: dict[str, list[str]] = field(default_factory=dict)
    """account-period -> its entry ids."""

    def add(self, account_period: str, summary: Mapping[str, Any]) -> None:
        entries = summary.get(ENTRIES) or {}
        self.entries.update((k, v.split(_SEPARATOR)) for k, v in entries.items())
        self.by_account_period.setdefault(account_period, []).extend(entries)

    def add_entries(self, facts: Iterable[tuple[str, str]]) -> None:
        self.entries.update((k, _fields(v)) for k, v in facts)

    def add_receipts(self, receipts: Iterable[Mapping[str, Any]]) -> None:
        """Stored `upstream_receipts` records (by `_id`, the movement id)."""
        self.receipts.update((r["_id"], _fields(_text(_receipt_fields(r)))) for r in receipts
                             if r.get("classification"))

    def reversed_missing(self) -> list[str]:
        """Entries reversed by a reversal here but stored in another account-period's summary."""
        return sorted({f[6] for f in self.entries.values() if f[0] == REVERSAL and f[6]} - set(self.entries))

    def receipts_missing(self) -> list[str]:
        """Receipt movements whose supplier, or whose document's upstream, the facts do not hold (yet): the
        two topics were read in an order, or at a time, that left the join to the reader."""
        missing = set()
        receipts, entries = self.receipts, self.entries
        for f in entries.values():
            if f[0] == REVERSAL and f[6] in entries:
                f = entries[f[6]]
            if f[0] != RECEIPT or not f[1]:
                continue
            if f[1] in receipts:
                receipt = receipts[f[1]]
                if receipt[2] and not receipt[5]:
                    missing.add(f[1])
            elif not f[_CLASSIFICATION] or (f[_RECEIPT + 2] and not f[_RECEIPT + 5]):  # no receipt; no upstream
                missing.add(f[1])
        return sorted(missing)

    def inputs(self, account_period: str) -> list[Input]:
        """The inputs of an account-period, each joined with the receipt it booked (a reversal takes the
        kind and supplier of what it reverses, with its own, negative, masses)."""
        account_id = account_period.partition("|")[0]
        out: list[Input] = []
        new = tuple.__new__  # an Input of all its fields, without the keyword handling (wide levels)
        receipts = self.receipts
        for entry_id in sorted(self.by_account_period.get(account_period, [])):
            fact = self.entries[entry_id]
            site, coc, total = fact[2] or None, Decimal(fact[3]), Decimal(fact[4])
            source = self.entries.get(fact[6]) if fact[0] == REVERSAL else fact
            if source is None or source[0] == REVERSAL:
                out.append(Input(account_period, account_id, site, OTHER_COC, coc, total))
                continue
            category = source[5] or None
            if source[0] == ORIGIN:
                out.append(Input(account_period, account_id, site, ORIGIN, coc, total, None, source[2] or None,
                                 material_category=category))
                continue
            receipt = receipts.get(source[1]) or (source[_RECEIPT:] if source[_CLASSIFICATION] else None)
            if receipt is None:
                out.append(Input(account_period, account_id, site, OTHER_COC, coc, total, material_category=category))
                continue
            supplier, supplier_site, document_id, classification, receipt_category, drawn_from, document_site = receipt
            kind = COC_DOCUMENT if document_id else ELIGIBLE_SCRAP if classification == "eligible_scrap" else OTHER_COC
            out.append(new(Input, (account_period, account_id, site, kind, coc, total, supplier or None,
                                   supplier_site or None, document_id or None, receipt_category or category,
                                   drawn_from or None, document_site or None)))
        return out


# ---- a level -------------------------------------------------------------------------------------


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


@dataclass(slots=True)
class Part:
    """What one receiving account's period contributed to a row: `numerator`/`denominator` of the level."""

    account_id: str
    numerator: int = 0
    denominator: int = 1
    coc_kg: Decimal = Decimal(0)
    documents: dict[str, int] = field(default_factory=dict)
    """The CoC Documents it received, with the CoC mass received against each (in units of 1e-9 kg)."""

    @property
    def share(self) -> Fraction:
        return Fraction(self.numerator, self.denominator)


@dataclass
class Row:
    """What one source (kind, supplier, supplier's site) contributed to a level, over every path."""

    kind: str
    supplier_organisation_id: str | None
    supplier_site_id: str | None
    share: Fraction = Fraction(0)
    receiving_site_ids: set[str] = field(default_factory=set)
    material_categories: set[str] = field(default_factory=set)
    documents: dict[str, int] = field(default_factory=dict)
    """CoC Documents received in this row, with the weight each carries in the level, in units of
    1/`denominator` (the same for every row of a level)."""
    denominator: int = 1
    accounts: dict[str, Part] = field(default_factory=dict)
    """The receiving accounts' periods (account-period -> its part)."""

    @property
    def key(self) -> tuple[str, str | None, str | None]:
        return self.kind, self.supplier_organisation_id, self.supplier_site_id


PLACES = 9
"""Masses have at most 9 decimal places (`contracts.common`): in units of 1e-9 kg they are integers."""


def level(weights: Mapping[str, Fraction], inputs: Iterable[Input]) -> list[Row]:
    """The rows of one level: each account-period's inputs, weighted by what reaches that account, summed
    per source. Exact and fast on wide levels: weights over totals share one denominator (sums of integers)."""
    by_ap = _in_units(weights, inputs)
    common, multipliers = _common_multipliers(weights, by_ap)
    rows: dict[tuple[str, str | None, str | None], Row] = {}
    for ap in sorted(weights):
        if ap not in multipliers:  # nothing booked in: the weight that reached it goes nowhere further
            _part_of(rows, (NO_INPUT, None, None), ap, ap.partition("|")[0], common).numerator += (
                weights[ap].numerator * (common // weights[ap].denominator))
            continue
        k = multipliers[ap]
        for i, coc, total in by_ap[ap]:
            if coc:
                _add_coc(rows, ap, i, k * coc, coc, common)
            if total != coc:
                _add_non_coc(rows, ap, i, k * (total - coc), common)
    _sum_rows(rows, common, multipliers)
    shown = [r for r in rows.values() if r.share > 0]
    return sorted(shown, key=lambda r: (ORDER.get(r.kind, len(ORDER)), -r.share, r.supplier_organisation_id or "",
                                        r.supplier_site_id or ""))


def _in_units(weights: Mapping[str, Fraction], inputs: Iterable[Input]) -> dict[str, list[tuple[Input, int, int]]]:
    """The inputs of the weighted account-periods, with their CoC and total masses in units of 1e-9 kg
    (integers; a mass with more places is refused, not rounded)."""
    by_ap: dict[str, list[tuple[Input, int, int]]] = {}
    for i in inputs:
        if i[0] in weights:
            coc, total = i[4].scaleb(PLACES), i[5].scaleb(PLACES)
            units = (i, int(coc), int(total))
            if units[1] != coc or units[2] != total:
                raise ValueError(f"a mass with more than {PLACES} decimal places: {i}")
            by_ap.setdefault(i[0], []).append(units)
    return by_ap


def _common_multipliers(weights: Mapping[str, Fraction], by_ap: Mapping[str, list[tuple[Input, int, int]]]) -> tuple[
        int, dict[str, int]]:
    """One common denominator for the level, and per account-period with inputs the integer that turns a
    unit of its mass into numerators over it (its weight over its total input)."""
    totals = {ap: sum(t for _, _, t in by_ap.get(ap, [])) for ap in weights}
    factors = {ap: weights[ap] / totals[ap] for ap in weights if totals[ap] > 0}  # per unit of mass
    common = lcm(*(f.denominator for f in factors.values()), *(w.denominator for w in weights.values()))
    return common, {ap: f.numerator * (common // f.denominator) for ap, f in factors.items()}


def _part_of(rows: dict[tuple[str, str | None, str | None], Row], key: tuple[str, str | None, str | None],
             ap: str, account_id: str, common: int) -> Part:
    """The part of an account-period in the row of a source, made on first use."""
    r = rows.get(key)
    if r is None:
        r = rows[key] = Row(*key)
    part = r.accounts.get(ap)
    if part is None:
        part = r.accounts[ap] = Part(account_id, 0, common)
    return part


def _add_coc(rows: dict[tuple[str, str | None, str | None], Row], ap: str, i: Input, numerator: int, coc: int,
             common: int) -> None:
    """An input's CoC mass, in the row of its source (kind, supplier, supplier's site)."""
    key = (i[3], i[6], i[7])
    part = _part_of(rows, key, ap, i[1], common)
    part.numerator += numerator
    part.coc_kg += i[4]
    if i[8]:  # the CoC Document it was received against
        part.documents[i[8]] = part.documents.get(i[8], 0) + coc
    r = rows[key]
    if i[2]:
        r.receiving_site_ids.add(i[2])
    if i[9]:
        r.material_categories.add(i[9])


def _add_non_coc(rows: dict[tuple[str, str | None, str | None], Row], ap: str, i: Input, numerator: int, common: int) -> None:
    """The part of an input that is not CoC mass, in the level's one non-CoC row."""
    part = _part_of(rows, (NON_COC, None, None), ap, i[1], common)
    part.numerator += numerator
    if i[2]:
        rows[NON_COC, None, None].receiving_site_ids.add(i[2])


def _sum_rows(rows: Mapping[tuple[str, str | None, str | None], Row], common: int, multipliers: Mapping[str, int]) -> None:
    """Each row's share over every path, and the weight each of its CoC Documents carries in the level."""
    for r in rows.values():
        r.denominator = common
        r.share = Fraction(sum(part.numerator for part in r.accounts.values()), common)
        for ap, part in r.accounts.items():
            for document_id, m in part.documents.items():
                if m > 0:
                    r.documents[document_id] = r.documents.get(document_id, 0) + multipliers[ap] * m


def next_weights(rows: Iterable[Row], drawn_from: Mapping[str, str], seen: set[str]) -> dict[str, Fraction]:
    """Where the CoC Documents of a level were drawn from (`drawn_from`: document id -> account-period),
    with the weight each carries, normalised to one; account-periods already shown are not followed
    again (a loop in the books ends there)."""
    sums: dict[tuple[str, int], int] = {}  # (account-period, denominator) -> numerator: integer sums
    for r in rows:
        if r.kind != COC_DOCUMENT:
            continue
        for document_id, w in r.documents.items():
            ap = drawn_from.get(document_id)
            if ap is not None and ap not in seen and w > 0:
                sums[ap, r.denominator] = sums.get((ap, r.denominator), 0) + w
    weights: dict[str, Fraction] = {}
    for (ap, denominator), n in sums.items():
        weights[ap] = weights.get(ap, Fraction(0)) + Fraction(n, denominator)
    total = sum(weights.values(), Fraction(0))
    return {ap: w / total for ap, w in weights.items()} if total > 0 else {}


def drawn_from(inputs: Iterable[Input]) -> dict[str, str]:
    """document id -> the account-period it was drawn from, as far as the inputs know."""
    return {i.document_id: i.drawn_from for i in inputs if i.document_id and i.drawn_from}


def apportion(shares: list[Fraction], places: int = SHARE_PLACES) -> list[Decimal]:
    """Shares rounded to `places` decimals by the largest remainder: when the fractions add up to one,
    the Decimals add up to exactly one (ties go to the earlier share)."""
    unit = 10 ** places
    scaled = [s * unit for s in shares]
    floors = [int(s.numerator // s.denominator) for s in scaled]
    left = round(sum(scaled, Fraction(0))) - sum(floors)
    order = sorted(range(len(shares)), key=lambda k: (-(scaled[k] - floors[k]), k))
    for k in order[:max(left, 0)]:
        floors[k] += 1
    return [Decimal(f).scaleb(-places) for f in floors]


def status_on(day: str, valid_until: str | None, revisions: list[tuple[str, str]]) -> str:
    """A certificate's status on `day` (ISO date): the status of its last revision that occurred on or
    before that day (`revisions`: ISO occurred-at and status), expired after `valid_until`, and
    `not_yet_certified` before its first revision."""
    earlier = sorted((at, status) for at, status in revisions if at[:10] <= day)
    if not earlier:
        return "not_yet_certified"
    if valid_until is not None and day > valid_until:
        return "expired"
    return earlier[-1][1]
