"""Recycled content from the books (issue 18 item 4, `domain/recycled.py`): pre- and
post-consumer shares computed from eligible scrap inputs through the conversion steps, never
typed by the producer."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.common import Classification, ProcessStep
from contracts.common import MaterialCategory as Cat
from services.accounting.domain import claims_mass, recycled
from services.accounting.domain.ledger import DocumentDue
from tests.unit.accounting.factories import NOW, cancel, group, ledger, receipt, ship, transform

GROUP = "v3-draft-group-credit"
PERCENTAGE = "v2-2022-group-percentage"


def scrap(kg: str, category: Cat, form: str, **kwargs):
    return receipt(
        kg,
        kg,
        category=category,
        form=form,
        classification=Classification.ELIGIBLE_SCRAP,
        document=None,
        **kwargs,
    )


def documents(outcomes):
    return [o.document for o in outcomes if isinstance(o, DocumentDue)]


def remelt_and_roll(books, **kwargs):
    """1 000 kg post-consumer and 500 kg pre-consumer scrap remelted at 0.9 beside 1 650 kg of
    primary ingot (3 000 kg of ingot credits: 450 pre, 900 post), then 2 000 kg of ingot rolled at
    0.8 into 1 600 kg of sheet
    and 400 kg of offcuts (process scrap: no credits)."""
    books.apply(scrap("1000", Cat.POST_CONSUMER_SCRAP, "bales", **kwargs), NOW)
    books.apply(scrap("500", Cat.PRE_CONSUMER_SCRAP, "turnings", **kwargs), NOW)
    books.apply(receipt("1650", "1650", document="doc-primary", pre="0", post="0", **kwargs), NOW)
    books.apply(
        transform(
            [
                (Cat.POST_CONSUMER_SCRAP, "bales", "1000"),
                (Cat.PRE_CONSUMER_SCRAP, "turnings", "500"),
            ],
            [(Cat.ALUMINIUM, "ingot", "1350")],
            "0.9",
            step=ProcessStep.REMELTING,
            **kwargs,
        ),
        NOW,
    )
    books.apply(
        transform(
            [(Cat.ALUMINIUM, "ingot", "2000")],
            [(Cat.ALUMINIUM, "sheet", "1600"), (Cat.PRE_CONSUMER_SCRAP, "offcuts", "400")],
            "0.8",
            step=ProcessStep.ROLLING,
            **kwargs,
        ),
        NOW,
    )


def test_scrap_inputs_give_the_exact_split_through_remelting_and_rolling():
    books = ledger(GROUP)
    remelt_and_roll(books)
    flows = books.accounts[group()].period.recycled
    assert flows["aluminium|ingot"] == {
        "coc_kg": Decimal(3000),
        "pre_consumer_kg": Decimal(450),
        "post_consumer_kg": Decimal(900),
    }
    assert flows["aluminium|sheet"] == {
        "coc_kg": Decimal(1600),
        "pre_consumer_kg": Decimal(240),
        "post_consumer_kg": Decimal(480),
    }
    assert (
        "pre_consumer_scrap|offcuts" not in flows
    )  # in-house process scrap is never recycled content
    [document] = documents(books.apply(ship("1000", "1000", form="sheet"), NOW))
    assert (
        document.recycled_pre_consumer_share,
        document.recycled_post_consumer_share,
        document.recycled_content_share,
    ) == (Decimal("0.15"), Decimal("0.3"), Decimal("0.45"))
    assert document.recycled_content_method == recycled.METHOD and "ISO 14021" in recycled.METHOD
    assert (document.recycled_content_period_start, document.recycled_content_period_end) == (
        date(2026, 1, 1),
        date(2026, 12, 31),
    )


def test_the_share_follows_the_yield_of_each_step_not_the_input_mass():
    """2 200 kg of alumina smelted at 0.5 and 1 000 kg of post-consumer scrap remelted at 0.9:
    900 of the 2 000 kg of metal is recycled (0.45), where a share of the inputs would say
    1 000 / 3 200."""
    books = ledger(GROUP)
    books.apply(
        receipt("2200", "2200", category=Cat.ALUMINA, form="powder", pre="0", post="0"), NOW
    )
    books.apply(scrap("1000", Cat.POST_CONSUMER_SCRAP, "bales"), NOW)
    books.apply(
        transform([(Cat.ALUMINA, "powder", "2200")], [(Cat.ALUMINIUM, "ingot", "1100")], "0.5"), NOW
    )
    books.apply(
        transform(
            [(Cat.POST_CONSUMER_SCRAP, "bales", "1000")],
            [(Cat.ALUMINIUM, "ingot", "900")],
            "0.9",
            step=ProcessStep.REMELTING,
        ),
        NOW,
    )
    [document] = documents(books.apply(ship("2000", "2000"), NOW))
    assert (
        document.recycled_pre_consumer_share,
        document.recycled_post_consumer_share,
        document.recycled_content_share,
    ) == (Decimal(0), Decimal("0.45"), Decimal("0.45"))


def test_a_document_split_received_upstream_is_carried_downstream():
    books = ledger(GROUP)
    books.apply(receipt("1000", "1000", document="doc-up", pre="0.1", post="0.3"), NOW)
    books.apply(
        transform(
            [(Cat.ALUMINIUM, "ingot", "1000")],
            [(Cat.ALUMINIUM, "sheet", "800")],
            "0.8",
            step=ProcessStep.ROLLING,
        ),
        NOW,
    )
    [document] = documents(books.apply(ship("800", "800", form="sheet"), NOW))
    assert (document.recycled_pre_consumer_share, document.recycled_post_consumer_share) == (
        Decimal("0.1"),
        Decimal("0.3"),
    )


def test_any_input_of_unknown_composition_leaves_the_share_unstated():
    books = ledger(GROUP)
    books.apply(scrap("1000", Cat.POST_CONSUMER_SCRAP, "bales"), NOW)
    books.apply(
        receipt("1000", "1000", document="doc-no-split", recycled="0.3"), NOW
    )  # a total, no split
    books.apply(
        transform(
            [(Cat.POST_CONSUMER_SCRAP, "bales", "1000")],
            [(Cat.ALUMINIUM, "ingot", "900")],
            "0.9",
            step=ProcessStep.REMELTING,
        ),
        NOW,
    )
    [document] = documents(books.apply(ship("100", "100"), NOW))
    assert (
        document.recycled_content_share,
        document.recycled_pre_consumer_share,
        document.recycled_post_consumer_share,
        document.recycled_content_method,
    ) == (None, None, None, None)


def test_a_typed_total_share_on_a_receipt_never_becomes_recycled_content():
    """Only eligible scrap and the split a CoC Document states count: a total share alone (the old
    path) is unknown composition, so nothing typed without the books' split is stated."""
    books = ledger(GROUP)
    books.apply(receipt("1000", "1000", document="doc-typed", recycled="1"), NOW)
    [document] = documents(books.apply(ship("500", "500"), NOW))
    assert document.recycled_content_share is None


def test_credits_carried_into_the_next_period_keep_their_composition():
    books = ledger(GROUP)
    remelt_and_roll(books, day=date(2025, 6, 1))
    [document] = documents(
        books.apply(ship("1000", "1000", form="sheet", day=date(2026, 2, 1)), NOW)
    )
    assert books.accounts[group()].period.period_id == "2026-01-01"
    assert (document.recycled_pre_consumer_share, document.recycled_post_consumer_share) == (
        Decimal("0.15"),
        Decimal("0.3"),
    )
    assert (document.recycled_content_period_start, document.recycled_content_period_end) == (
        date(2026, 1, 1),
        date(2026, 12, 31),
    )
    [closed] = [s for s in books.statements if s.period_id == "2025-01-01"]
    sheet = next(r for r in closed.recycled_content if r.product_form == "sheet")
    assert (
        sheet.material_category,
        sheet.coc_kg,
        sheet.pre_consumer_kg,
        sheet.post_consumer_kg,
        sheet.pre_consumer_share,
        sheet.post_consumer_share,
    ) == (Cat.ALUMINIUM, Decimal(1600), Decimal(240), Decimal(480), Decimal("0.15"), Decimal("0.3"))
    assert closed.recycled_content_method == recycled.METHOD


def test_a_cancelled_scrap_receipt_takes_its_recycled_content_back():
    books = ledger(GROUP)
    received = scrap("1000", Cat.POST_CONSUMER_SCRAP, "bales")
    books.apply(received, NOW)
    books.apply(
        receipt(
            "1000",
            "1000",
            document="doc-primary",
            pre="0",
            post="0",
            form="bales",
            category=Cat.ALUMINIUM,
        ),
        NOW,
    )
    books.apply(cancel(received.movement_id), NOW)
    assert "post_consumer_scrap|bales" not in books.accounts[group()].period.recycled


def test_the_percentage_method_states_the_share_of_the_credits_it_draws():
    books = ledger(PERCENTAGE)
    books.apply(scrap("1000", Cat.POST_CONSUMER_SCRAP, "bales"), NOW)
    books.apply(
        transform(
            [(Cat.POST_CONSUMER_SCRAP, "bales", "1000")],
            [(Cat.ALUMINIUM, "ingot", "900")],
            "0.9",
            step=ProcessStep.REMELTING,
        ),
        NOW,
    )
    books.apply(receipt("2700", "900", document="doc-primary", pre="0.2", post="0"), NOW)
    [document] = documents(books.apply(ship("1000", "450", form="ingot"), NOW))
    # 1 800 kg of ingot credits: 900 post-consumer (the scrap), 180 pre-consumer (the document)
    assert (document.recycled_pre_consumer_share, document.recycled_post_consumer_share) == (
        Decimal("0.1"),
        Decimal("0.5"),
    )


def test_an_allocation_quotes_the_mass_weighted_split_of_its_documents():
    books = ledger(GROUP, org="brand")
    books.apply(
        receipt(
            "300", "300", org="brand", document="doc-1", pre="0.2", post="0.5", day=date(2026, 3, 1)
        ),
        NOW,
    )
    books.apply(
        receipt(
            "100", "100", org="brand", document="doc-2", pre="0", post="0.1", day=date(2026, 4, 1)
        ),
        NOW,
    )
    allocation = claims_mass.allocate(books, "claim-1", "brand", Decimal(400), date(2026, 6, 1))[
        -1
    ].allocation
    assert [
        (d.document_id, d.recycled_pre_consumer_share, d.recycled_post_consumer_share)
        for d in allocation.documents
    ] == [("doc-1", Decimal("0.2"), Decimal("0.5")), ("doc-2", Decimal(0), Decimal("0.1"))]
    assert (
        allocation.recycled_pre_consumer_share,
        allocation.recycled_post_consumer_share,
        allocation.recycled_content_share,
    ) == (Decimal("0.15"), Decimal("0.4"), Decimal("0.55"))


def test_an_allocation_with_a_document_without_split_quotes_no_split():
    books = ledger(GROUP, org="brand")
    books.apply(receipt("300", "300", org="brand", document="doc-1", pre="0.2", post="0.5"), NOW)
    books.apply(receipt("100", "100", org="brand", document="doc-2", recycled="0.1"), NOW)
    allocation = claims_mass.allocate(books, "claim-1", "brand", Decimal(400), date(2026, 6, 1))[
        -1
    ].allocation
    assert (allocation.recycled_pre_consumer_share, allocation.recycled_post_consumer_share) == (
        None,
        None,
    )
    assert allocation.recycled_content_share == Decimal("0.55")


# ---- the property ---------------------------------------------------------------------------

grams = st.integers(min_value=1, max_value=2_000_000).map(lambda g: Decimal(g) / 1000)
shares = st.integers(min_value=0, max_value=1000).map(lambda n: Decimal(n) / 1000)


@st.composite
def plant_history(draw):
    ops = []
    for _ in range(draw(st.integers(min_value=1, max_value=20))):
        kind = draw(st.sampled_from(["scrap", "primary", "remelt", "roll", "ship"]))
        if kind == "scrap":
            category = draw(st.sampled_from([Cat.PRE_CONSUMER_SCRAP, Cat.POST_CONSUMER_SCRAP]))
            ops.append(scrap(str(draw(grams)), category, "bales"))
        elif kind == "primary":
            pre = draw(shares)
            post = draw(shares.filter(lambda s, pre=pre: s <= 1 - pre))
            kg = draw(grams)
            ops.append(
                receipt(
                    str(kg),
                    str(kg),
                    form=draw(st.sampled_from(["ingot", "sheet"])),
                    document=f"doc-{len(ops)}",
                    pre=str(pre),
                    post=str(post),
                )
            )
        elif kind == "remelt":
            ops.append(
                transform(
                    [
                        (
                            draw(
                                st.sampled_from([Cat.PRE_CONSUMER_SCRAP, Cat.POST_CONSUMER_SCRAP])
                            ),
                            "bales",
                            str(draw(grams)),
                        ),
                        (Cat.ALUMINIUM, "ingot", str(draw(grams))),
                    ],
                    [(Cat.ALUMINIUM, "ingot", str(draw(grams)))],
                    draw(st.sampled_from(["0.9", "0.97", "1"])),
                    step=ProcessStep.REMELTING,
                )
            )
        elif kind == "roll":
            ops.append(
                transform(
                    [(Cat.ALUMINIUM, "ingot", str(draw(grams)))],
                    [
                        (Cat.ALUMINIUM, "sheet", str(draw(grams))),
                        (Cat.PRE_CONSUMER_SCRAP, "offcuts", str(draw(grams))),
                    ],
                    draw(st.sampled_from(["0.7", "0.8", "0.9"])),
                    step=ProcessStep.ROLLING,
                )
            )
        else:
            kg = draw(grams)
            ops.append(
                ship(
                    str(kg),
                    str(draw(grams).min(kg)),
                    form=draw(st.sampled_from(["ingot", "sheet"])),
                )
            )
    return ops


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plant_history(), st.sampled_from([GROUP, PERCENTAGE]))
def test_every_stated_share_is_within_0_and_1_and_pre_plus_post_is_the_total(ops, rule_set):
    books = ledger(rule_set)
    for op in ops:
        for document in documents(books.apply(op, NOW)):
            share = document.recycled_content_share
            if share is None:
                assert (
                    document.recycled_pre_consumer_share is None
                    and document.recycled_post_consumer_share is None
                )
                continue
            pre, post = document.recycled_pre_consumer_share, document.recycled_post_consumer_share
            assert pre is not None and post is not None
            assert 0 <= pre <= 1 and 0 <= post <= 1 and 0 <= share <= 1
            assert pre + post == share
        account = books.accounts.get(group())
        for values in account.period.recycled.values() if account else ():
            assert (
                values.get("pre_consumer_kg", 0) + values.get("post_consumer_kg", 0)
                <= values["coc_kg"]
            )
