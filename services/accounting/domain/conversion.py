"""Conversion: credits carry their material, and a transformation creates credits once. Pure: no
I/O.

Sources: domain.md ("Credits carry their material (bauxite, alumina, aluminium, eligible scrap):
alumina credits become aluminium credits only through a reported transformation with its factor,
never one for one"; "CoC input mass times the step's conversion factor becomes credits"), issue 15
item 6 (process scrap recirculated at the same site is not CoC input a second time).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from contracts.common import SCRAP_CATEGORIES, MaterialCategory
from contracts.movements import MovementLine
from services.accounting.domain.rules import ZERO, Rounding


class Material(StrEnum):
    """What credits are of: a designation draws only on credits of the material it ships."""

    BAUXITE = "bauxite"
    ALUMINA = "alumina"
    ALUMINIUM = "aluminium"
    ELIGIBLE_SCRAP = "eligible_scrap"


def material_of(category: MaterialCategory | str) -> Material:
    category = MaterialCategory(category)
    if category in SCRAP_CATEGORIES:
        return Material.ELIGIBLE_SCRAP
    return Material(category.value)


def bucket_key(category: MaterialCategory | str, product_form: str) -> str:
    """Credits are kept per product (material category and product form) in output-equivalent kg."""
    return f"{MaterialCategory(category).value}|{product_form}"


def bucket_material(key: str) -> Material:
    return material_of(key.partition("|")[0])


def usable_for(
    buckets: Iterable[str], category: MaterialCategory, product_form: str, by_product: bool
) -> list[str]:
    """The credit buckets a designation of this product may draw on: the product itself when the
    rule set keeps credits by product, else any product of the same material. Never another
    material."""
    if by_product:
        key = bucket_key(category, product_form)
        return [key] if key in buckets else []
    material = material_of(category)
    return sorted(k for k in buckets if bucket_material(k) is material)


def is_process_scrap(line: MovementLine) -> bool:
    """A scrap output of a transformation: the loss part of the step's yield, recirculated or
    sold."""
    return line.material_category in SCRAP_CATEGORIES


@dataclass(frozen=True)
class Conversion:
    """What one transformation does to the credits: `taken` per input product, `made` per output
    product."""

    taken: dict[str, Decimal]
    made: dict[str, Decimal]
    input_kg: Decimal
    coc_input_kg: Decimal
    product_kg: Decimal
    scrap_kg: Decimal

    @property
    def created(self) -> Decimal:
        return sum(self.made.values(), ZERO)

    def change(self) -> dict[str, Decimal]:
        change: dict[str, Decimal] = {}
        for key, value in self.taken.items():
            change[key] = change.get(key, ZERO) - value
        for key, value in self.made.items():
            change[key] = change.get(key, ZERO) + value
        return {k: v for k, v in change.items() if not v.is_zero()}


def convert(
    inputs: list[MovementLine],
    outputs: list[MovementLine],
    factor: Decimal,
    held: Mapping[str, Decimal],
    free: Decimal,
    rounding: Rounding,
) -> Conversion:
    """Credits follow the metal, once: the credits held in the input products (per line at most its
    mass, in total at most the free credits) times the step's factor become credits of the product
    outputs, split by mass and capped at their mass. Scrap outputs get none: the factor already is
    the step's yield, so recirculated process scrap carries no credits into the next run (it would
    be CoC input a second time), and spreading credits over it would lose them from the product."""
    taken, consumed = _take_inputs(inputs, held, free, rounding)
    products = [line for line in outputs if not is_process_scrap(line)] or list(outputs)
    product_mass = sum((line.quantity_kg for line in products), Decimal(0))
    scrap_mass = sum((line.quantity_kg for line in outputs), Decimal(0)) - product_mass
    produced = min(rounding.credit(consumed * factor), rounding.credit(product_mass))
    return Conversion(
        taken=taken,
        made=_split_by_mass(produced, products, product_mass, rounding),
        input_kg=rounding.debit(sum((line.quantity_kg for line in inputs), Decimal(0))),
        coc_input_kg=consumed,
        product_kg=rounding.credit(product_mass),
        scrap_kg=rounding.credit(scrap_mass),
    )


def _take_inputs(
    inputs: list[MovementLine], held: Mapping[str, Decimal], free: Decimal, rounding: Rounding
) -> tuple[dict[str, Decimal], Decimal]:
    """The credits each input line takes from its product's (at most the line's mass and what the
    product holds, in all at most the free credits), and their total."""
    taken: dict[str, Decimal] = {}
    consumed = ZERO
    for line in inputs:
        key = bucket_key(line.material_category, line.product_form)
        available = held.get(key, ZERO) - taken.get(key, ZERO)
        take = min(available, rounding.debit(line.quantity_kg), free - consumed)
        if take > 0:
            taken[key] = taken.get(key, ZERO) + take
            consumed += take
    return taken, consumed


def _split_by_mass(
    produced: Decimal, products: list[MovementLine], product_mass: Decimal, rounding: Rounding
) -> dict[str, Decimal]:
    """The credits produced, split over the product outputs by mass, per product."""
    made: dict[str, Decimal] = {}
    for line in products:
        key = bucket_key(line.material_category, line.product_form)
        share = rounding.credit(produced * line.quantity_kg / product_mass)
        if share > 0:
            made[key] = made.get(key, ZERO) + share
    return made
