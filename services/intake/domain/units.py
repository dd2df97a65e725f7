"""Mass units to exact kilograms."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Context, Decimal

from contracts.common import MassUnit

KG_PER_UNIT: dict[MassUnit, Decimal] = {
    MassUnit.KG: Decimal(1),
    MassUnit.TONNE: Decimal(1000),
    # exact by the 1959 international yard and pound agreement:
    MassUnit.POUND: Decimal("0.45359237"),
}
KG_RESOLUTION = Decimal("0.000000001")
"""Nine decimal places (a microgram): what the contracts carry. Only pounds with more than one
decimal place ever need rounding, half to even."""


def exponent(value: Decimal) -> int:
    """The decimal exponent of a finite quantity (contracts refuse NaN and infinities)."""
    exp = value.as_tuple().exponent
    if isinstance(exp, str):
        raise ValueError(f"{value} is not a finite quantity")
    return exp


KG_RESOLUTION_EXPONENT = exponent(KG_RESOLUTION)


_EXACT = Context(prec=60)
"""Enough digits for any contract quantity times a unit factor: the product is exact."""


def to_kg(quantity: Decimal, unit: MassUnit) -> Decimal:
    kg = _EXACT.multiply(quantity, KG_PER_UNIT[unit])
    if exponent(kg) < KG_RESOLUTION_EXPONENT:
        kg = kg.quantize(KG_RESOLUTION, rounding=ROUND_HALF_EVEN, context=_EXACT)
    return kg
