"""The percentage rule's arithmetic and the credit layers (`domain/periods.py`) on exact figures:
sub-kilogram inputs, empty inputs, which vintage a debit takes and reports, expiry order. Written
against the survivors of `make mutation SERVICE=accounting MODULE=periods` (2026-12-03)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from services.accounting.domain.periods import (
    add,
    allowed_coc_output,
    expiring,
    layer_key,
    overshoot,
    split_layer,
    take,
)
from services.accounting.domain.rules import V3_DRAFT_SITE_CREDIT

D = Decimal
JAN, FEB, MAR = date(2025, 1, 1), date(2025, 2, 1), date(2025, 3, 1)


def test_the_percentage_rule_holds_below_one_kilogram_of_input():
    assert allowed_coc_output(D("0.25"), D("0.5"), D("1")) == D("0.5")
    assert allowed_coc_output(D("5"), D("0"), D("10")) == 0, "no input, no CoC output"


def test_overshoot_is_the_coc_output_beyond_what_the_inputs_allow():
    assert overshoot(D("60"), D("100"), D("50"), D("100")) == 0
    assert overshoot(D("60"), D("100"), D("70"), D("100")) == D("10")
    assert overshoot(D("0"), D("10"), D("0.5"), D("10")) == D("0.5"), (
        "half a kilogram too much is too much"
    )
    assert overshoot(D("0"), D("0"), D("5"), D("10")) == D("5"), (
        "CoC output without any input: all of it"
    )
    assert overshoot(D("0.25"), D("0.5"), D("0.5"), D("1")) == 0, (
        "exactly the share of a sub-kilogram input"
    )


def test_a_product_form_may_hold_an_at_sign():
    key = layer_key("aluminium|sheet@coil", FEB)
    assert split_layer(key) == ("aluminium|sheet@coil", FEB)
    assert expiring({key: D("5")}, V3_DRAFT_SITE_CREDIT, date(2026, 3, 1)) == [
        ("aluminium|sheet@coil", FEB, D("5"))
    ]


def test_adding_nothing_to_an_empty_layer_leaves_no_layer():
    layers: dict[str, Decimal] = {}
    add(layers, "aluminium|ingot", JAN, D("0"))
    assert layers == {}


def test_take_reports_the_oldest_vintage_it_took_from():
    product = "aluminium|ingot"
    layers = {
        layer_key(product, JAN): D("10"),
        layer_key(product, MAR): D("10"),
        layer_key(product, FEB): D("10"),
    }
    assert take(dict(layers), product, D("5")) == JAN, "oldest first, the later layers untouched"
    assert take(dict(layers), product, D("15"), prefer=MAR) == JAN
    assert take(dict(layers), product, D("15"), prefer=JAN) == JAN, (
        "the preferred oldest, then February"
    )
    assert take(dict(layers), product, D("0")) is None
    with pytest.raises(ValueError, match=r"aluminium\|ingot: 0\.5 kg more"):
        take(dict(layers), product, D("30.5"))


def test_expiring_layers_come_oldest_first_then_by_product():
    layers = {
        layer_key("b|x", FEB): D("3"),
        layer_key("c|x", JAN): D("1"),
        layer_key("a|x", JAN): D("2"),
    }
    assert expiring(layers, V3_DRAFT_SITE_CREDIT, date(2026, 3, 1)) == [
        ("a|x", JAN, D("2")),
        ("c|x", JAN, D("1")),
        ("b|x", FEB, D("3")),
    ]
