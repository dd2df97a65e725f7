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
summary document per account-period, `domain/upstream_facts.py`): one short text per input entry,
with the receipt it booked, under the entry's id, so that storing one again, or storing them in any
order, gives the same summary. A level sums each account-period's facts once into a `Digest` (per
source: CoC mass in units of 1e-9 kg, per document), whatever the weight that reaches it, then
multiplies each digest by one integer (`level_of`); `level` does the same from `Input`s.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from math import lcm
from types import MappingProxyType
from typing import Any, NamedTuple

from services.gateway.domain.upstream_facts import (
    COC_DOCUMENT,
    ELIGIBLE_SCRAP,
    ENTRIES,
    NO_INPUT,
    NON_COC,
    ORIGIN,
    OTHER_COC,
    RECEIPT,
    REVERSAL,
    SEPARATOR,
    Facts,
    Input,
    Source,
    entry_fact,
    entry_fact_of,
    summary_set,
)

__all__ = ["COC_DOCUMENT", "ELIGIBLE_SCRAP", "ENTRIES", "NO_INPUT", "NON_COC", "ORIGIN", "OTHER_COC", "RECEIPT",
           "REVERSAL", "Facts", "Input", "entry_fact", "entry_fact_of", "summary_set"]

SHARE_PLACES = 6
MAX_LEVELS = 20

ORDER = {k: n for n, k in enumerate((COC_DOCUMENT, ELIGIBLE_SCRAP, ORIGIN, OTHER_COC, NO_INPUT, NON_COC))}
"""How a level lists its rows: CoC sources first, largest share first; then what has no source."""


# ---- a level -------------------------------------------------------------------------------------


class Part(NamedTuple):
    """What one receiving account's period contributed to a row: `numerator`/`denominator` of the level."""

    account_id: str
    numerator: int = 0
    denominator: int = 1
    coc_kg: Decimal = Decimal(0)
    documents: Mapping[str, int] = MappingProxyType({})
    """The CoC Documents it received, with the CoC mass received against each (in units of 1e-9 kg):
    the account-period's digest's own map, to read only."""

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

_UNIT = 10**PLACES

Key = tuple[str, str | None, str | None]
"""A level's row: kind, supplier organisation, supplier site."""

_NONE: frozenset[str] = frozenset()
_ONES: dict[str, frozenset[str]] = {}


def _one(value: str | None) -> frozenset[str]:
    """`{value}` (or the empty set), one shared immutable set per value: most sources of an account-period
    have one receiving site and one category, the same for all."""
    if not value:
        return _NONE
    one = _ONES.get(value)
    if one is None:
        if len(_ONES) > 10_000:
            _ONES.clear()
        one = _ONES[value] = frozenset((value,))
    return one


class Digest:
    """What one account-period's inputs give any level it is in, whatever weight reaches it: per source
    (`Key`) its CoC mass in units of 1e-9 kg (an integer), in kg, and per CoC Document received; the
    non-CoC mass; the total input; and where its documents were drawn from. A level multiplies these
    by one integer per account-period (`level_of`), so each input is read once."""

    __slots__ = ("coc", "documents", "drawn", "document_sites", "local", "non_coc", "non_coc_account", "non_coc_sites",
                 "total")

    def __init__(self) -> None:
        self.local = False
        """Summed from its summary's facts alone (`Facts.local`): the same facts give the same digest."""
        self.total = 0
        self.coc: dict[Key, list[Any]] = {}
        """key -> [CoC units, CoC kg, {document id: units}, receiving sites, categories (frozen), account id]"""
        self.non_coc: int | None = None
        """Units of input that are not CoC mass; None while no input had any."""
        self.non_coc_account: str = ""
        self.non_coc_sites: set[str] = set()
        """The sites that received the non-CoC part."""
        self.documents: set[str] = set()
        """The CoC Documents its inputs were received against."""
        self.drawn: dict[str, str] = {}
        """CoC Document id -> the account-period it was drawn from, where known."""
        self.document_sites: dict[str, str] = {}
        """CoC Document id -> its issuing site, where known."""

    def add(self, account_id: str, site: str | None, source: Source, coc_kg: Decimal, total_kg: Decimal) -> None:
        """One input (a mass with more than `PLACES` decimal places is refused, not rounded)."""
        coc_scaled, total_scaled = coc_kg.scaleb(PLACES), total_kg.scaleb(PLACES)
        coc, total = int(coc_scaled), int(total_scaled)
        if coc != coc_scaled or total != total_scaled:
            raise ValueError(f"a mass with more than {PLACES} decimal places: {coc_kg}, {total_kg}")
        self.total += total
        document = source[3]
        if document:
            self.received(document, source[5], source[6])
        if coc:
            key = source[:3]
            acc = self.coc.get(key)
            if acc is None:
                acc = self.coc[key] = [0, Decimal(0), {}, _NONE, _NONE, account_id]
            _to_row(acc, coc, coc_kg, document, site, source[4])
        if total != coc:
            self.not_coc(total - coc, account_id, site)

    def received(self, document: str, drawn_from: str | None, issuer_site: str | None) -> None:
        """A CoC Document an input was received against, where it was drawn from and its issuing site
        (where known)."""
        self.documents.add(document)
        if drawn_from:
            self.drawn[document] = drawn_from
        if issuer_site:
            self.document_sites[document] = issuer_site

    def not_coc(self, units: int, account_id: str, site: str | None) -> None:
        """Input that is not CoC mass, received at `site`."""
        if self.non_coc is None:
            self.non_coc, self.non_coc_account = 0, account_id
        self.non_coc += units
        if site:
            self.non_coc_sites.add(site)


def _to_row(acc: list[Any], coc: int, coc_kg: Decimal, document: str | None, site: str | None,
            category: str | None) -> None:
    """An input's CoC part into its source's row (`Digest.coc`)."""
    acc[0] += coc
    acc[1] += coc_kg
    if document:
        acc[2][document] = acc[2].get(document, 0) + coc
    if site and site not in acc[3]:
        acc[3] = acc[3] | {site}
    if category and category not in acc[4]:
        acc[4] = acc[4] | {category}


def digest(facts: Facts, account_period: str) -> Digest:
    """The digest of an account-period's stored facts: `Facts.inputs` summed by `Digest.add`. A receipt
    the fact holds whole (`_whole`: most inputs) is summed here, the same way, without an object per
    input (`_add_whole_receipt`)."""
    out = Digest()
    account_id = account_period.partition("|")[0]
    own = facts.by_account_period.get(account_period, [])
    own_ids: set[str] | None = None
    local = True
    for entry_id in sorted(own):
        f = facts.entries[entry_id].split(SEPARATOR)
        if _whole(f, facts.receipts):
            stands_alone = _add_whole_receipt(out, f, account_id)
            local = local and stands_alone
            continue
        out.add(account_id, f[2] or None, facts.source(f), Decimal(f[3]), Decimal(f[4]))
        if local:
            own_ids = set(own) if own_ids is None else own_ids
            local = facts.local(f, own_ids)
    out.local = local
    return out


def _whole(f: list[str], receipts: Mapping[str, Any]) -> bool:
    """A receipt the fact holds whole: its supplier known, no receipt looked up for it, whole
    kilograms."""
    return (f[0] == RECEIPT and bool(f[10]) and f[1] not in receipts
            and f[3].isdecimal() and f[4].isdecimal())


def _add_whole_receipt(out: Digest, f: list[str], account_id: str) -> bool:
    """One whole receipt into the digest, as `Digest.add` sums it. False when a reader must look up
    its document's upstream (`Facts.local`)."""
    coc, units = int(f[3]) * _UNIT, int(f[4]) * _UNIT
    out.total += units
    document, site = f[9], f[2]
    if document:
        out.received(document, f[12], f[13])
    if coc:
        _add_whole_coc(out, f, coc, account_id)
    if units != coc:
        out.not_coc(units - coc, account_id, site)
    return not (document and f[1] and not f[12])


def _add_whole_coc(out: Digest, f: list[str], coc: int, account_id: str) -> None:
    """A whole receipt's CoC part into its source's row of the digest."""
    document, site, category = f[9], f[2], f[11] or f[5]
    key = (COC_DOCUMENT if document else ELIGIBLE_SCRAP if f[10] == "eligible_scrap" else OTHER_COC,
           f[7] or None, f[8] or None)
    acc = out.coc.get(key)
    if acc is None:  # as `Digest.add` makes it (a whole, non-zero mass plus Decimal(0) is itself)
        out.coc[key] = [coc, Decimal(f[3]), {document: coc} if document else {},
                        _ONES.get(site) or _one(site), _ONES.get(category) or _one(category), account_id]
        return
    _to_row(acc, coc, Decimal(f[3]), document, site, category)


def level(weights: Mapping[str, Fraction], inputs: Iterable[Input]) -> list[Row]:
    """The rows of one level: each account-period's inputs, weighted by what reaches that account, summed
    per source."""
    digests: dict[str, Digest] = {}
    for i in inputs:
        if i[0] in weights:
            d = digests.get(i[0])
            if d is None:
                d = digests[i[0]] = Digest()
            d.add(i[1], i[2], (i[3], i[6], i[7], i[8], i[9], i[10], i[11]), i[4], i[5])
    return level_of(weights, digests)


def level_of(weights: Mapping[str, Fraction], digests: Mapping[str, Digest]) -> list[Row]:
    """The rows of one level from its account-periods' digests. Exact and fast on wide levels: weights
    over totals share one denominator (sums of integers)."""
    common, multipliers = _common_multipliers(weights, digests)
    rows: dict[Key, Row] = {}
    new = tuple.__new__  # a Part of all its fields, without the keyword handling (1,600 a wide level)
    for ap in sorted(weights):
        k = multipliers.get(ap)
        if k is None:  # nothing booked in: the weight that reached it goes nowhere further
            w = weights[ap]
            _row(rows, (NO_INPUT, None, None)).accounts[ap] = Part(ap.partition("|")[0],
                                                                  w.numerator * (common // w.denominator), common)
            continue
        d = digests[ap]
        for key, (units, coc_kg, documents, sites, categories, account_id) in d.coc.items():
            r = rows.get(key)
            if r is None:
                r = rows[key] = Row(*key)
            r.accounts[ap] = new(Part, (account_id, k * units, common, coc_kg, documents))
            if sites:
                r.receiving_site_ids |= sites
            if categories:
                r.material_categories |= categories
        if d.non_coc is not None:
            r = _row(rows, (NON_COC, None, None))
            r.accounts[ap] = Part(d.non_coc_account, k * d.non_coc, common)
            r.receiving_site_ids |= d.non_coc_sites
    _sum_rows(rows, common, multipliers)
    shown = [r for r in rows.values() if r.share > 0]
    return sorted(shown, key=lambda r: (ORDER.get(r.kind, len(ORDER)), -r.share, r.supplier_organisation_id or "",
                                        r.supplier_site_id or ""))


def _row(rows: dict[Key, Row], key: Key) -> Row:
    r = rows.get(key)
    if r is None:
        r = rows[key] = Row(*key)
    return r


def _common_multipliers(weights: Mapping[str, Fraction], digests: Mapping[str, Digest]) -> tuple[int, dict[str, int]]:
    """One common denominator for the level, and per account-period with inputs the integer that turns a
    unit of its mass into numerators over it (its weight over its total input)."""
    factors = {ap: weights[ap] / digests[ap].total for ap in weights if ap in digests and digests[ap].total > 0}
    common = lcm(*(f.denominator for f in factors.values()), *(w.denominator for w in weights.values()))
    return common, {ap: f.numerator * (common // f.denominator) for ap, f in factors.items()}


def _sum_rows(rows: Mapping[tuple[str, str | None, str | None], Row], common: int, multipliers: Mapping[str, int]) -> None:
    """Each row's share over every path, and the weight each of its CoC Documents carries in the level."""
    for r in rows.values():
        r.denominator = common
        r.share = Fraction(sum(part[1] for part in r.accounts.values()), common)
        documents = r.documents
        for ap, part in r.accounts.items():
            if part[4]:
                k = multipliers[ap]
                for document_id, m in part[4].items():
                    if m > 0:
                        documents[document_id] = documents.get(document_id, 0) + k * m


def next_weights(rows: Iterable[Row], drawn_from: Mapping[str, str], seen: set[str]) -> dict[str, Fraction]:
    """Where the CoC Documents of a level were drawn from (`drawn_from`: document id -> account-period),
    with the weight each carries, normalised to one; account-periods already shown are not followed
    again (a loop in the books ends there)."""
    by_denominator: dict[int, dict[str, int]] = {}  # denominator -> account-period -> numerator: integer sums
    for r in rows:
        if r.kind != COC_DOCUMENT:
            continue
        sums = by_denominator.setdefault(r.denominator, {})
        for document_id, w in r.documents.items():
            if w > 0:
                ap = drawn_from.get(document_id)
                if ap is not None and ap not in seen:
                    sums[ap] = sums.get(ap, 0) + w
    parts = [(d, sums) for d, sums in by_denominator.items() if sums]
    if len(parts) == 1:  # the rows of a level share their denominator: each weight is n over the sum of n
        total_n = sum(parts[0][1].values())
        return {ap: Fraction(n, total_n) for ap, n in parts[0][1].items()}
    weights: dict[str, Fraction] = {}
    for denominator, sums in parts:
        for ap, n in sums.items():
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
    common = lcm(*(s.denominator for s in shares))  # in integers: each scaled share is n / common
    scaled = [s.numerator * (common // s.denominator) * unit for s in shares]
    floors = [n // common for n in scaled]
    left = round(Fraction(sum(scaled), common)) - sum(floors)
    order = sorted(range(len(shares)), key=lambda k: (floors[k] * common - scaled[k], k))  # largest remainder first
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
