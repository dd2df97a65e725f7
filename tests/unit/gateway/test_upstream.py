"""The upstream of a CoC Document (issue 21): shares per level from the stored inputs of each
account's period, exact until shown, and shown as Decimals that add up to exactly one per level."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from services.gateway.domain import upstream as rules
from services.gateway.domain.upstream import Input


def walk(start: str, inputs: list[Input], drawn_from: dict[str, str]) -> list[list[rules.Row]]:
    """What `services/gateway/upstream.py` does with the database, over lists."""
    weights, seen, levels = {start: Fraction(1)}, {start}, []
    while weights:
        rows = rules.level(weights, inputs)
        if not rows:
            break
        levels.append(rows)
        weights = rules.next_weights(rows, drawn_from, seen)
        seen.update(weights)
    return levels


def receipt(ap: str, supplier: str, coc: str, total: str, document: str | None = None,
            kind: str = rules.COC_DOCUMENT) -> Input:
    return Input(ap, ap.partition("|")[0], ap.partition("|")[0].partition(":")[2], kind, Decimal(coc), Decimal(total),
                 supplier, f"site-{supplier}", document)


# The `make run` day: mine -> refinery -> smelter; scrap -> remelter; both -> mill -> can maker.
DAY = [
    receipt("site:cans|p", "mill", "440000", "550000", "doc-mill"),
    receipt("site:mill|p", "smelter", "400000", "600000", "doc-smelter"),
    receipt("site:mill|p", "remelter", "300000", "400000", "doc-remelter"),
    receipt("group:smelter/c|p", "refinery", "2000000", "2000000", "doc-refinery"),
    receipt("group:remelter/c|p", "ubc-collectors", "500000", "500000", kind=rules.ELIGIBLE_SCRAP),
    receipt("group:refinery/c|p", "mine", "4500000", "4500000", "doc-mine"),
    Input("group:mine/c|p", "group:mine/c", "mine", rules.ORIGIN, Decimal(4500000), Decimal(4500000), None, "mine"),
]
DRAWN = {"doc-mill": "site:mill|p", "doc-smelter": "group:smelter/c|p", "doc-remelter": "group:remelter/c|p",
         "doc-refinery": "group:refinery/c|p", "doc-mine": "group:mine/c|p"}


def shown(levels: list[list[rules.Row]]) -> list[dict[tuple[str, str | None], Decimal]]:
    return [dict(zip([(r.kind, r.supplier_organisation_id) for r in rows], rules.apportion([r.share for r in rows]),
                     strict=True)) for rows in levels]


def test_the_day_from_can_to_mine_and_scrap_level_by_level():
    levels = shown(walk("site:cans|p", DAY, DRAWN))
    assert levels == [
        {(rules.COC_DOCUMENT, "mill"): Decimal("0.800000"), (rules.NON_COC, None): Decimal("0.200000")},
        {(rules.COC_DOCUMENT, "smelter"): Decimal("0.400000"), (rules.COC_DOCUMENT, "remelter"): Decimal("0.300000"),
         (rules.NON_COC, None): Decimal("0.300000")},
        {(rules.COC_DOCUMENT, "refinery"): Decimal("0.571429"),
         (rules.ELIGIBLE_SCRAP, "ubc-collectors"): Decimal("0.428571")},
        {(rules.COC_DOCUMENT, "mine"): Decimal("1.000000")},
        {(rules.ORIGIN, None): Decimal("1.000000")},
    ]


def test_a_document_the_platform_did_not_issue_ends_its_branch_and_a_loop_ends_where_it_closes():
    inputs = [receipt("site:a|p", "b", "10", "10", "doc-b"), receipt("site:b|p", "a", "5", "10", "doc-a"),
              receipt("site:b|p", "x", "5", "5", "doc-elsewhere")]
    levels = walk("site:a|p", inputs, {"doc-b": "site:b|p", "doc-a": "site:a|p"})
    assert len(levels) == 2  # a -> b, and b's input from a is not followed again
    assert sum(r.share for r in levels[1]) == 1


def test_an_account_without_input_in_the_period_is_shown_as_such_and_ends_its_branch():
    inputs = [receipt("site:a|p", "b", "10", "10", "doc-b"), receipt("site:a|p", "c", "30", "30", "doc-c"),
              receipt("site:c|p", "d", "1", "1", "doc-d")]
    levels = shown(walk("site:a|p", inputs, {"doc-b": "site:b|p", "doc-c": "site:c|p"}))
    assert levels[1] == {(rules.NO_INPUT, None): Decimal("0.250000"), (rules.COC_DOCUMENT, "d"): Decimal("0.750000")}
    assert len(levels) == 2


def test_a_reversed_receipt_takes_its_mass_back_out_of_the_period():
    inputs = [receipt("site:a|p", "b", "10", "10", "doc-b"), receipt("site:a|p", "c", "10", "10", "doc-c"),
              receipt("site:a|p", "c", "-10", "-10", "doc-c")]
    [rows] = walk("site:a|p", inputs, {})
    assert [(r.supplier_organisation_id, r.share) for r in rows] == [("b", 1)]


def test_a_supplier_is_one_row_per_level_with_the_sum_over_paths_of_the_products_of_shares():
    inputs = [receipt("site:a|p", "b", "10", "10", "doc-b"), receipt("site:a|p", "c", "30", "30", "doc-c"),
              receipt("site:b|p", "d", "5", "5", "doc-db"), receipt("site:b|p", "e", "5", "5", "doc-eb"),
              receipt("site:c|p", "d", "1", "2", "doc-dc")]
    levels = walk("site:a|p", inputs, {"doc-b": "site:b|p", "doc-c": "site:c|p"})
    assert [(r.kind, r.supplier_organisation_id, r.share) for r in levels[1]] == [
        (rules.COC_DOCUMENT, "d", Fraction(1, 2)),  # 1/4 x 1/2 through b, 3/4 x 1/2 through c
        (rules.COC_DOCUMENT, "e", Fraction(1, 8)),
        (rules.NON_COC, None, Fraction(3, 8)),
    ]
    d = levels[1][0]
    assert {ap: (p.share, dict(p.documents)) for ap, p in d.accounts.items()} == {
        "site:b|p": (Fraction(1, 8), {"doc-db": 5 * 10**9}), "site:c|p": (Fraction(3, 8), {"doc-dc": 10**9})}


def test_a_certificate_status_on_the_document_date():
    revisions = [("2026-01-10T08:00:00+00:00", "active"), ("2026-05-02T09:00:00+00:00", "suspended")]
    assert rules.status_on("2026-05-01", "2029-01-09", revisions) == "active"
    assert rules.status_on("2026-05-02", "2029-01-09", revisions) == "suspended"
    assert rules.status_on("2026-01-09", "2029-01-09", revisions) == "not_yet_certified"
    assert rules.status_on("2029-01-10", "2029-01-09", revisions) == "expired"


masses = st.integers(min_value=1, max_value=10**9).map(lambda n: Decimal(n).scaleb(-3))


@st.composite
def chains(draw: st.DrawFn) -> tuple[list[Input], dict[str, str]]:
    """Levels of accounts; each account's inputs: documents drawn from accounts of the next level (or
    from nowhere the platform knows), eligible scrap, origin, each with a random non-CoC part."""
    depth = draw(st.integers(1, 6))
    widths = [1] + [draw(st.integers(1, 5)) for _ in range(depth)]
    inputs: list[Input] = []
    drawn: dict[str, str] = {}
    for n in range(depth):
        for a in range(widths[n]):
            ap = f"site:l{n}a{a}|p"
            for k in range(draw(st.integers(0 if n else 1, 6))):
                coc, extra = draw(masses), draw(st.sampled_from([Decimal(0), Decimal("0.001")]) | masses)
                kind = draw(st.sampled_from([rules.COC_DOCUMENT, rules.COC_DOCUMENT, rules.ELIGIBLE_SCRAP,
                                             rules.ORIGIN]))
                document = f"doc-l{n}a{a}k{k}" if kind == rules.COC_DOCUMENT else None
                if document and draw(st.booleans()):
                    drawn[document] = f"site:l{n + 1}a{draw(st.integers(0, widths[n + 1] - 1))}|p"
                inputs.append(receipt(ap, f"s{n}{a}{k}", str(coc), str(coc + extra), document, kind))
    return inputs, drawn


@given(chains())
def test_shares_add_up_to_exactly_one_per_level(chain):
    inputs, drawn = chain
    for rows in walk("site:l0a0|p", inputs, drawn):
        assert sum(r.share for r in rows) == 1
        shares = rules.apportion([r.share for r in rows])
        assert sum(shares) == 1
        assert all(abs(Fraction(s) - r.share) <= Fraction(1, 10**6) for s, r in zip(shares, rows, strict=True))


@given(st.lists(st.integers(1, 10**12), min_size=1, max_size=60))
def test_apportioned_shares_add_up_to_exactly_one(parts):
    total = sum(parts)
    shares = rules.apportion([Fraction(p, total) for p in parts])
    assert sum(shares) == Decimal(1)
    assert all(s >= 0 and s.as_tuple().exponent == -rules.SHARE_PLACES for s in shares)


# ---- the stored summaries (`handlers.py` writes them, `services/gateway/upstream.py` reads them) ----


def apply_set(summaries: dict[str, dict], account_period: str, update: dict[str, str]) -> None:
    """MongoDB's `{"$set": update}` with `upsert=True` on the summary `account_period`."""
    summary = summaries.setdefault(account_period, {"_id": account_period})
    for path, value in update.items():
        head, _, key = path.partition(".")
        summary.setdefault(head, {})[key] = value


def walk_stored(start: str, summaries: dict[str, dict], entries: dict[str, str],
                receipts: dict[str, dict]) -> list[list[rules.Row]]:
    """What `services/gateway/upstream.py` does with the database, over dicts: a level reads the
    summaries of its account-periods, then what they lack from the raw entries and receipts."""
    weights, seen, levels = {start: Fraction(1)}, {start}, []
    while weights:
        facts = rules.Facts()
        for ap in sorted(weights):
            if ap in summaries:
                facts.add(ap, summaries[ap])
        facts.add_entries((k, entries[k]) for k in facts.reversed_missing() if k in entries)
        facts.add_receipts({"_id": m, **receipts[m]} for m in facts.receipts_missing() if m in receipts)
        inputs = [i for ap in sorted(weights) for i in facts.inputs(ap)]
        rows = rules.level(weights, inputs)
        if not rows:
            break
        levels.append(rows)
        weights = rules.next_weights(rows, rules.drawn_from(inputs), seen)
        seen.update(weights)
    return levels


@st.composite
def books(draw: st.DrawFn) -> tuple[list[Input], dict[str, str], list[tuple[str, dict[str, str]]],
                                    dict[str, str], dict[str, dict]]:
    """A chain's inputs as they are (the reference), and the writes that store them as summaries: each
    entry's fact, once or more, with what was known of its receipt at the time: nothing yet, the
    receipt without where its document was drawn from, or all of it; in any order (two handlers that
    ran at once can leave an older fact last: the reader looks up what it lacks). Also the raw entries
    and receipts the reader falls back on."""
    depth = draw(st.integers(1, 4))
    widths = [1] + [draw(st.integers(1, 4)) for _ in range(depth)]
    raw: list[Input] = []
    drawn: dict[str, str] = {}
    writes: list[tuple[str, dict[str, str]]] = []
    entries: dict[str, str] = {}
    receipts: dict[str, dict] = {}
    n = 0
    for level_ in range(depth):
        for a in range(widths[level_]):
            ap, site = f"site:l{level_}a{a}|p", f"l{level_}a{a}"
            for k in range(draw(st.integers(0 if level_ else 1, 5))):
                n += 1
                entry_id, movement_id = f"e{n}", f"m{n}"
                coc, extra = draw(masses), draw(st.sampled_from([Decimal(0), Decimal("0.001")]) | masses)
                kind = draw(st.sampled_from([rules.COC_DOCUMENT, rules.COC_DOCUMENT, rules.ELIGIBLE_SCRAP,
                                             rules.ORIGIN]))
                supplier = f"s{level_}{a}{k}"
                document = f"doc-{n}" if kind == rules.COC_DOCUMENT else None
                upstream = None
                if document and draw(st.booleans()):
                    upstream = drawn[document] = f"site:l{level_ + 1}a{draw(st.integers(0, widths[level_ + 1] - 1))}|p"
                stored_kind = rules.ORIGIN if kind == rules.ORIGIN else rules.RECEIPT
                fact = rules.entry_fact(stored_kind, movement_id, site, coc, coc + extra, "aluminium", None)
                entries[entry_id] = fact
                raw.append(Input(ap, ap.partition("|")[0], site, kind, coc, coc + extra,
                                 None if kind == rules.ORIGIN else supplier, site if kind == rules.ORIGIN else supplier,
                                 document, "aluminium"))
                if kind == rules.ORIGIN:
                    writes.append((ap, rules.summary_set({entry_id: fact})))
                else:
                    record = {"site_id": site, "supplier_organisation_id": supplier, "supplier_site_id": supplier,
                              "coc_document_id": document, "material_category": "aluminium",
                              "classification": "eligible_scrap" if kind == rules.ELIGIBLE_SCRAP else "coc_material",
                              "upstream_account_period": upstream, "issuer_site_id": upstream and supplier}
                    receipts[movement_id] = record
                    known = [None, {**record, "upstream_account_period": None}, record]
                    for seen in draw(st.lists(st.sampled_from(known), min_size=1, max_size=3)):
                        writes.append((ap, rules.summary_set({entry_id: rules.entry_fact(
                            stored_kind, movement_id, site, coc, coc + extra, "aluminium", None, seen)})))
                if draw(st.integers(0, 3)) == 0:  # reversed, in part or in full
                    n += 1
                    back = draw(st.sampled_from([coc, coc / 2]))
                    fact = rules.entry_fact(rules.REVERSAL, f"m{n}", site, -back, -back, None, entry_id)
                    entries[f"e{n}"] = fact
                    writes.append((ap, rules.summary_set({f"e{n}": fact})))
                    raw.append(raw[-1]._replace(coc_kg=-back, total_kg=-back))
    order = draw(st.permutations(writes))
    again = draw(st.lists(st.sampled_from(writes), max_size=len(writes)))
    places = [draw(st.integers(0, len(order) + k)) for k in range(len(again))]
    for write, at in zip(again, places, strict=True):  # redelivered: stored again, at any later time
        order.insert(at, write)
    return raw, drawn, order, entries, receipts


@settings(deadline=None)  # a deep chain takes a while on a loaded machine; the property is not about time
@given(books())
def test_stored_summaries_give_the_shares_of_the_raw_inputs_in_any_order_with_duplicates(b):
    raw, drawn, order, entries, receipts = b
    summaries: dict[str, dict] = {}
    for ap, update in order:
        apply_set(summaries, ap, update)
    expected = walk("site:l0a0|p", raw, drawn)
    stored = walk_stored("site:l0a0|p", summaries, entries, receipts)
    assert [[(r.key, r.share) for r in rows] for rows in stored] == [[(r.key, r.share) for r in rows] for rows in expected]
    assert all(sum(r.share for r in rows) == 1 for rows in stored)
