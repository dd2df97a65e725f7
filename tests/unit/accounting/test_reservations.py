"""The reservation rules (`domain/reservations.py`) on exact figures: what a reservation may take,
what the rest of the books may take around it, when a change overdraws it, and what expires. Written
against the survivors of `make mutation SERVICE=accounting MODULE=reservations` (2026-12-03)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from services.accounting.domain.reservations import (
    claimable_free,
    claimable_total,
    expirable,
    overdraws,
    spare,
)

INGOT, SHEET, ALUMINA = "aluminium|ingot", "aluminium|sheet", "alumina|alumina"
D = Decimal


def test_claimable_total_counts_only_aluminium_and_is_an_exact_decimal():
    assert claimable_total({INGOT: D("10.5"), SHEET: D("2"), ALUMINA: D("100")}) == D("12.5")
    empty = claimable_total({ALUMINA: D("100")})
    assert empty == 0 and isinstance(empty, Decimal), (
        "no claim material: a Decimal zero, not the int 0"
    )


def test_a_new_reservation_may_take_the_claim_material_less_what_is_reserved_never_below_zero():
    assert claimable_free({INGOT: D("100"), ALUMINA: D("50")}, D("30")) == D("70")
    assert claimable_free({INGOT: D("100")}, D("100")) == 0
    assert claimable_free({INGOT: D("100")}, D("130")) == 0


def test_spare_charges_the_reservation_to_the_products_not_wanted_first():
    buckets = {INGOT: D("20"), SHEET: D("20"), ALUMINA: D("5")}
    # 30 kg reserved: the 20 of the product not wanted first, then 10 of the wanted one
    assert spare(buckets, D("30"), wanted=[INGOT]) == {INGOT: D("10"), ALUMINA: D("5")}
    assert spare(buckets, D("30"), wanted=[SHEET]) == {SHEET: D("10"), ALUMINA: D("5")}
    # nothing wanted: by product name
    assert spare(buckets, D("30")) == {SHEET: D("10"), ALUMINA: D("5")}


def test_spare_charges_a_reservation_under_one_kilogram_and_leaves_out_what_it_empties():
    assert spare({INGOT: D("10")}, D("0.5")) == {INGOT: D("9.5")}
    assert spare({INGOT: D("30"), ALUMINA: D("1")}, D("30")) == {ALUMINA: D("1")}, (
        "an emptied product is not listed"
    )
    assert spare({INGOT: D("0"), ALUMINA: D("1")}, D("0")) == {ALUMINA: D("1")}


def test_a_change_overdraws_only_when_it_takes_claim_material_below_the_reservation():
    assert overdraws({INGOT: D("100")}, D("80"), {INGOT: D("-30")})
    assert not overdraws({INGOT: D("100")}, D("80"), {INGOT: D("-20")})
    assert not overdraws({INGOT: D("100")}, D("80"), {ALUMINA: D("-500")}), "other material: never"
    # already under its reservation (it happens when a receipt is cancelled): a change that takes
    # nothing, or adds a little, does not overdraw
    assert not overdraws({INGOT: D("50")}, D("100"), {INGOT: D("0")})
    assert not overdraws({INGOT: D("50")}, D("100"), {INGOT: D("0.5")})


def test_expiry_keeps_the_reserved_claim_material_and_every_layer_however_small():
    day = date(2026, 1, 1)
    due = [(INGOT, day, D("0.5")), (ALUMINA, day, D("0.25"))]
    assert expirable(due, D("0")) == due
    assert expirable([(INGOT, day, D("10")), (INGOT, date(2026, 2, 1), D("5"))], D("7")) == [
        (INGOT, day, D("8"))
    ]
