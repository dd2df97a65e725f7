"""Mass units to exact kilograms."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Context, Decimal

from contracts.common import MassUnit

KG_PER_UNIT: dict[MassUnit, Decimal] = {
    MassUnit.KG: Decimal(1),
    MassUnit.TONNE: Decimal(1000),
    MassUnit.POUND: Decimal("0.45359237"),  # exact by the 1959 international yard and pound agreement
}
KG_RESOLUTION = Decimal("0.000000001")
"""Nine decimal places (a microgram): what the contracts carry. Only pounds with more than one
decimal place ever need rounding, half to even."""
KG_RESOLUTION_EXPONENT: int = KG_RESOLUTION.as_tuple().exponent  # type: ignore[assignment]


_EXACT = Context(prec=60)
"""Enough digits for any contract quantity times a unit factor: the product is exact."""


def to_kg(quantity: Decimal, unit: MassUnit) -> Decimal:
    kg = _EXACT.multiply(quantity, KG_PER_UNIT[unit])
    if kg.as_tuple().exponent < KG_RESOLUTION_EXPONENT:  # type: ignore[operator]
        kg = kg.quantize(KG_RESOLUTION, rounding=ROUND_HALF_EVEN, context=_EXACT)
    return kg
