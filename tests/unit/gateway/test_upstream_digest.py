"""The gateway reads a level from per account-period digests of the stored facts (`rules.digest`,
summed inline for most inputs); it must give exactly what `Facts.inputs` and `rules.level` give, row
by row and part by part, whatever the facts hold: whole and fractional masses, reversals within and
across summaries, receipts not yet joined or looked up."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from services.gateway.domain import upstream as rules

masses = st.one_of(st.integers(0, 10**7).map(str), st.integers(1, 10**9).map(lambda n: str(Decimal(n).scaleb(-3))),
                   st.integers(-10**6, -1).map(str))


@st.composite
def levels(draw: st.DrawFn) -> tuple[dict[str, Fraction], rules.Facts]:
    aps = [f"site:a{n}|p" for n in range(draw(st.integers(1, 4)))]
    facts = rules.Facts()
    ids: list[str] = []
    for ap in aps:
        entries: dict[str, str] = {}
        for _ in range(draw(st.integers(0, 6))):
            entry_id = f"e{len(ids)}"
            kind = draw(st.sampled_from([rules.RECEIPT, rules.RECEIPT, rules.RECEIPT, rules.ORIGIN, rules.REVERSAL]))
            coc = draw(masses)
            total = draw(st.sampled_from([coc, str(Decimal(coc) + 1000), str(Decimal(coc) + Decimal("0.5"))]))
            movement = f"m{draw(st.integers(0, 6))}"
            reverses = draw(st.sampled_from([*ids, "e-elsewhere"])) if kind == rules.REVERSAL and ids else None
            receipt = None
            if kind == rules.RECEIPT and draw(st.booleans()):
                receipt = {"classification": draw(st.sampled_from(["coc_material", "eligible_scrap"])),
                           "supplier_organisation_id": draw(st.sampled_from(["s1", "s2", None])),
                           "supplier_site_id": draw(st.sampled_from(["s1", "x2"])),
                           "coc_document_id": draw(st.sampled_from([None, "d1", "d2", f"d-{entry_id}"])),
                           "material_category": draw(st.sampled_from([None, "aluminium", "alloy"])),
                           "upstream_account_period": draw(st.sampled_from([None, "site:u|p"])),
                           "issuer_site_id": draw(st.sampled_from([None, "u"]))}
            site = draw(st.sampled_from([ap[5:-2], "other", None]))
            category = draw(st.sampled_from([None, "aluminium"]))
            entries[entry_id] = rules.entry_fact(kind, movement, site, Decimal(coc), Decimal(total), category,
                                                 reverses, receipt)
            ids.append(entry_id)
        if entries or draw(st.booleans()):
            facts.add(ap, {rules.ENTRIES: entries})
    for movement in draw(st.lists(st.sampled_from([f"m{n}" for n in range(7)]), max_size=3)):
        facts.add_receipts([{"_id": movement, "classification": "coc_material", "supplier_organisation_id": "looked",
                             "supplier_site_id": "up", "coc_document_id": "d-looked", "material_category": None,
                             "upstream_account_period": "site:v|p", "issuer_site_id": "v"}])
    weights = [Fraction(draw(st.integers(1, 5))) for _ in aps]
    return {ap: w / sum(weights) for ap, w in zip(aps, weights, strict=True)}, facts


def rows_of(rows: list[rules.Row]) -> list[Any]:
    return [(r.key, r.share, r.denominator, sorted(r.receiving_site_ids), sorted(r.material_categories),
             list(r.documents.items()),
             [(ap, p.account_id, p.numerator, p.denominator, str(p.coc_kg), list(p.documents.items()))
              for ap, p in r.accounts.items()]) for r in rows]


@settings(deadline=None)
@given(levels())
def test_a_level_from_digests_is_the_level_from_the_inputs(level):
    weights, facts = level
    inputs = [i for ap in sorted(weights) for i in facts.inputs(ap)]
    expected = rows_of(rules.level(weights, inputs))
    digests = {ap: rules.digest(facts, ap) for ap in sorted(weights)}
    assert rows_of(rules.level_of(weights, digests)) == expected
    assert {k: v for d in digests.values() for k, v in d.drawn.items()} == rules.drawn_from(inputs)
    assert {k: v for d in digests.values() for k, v in d.document_sites.items()} == {
        i.document_id: i.document_site_id for i in inputs if i.document_id and i.document_site_id}
    assert set().union(*(d.documents for d in digests.values())) == {i.document_id for i in inputs if i.document_id}
