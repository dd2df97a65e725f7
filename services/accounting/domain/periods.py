"""Periods reconcile, credits age: the period-level percentage check and credit vintages. Pure: no
I/O.

Sources: domain.md ("percentage (ASI V2): per period and scope, the CoC share of outputs may not
exceed the CoC share of inputs"; "Whether a positive balance carries into the next period is a
rule-set flag (verify)"), issue 15 items 4 and 5. How an overshoot is handled and how long credits
live are rule-set parameters (`rules.RuleSet.overshoot`, `credit_lifetime_months`), marked (verify).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from services.accounting.domain.rules import ZERO, RuleSet, add_months, round_down


def allowed_coc_output(coc_input: Decimal, total_input: Decimal, total_output: Decimal) -> Decimal:
    """The most CoC output the percentage rule allows: coc_out / total_out <= coc_in / total_in,
    rounded down to the gram (no input: nothing)."""
    if total_input <= 0:
        return ZERO
    return round_down(coc_input * total_output / total_input)


def overshoot(
    coc_input: Decimal, total_input: Decimal, coc_output: Decimal, total_output: Decimal
) -> Decimal:
    """CoC output of a whole period beyond what its inputs allow (exact: compared by
    cross-multiplying)."""
    if coc_output <= 0:
        return ZERO
    if total_input <= 0:
        return coc_output
    if coc_output * total_input <= coc_input * total_output:
        return ZERO
    return coc_output - allowed_coc_output(coc_input, total_input, total_output)


# ---- vintages: credits age from the day they were created
# -----------------------------------------


def layer_key(product: str, vintage: date) -> str:
    return f"{product}@{vintage.isoformat()}"


def split_layer(key: str) -> tuple[str, date]:
    product, _, vintage = key.rpartition("@")
    return product, date.fromisoformat(vintage)


def _set(layers: dict[str, Decimal], key: str, value: Decimal) -> None:
    if value.is_zero():
        layers.pop(key, None)
    else:
        layers[key] = value


def add(layers: dict[str, Decimal], product: str, vintage: date, amount: Decimal) -> None:
    key = layer_key(product, vintage)
    _set(layers, key, layers.get(key, ZERO) + amount)


def oldest(layers: dict[str, Decimal], products: Iterable[str]) -> date | None:
    wanted = set(products)
    days = [split_layer(k)[1] for k in layers if split_layer(k)[0] in wanted]
    return min(days) if days else None


def take(
    layers: dict[str, Decimal], product: str, amount: Decimal, prefer: date | None = None
) -> date | None:
    """Take `amount` of a product's credits, the `prefer`red vintage first, then oldest first;
    returns the oldest vintage taken. The caller has checked the product holds enough. (ISO dates
    sort as
    text.)"""
    prefix = f"{product}@"
    keys = sorted(k for k in layers if k.startswith(prefix))
    if prefer is not None and layer_key(product, prefer) in layers:
        keys.remove(layer_key(product, prefer))
        keys.insert(0, layer_key(product, prefer))
    left, first = amount, None
    for key in keys:
        if left <= 0:
            break
        part = min(left, layers[key])
        _set(layers, key, layers[key] - part)
        left -= part
        vintage = key[len(prefix) :]
        first = vintage if first is None else min(first, vintage)
    if left > 0:  # the caller checks the product holds enough: this is a bug, not a refusal
        raise ValueError(f"{product}: {left} kg more than its layers hold")
    return date.fromisoformat(first) if first is not None else None


def draw_order(layers: dict[str, Decimal], products: Iterable[str]) -> list[tuple[str, Decimal]]:
    """The allowed products' credits, oldest first: what a debit takes (product, amount
    available)."""
    wanted = set(products)
    ordered = sorted(
        (split_layer(k)[1], split_layer(k)[0], v)
        for k, v in layers.items()
        if split_layer(k)[0] in wanted
    )
    return [(product, value) for _, product, value in ordered]


def expiring(
    layers: dict[str, Decimal], rules: RuleSet, day: date
) -> list[tuple[str, date, Decimal]]:
    """Layers whose lifetime has ended by `day`: (product, vintage, amount), oldest first."""
    if rules.credit_lifetime_months is None or not layers:
        return []
    # a vintage (a month's first day) expires once `lifetime` months later has begun
    cutoff = add_months(day.replace(day=1), -rules.credit_lifetime_months).isoformat()
    out = []
    for key, value in layers.items():
        if key.rpartition("@")[2] <= cutoff:
            product, vintage = split_layer(key)
            out.append((product, vintage, value))
    return sorted(out, key=lambda item: (item[1], item[0]))
