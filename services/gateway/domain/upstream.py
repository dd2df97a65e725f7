"""The upstream of a CoC Document under mass balance (issue 21): not a physical trace, but the CoC
inputs the account it was drawn from booked in that period, level by level back to the mine or the
scrap receipt.

* Level 1 is the inputs of the account and period the document was drawn from. Each input counts by
  its mass (`total_input_kg` of its ledger entry): its CoC part goes to its supplier's row, the rest
  to the account's non-CoC row. The shares are those masses over the account's total input.
* Level n+1 follows each CoC Document received at level n to the account and period its issuer drew
  it from, with the weight of that document in its row, and apportions that weight over the
  upstream account's inputs the same way. Inputs without an upstream on the platform end their
  branch: the mine's own extraction (`origin`), eligible scrap, non-CoC input, a document the
  platform did not issue. A level's shares are relative to the branches that reach it, so each level
  adds up to one. An account that booked no input in the period shows as `no_input_in_period`.
* Shares are exact fractions until shown; `apportion` rounds them to `SHARE_PLACES` decimals by the
  largest remainder, so the shown Decimals of a level add up to exactly one.
* Credits carried in from an earlier period are not followed (they are not inputs of the period).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

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


@dataclass(frozen=True)
class Input:
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


@dataclass
class Row:
    """What one source contributed to one account's period, at one level."""

    account_period: str
    account_id: str
    kind: str
    supplier_organisation_id: str | None
    supplier_site_id: str | None
    share: Fraction = Fraction(0)
    coc_kg: Decimal = Decimal(0)
    total_kg: Decimal = Decimal(0)
    receiving_site_ids: set[str] = field(default_factory=set)
    material_categories: set[str] = field(default_factory=set)
    documents: dict[str, Decimal] = field(default_factory=dict)
    """CoC Documents received in this row, with the CoC mass received against each."""

    @property
    def key(self) -> tuple[str, str, str | None, str | None]:
        return self.account_period, self.kind, self.supplier_organisation_id, self.supplier_site_id


def level(weights: Mapping[str, Fraction], inputs: Iterable[Input]) -> list[Row]:
    """The rows of one level: each account-period's inputs, weighted by what reaches that account."""
    by_ap: dict[str, list[Input]] = {}
    for i in inputs:
        if i.account_period in weights:
            by_ap.setdefault(i.account_period, []).append(i)
    rows: dict[tuple[str, str, str | None, str | None], Row] = {}

    def row(i: Input, kind: str, supplier: str | None, site: str | None) -> Row:
        r = Row(i.account_period, i.account_id, kind, supplier, site)
        return rows.setdefault(r.key, r)

    for ap in sorted(weights):
        items = by_ap.get(ap, [])
        total = sum((i.total_kg for i in items), Decimal(0))
        if total <= 0:
            rows.setdefault((ap, NO_INPUT, None, None), Row(ap, ap.partition("|")[0], NO_INPUT, None, None,
                                                            share=weights[ap]))
            continue
        for i in items:
            non_coc = i.total_kg - i.coc_kg
            if i.coc_kg:
                r = row(i, i.kind, i.supplier_organisation_id, i.supplier_site_id)
                r.share += weights[ap] * Fraction(i.coc_kg) / Fraction(total)
                r.coc_kg += i.coc_kg
                r.total_kg += i.coc_kg
                if i.document_id:
                    r.documents[i.document_id] = r.documents.get(i.document_id, Decimal(0)) + i.coc_kg
                _note(r, i)
            if non_coc:
                r = row(i, NON_COC, None, None)
                r.share += weights[ap] * Fraction(non_coc) / Fraction(total)
                r.total_kg += non_coc
                _note(r, i)
    return [r for r in rows.values() if r.share > 0]


def _note(r: Row, i: Input) -> None:
    if i.site_id:
        r.receiving_site_ids.add(i.site_id)
    if i.material_category:
        r.material_categories.add(i.material_category)


def next_weights(rows: Iterable[Row], drawn_from: Mapping[str, str], seen: set[str]) -> dict[str, Fraction]:
    """Where the CoC Documents of a level were drawn from (`drawn_from`: document id -> account-period),
    with the weight each carries, normalised to one; account-periods already shown are not followed
    again (a loop in the books ends there)."""
    weights: dict[str, Fraction] = {}
    for r in rows:
        mass = sum((m for m in r.documents.values() if m > 0), Decimal(0))
        if r.kind != COC_DOCUMENT or mass <= 0:
            continue
        for document_id, m in r.documents.items():
            ap = drawn_from.get(document_id)
            if ap is not None and ap not in seen and m > 0:
                weights[ap] = weights.get(ap, Fraction(0)) + r.share * Fraction(m) / Fraction(mass)
    total = sum(weights.values(), Fraction(0))
    return {ap: w / total for ap, w in weights.items()} if total > 0 else {}


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
