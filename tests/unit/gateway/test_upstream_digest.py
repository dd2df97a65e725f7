"""The gateway reads a level from per account-period digests of the stored facts (`rules.digest`,
summed inline for most inputs); it must give exactly what `Facts.inputs` and `rules.level` give, row
by row and part by part, whatever the facts hold: whole and fractional masses, reversals within and
across summaries, receipts not yet joined or looked up."""

from __future__ import annotations

import copy
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


# ---- the digests kept between reads (`services/gateway/upstream.py`, `DigestCache`) -----------------


class _Collection:
    def __init__(self, docs: dict[str, dict[str, Any]]) -> None:
        self.docs = docs

    def find(self, query: dict[str, Any], projection: Any = None) -> Any:
        ids = query["_id"]["$in"]
        docs = [copy.deepcopy(self.docs[i]) for i in ids if i in self.docs]  # a fresh decode, as a driver gives

        async def cursor() -> Any:
            for d in docs:
                yield d
        return cursor()


class _Db(dict[str, _Collection]):
    def __missing__(self, name: str) -> _Collection:
        return self.setdefault(name, _Collection({}))


def _fact(movement: str, coc: str, document: str | None, drawn: str | None = "site:u|p") -> str:
    receipt = {"classification": "coc_material", "supplier_organisation_id": "s", "supplier_site_id": "s",
               "coc_document_id": document, "material_category": "aluminium", "upstream_account_period": drawn,
               "issuer_site_id": "u"}
    return rules.entry_fact(rules.RECEIPT, movement, "a", Decimal(coc), Decimal(coc) + 5, "aluminium", None, receipt)


async def test_a_kept_digest_is_used_only_for_the_same_facts_and_never_when_the_facts_lack_a_join():
    from services.gateway import upstream
    from services.gateway.adapters import store

    upstream.DIGESTS = upstream.DigestCache()
    summaries = {"site:a|p": {"_id": "site:a|p", rules.ENTRIES: {"e1": _fact("m1", "10", "d1")}}}
    db = _Db({store.UPSTREAM_PERIODS: _Collection(summaries)})
    first = (await upstream._digests(db, ["site:a|p"]))["site:a|p"]  # type: ignore[arg-type]
    assert (await upstream._digests(db, ["site:a|p"]))["site:a|p"] is first  # type: ignore[arg-type]
    summaries["site:a|p"][rules.ENTRIES]["e2"] = _fact("m2", "30", "d2")  # a new fact: summed again
    second = (await upstream._digests(db, ["site:a|p"]))["site:a|p"]  # type: ignore[arg-type]
    assert second is not first and second.total == (10 + 5 + 30 + 5) * 10**9
    summaries["site:a|p"][rules.ENTRIES]["e2"] = _fact("m2", "20", "d2")  # a corrected fact: summed again
    assert (await upstream._digests(db, ["site:a|p"]))["site:a|p"].total == (10 + 5 + 20 + 5) * 10**9  # type: ignore[arg-type]
    # A fact without its document's upstream is completed from `upstream_receipts` by the reader: its digest
    # depends on more than the summary, and is summed at every read.
    summaries["site:a|p"][rules.ENTRIES]["e3"] = _fact("m3", "1", "d3", drawn=None)
    db[store.UPSTREAM_RECEIPTS] = _Collection({"m3": {"_id": "m3", "classification": "coc_material",
                                                      "supplier_organisation_id": "s", "coc_document_id": "d3",
                                                      "upstream_account_period": "site:w|p"}})
    assert (await upstream._digests(db, ["site:a|p"]))["site:a|p"].drawn["d3"] == "site:w|p"  # type: ignore[arg-type]
    db[store.UPSTREAM_RECEIPTS].docs["m3"]["upstream_account_period"] = "site:z|p"
    assert (await upstream._digests(db, ["site:a|p"]))["site:a|p"].drawn["d3"] == "site:z|p"  # type: ignore[arg-type]
    assert upstream.DIGESTS.get("site:a|p", summaries["site:a|p"][rules.ENTRIES]) is None


def test_the_kept_digests_are_bounded_by_their_number_of_facts():
    from services.gateway.upstream import DigestCache

    cache = DigestCache(max_inputs=3)
    one, two = {"e1": "x", "e2": "y"}, {"e3": "z", "e4": "w"}
    cache.put("a", one, rules.Digest())
    cache.put("b", two, rules.Digest())  # 4 facts: the least recently used goes
    assert list(cache.items) == ["b"] and cache.inputs == 2
    assert cache.get("b", dict(two)) is not None and cache.get("b", {"e3": "z"}) is None


@given(levels())
def test_a_digest_is_local_when_its_summary_alone_gives_its_inputs(level):
    weights, facts = level
    for ap in weights:
        own = facts.by_account_period.get(ap, [])
        alone = rules.Facts()
        alone.add(ap, {rules.ENTRIES: {i: facts.entries[i] for i in own}})
        if rules.digest(facts, ap).local:  # the same rows from the summary alone, with nothing looked up
            assert rows_of(rules.level_of({ap: Fraction(1)}, {ap: rules.digest(alone, ap)})) == rows_of(
                rules.level_of({ap: Fraction(1)}, {ap: rules.digest(facts, ap)}))
            assert alone.receipts_missing() == [] and alone.reversed_missing() == []


def test_a_level_is_kept_only_for_the_same_weights_over_the_same_kept_digests():
    from services.gateway import upstream
    from services.gateway.upstream import DigestCache, LevelCache

    upstream.DIGESTS = DigestCache()
    entries = {"e1": _fact("m1", "10", "d1"), "e2": _fact("m2", "30", "d2")}
    facts = rules.Facts()
    facts.add("site:a|p", {rules.ENTRIES: entries})
    digest = rules.digest(facts, "site:a|p")
    assert digest.local
    cache, weights = LevelCache(), {"site:a|p": Fraction(1)}
    assert cache.level(weights, {"site:a|p": digest}) is not cache.level(weights, {"site:a|p": digest})  # not kept
    upstream.DIGESTS.put("site:a|p", entries, digest)
    rows = cache.level(weights, {"site:a|p": digest})
    assert cache.level(dict(weights), {"site:a|p": digest}) is rows
    assert cache.level({"site:a|p": Fraction(1), "site:b|p": Fraction(0)}, {"site:a|p": digest,
                                                                           "site:b|p": rules.Digest()}) is not rows
    again = rules.digest(facts, "site:a|p")  # summed again (its summary changed, or was not kept): made again
    upstream.DIGESTS.put("site:a|p", entries, again)
    assert cache.level(weights, {"site:a|p": again}) is not rows
    assert rows_of(cache.level(weights, {"site:a|p": again})) == rows_of(rows)
    assert cache.parts == 2 * 2  # two levels kept, of two parts each (two sources, one account-period)
    facts.add("site:a|p", {rules.ENTRIES: {"e3": _fact("m3", "1", "d3", drawn=None)}})
    lacking = rules.digest(facts, "site:a|p")  # its document's upstream is looked up: never kept
    assert not lacking.local and cache.level(weights, {"site:a|p": lacking}) is not cache.level(
        weights, {"site:a|p": lacking})
