"""Transformations: the site's declared conversion factor and the yield it allows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from contracts.common import SCRAP_CATEGORIES
from contracts.intake import IntakeReason as R
from contracts.plant import MaterialTransformed, PlantLine
from contracts.registry import Site
from services.intake.domain.checks import Check, category_allowed, kilograms, not_in_future
from services.intake.domain.model import EventRecord
from services.intake.domain.outcomes import Line, TransformationAccepted
from services.intake.domain.rules import IntakeRules


def transformation(
    event: MaterialTransformed,
    site: Site | None,
    replacing: EventRecord | None,
    rules: IntakeRules,
    check: Check,
    now: datetime,
) -> TransformationAccepted | None:
    """The transformation as it would be accepted (None without a site or a declared factor: then
    the check waits or refuses)."""
    not_in_future(event.transformed_on, "transformed_on", now, rules, check)
    inputs = _lines(event.inputs, "inputs", rules, check)
    outputs = _lines(event.outputs, "outputs", rules, check)
    if site is None:
        return None
    _categories(event, site, rules, check)
    factor = next(
        (f.factor for f in site.conversion_factors if f.process_step == event.process_step), None
    )
    if factor is None:
        check.refuse(
            R.NO_DECLARED_YIELD,
            f"site {site.site_id} declared no conversion factor for {event.process_step.value}",
            "process_step",
        )
        return None
    if not check.reasons:
        within_yield(event, inputs, outputs, factor, check)
    return TransformationAccepted(
        event=event,
        organisation_id=site.organisation_id,
        inputs=inputs,
        outputs=outputs,
        conversion_factor=factor,
        replaces=replacing.event_id if replacing is not None else None,
    )


def _lines(
    lines: Sequence[PlantLine], name: str, rules: IntakeRules, check: Check
) -> tuple[Line, ...]:
    out = []
    for i, line in enumerate(lines):
        kg = kilograms(line.quantity, line.unit, f"{name}[{i}].quantity", rules, check)
        if 0 < kg <= rules.max_quantity_kg:  # a refused line builds no movement line
            out.append(Line(line.material_category, line.product_form, kg))
    return tuple(out)


def _categories(event: MaterialTransformed, site: Site, rules: IntakeRules, check: Check) -> None:
    """Inputs are what the site can receive or produce; outputs what it can produce."""
    producible = rules.producible(site.activities)
    consumable = rules.receivable(site.activities) | producible
    for i, line in enumerate(event.inputs):
        category_allowed(
            site,
            line.material_category,
            consumable,
            "consume",
            f"inputs[{i}].material_category",
            check,
        )
    for i, line in enumerate(event.outputs):
        category_allowed(
            site,
            line.material_category,
            producible,
            "produce",
            f"outputs[{i}].material_category",
            check,
        )


def within_yield(
    event: MaterialTransformed,
    inputs: Sequence[Line],
    outputs: Sequence[Line],
    factor: Decimal,
    check: Check,
) -> None:
    """Product outputs (not scrap) may not exceed inputs x factor; all outputs, scrap included, may
    not exceed inputs x max(factor, 1): a step never creates mass."""
    total_in = sum((line.quantity_kg for line in inputs), Decimal(0))
    product = sum(
        (line.quantity_kg for line in outputs if line.material_category not in SCRAP_CATEGORIES),
        Decimal(0),
    )
    total_out = sum((line.quantity_kg for line in outputs), Decimal(0))
    if product > total_in * factor:
        check.refuse(
            R.YIELD_EXCEEDED,
            f"{product} kg of product from {total_in} kg of input exceeds the declared "
            f"yield {factor} for {event.process_step.value}",
            "outputs",
        )
    elif total_out > total_in * max(factor, Decimal(1)):
        check.refuse(
            R.YIELD_EXCEEDED,
            f"{total_out} kg of output (with scrap) from {total_in} kg of input creates mass",
            "outputs",
        )
