"""Credits reserved for claims are the claimant's aluminium, and nothing else may take them. Pure:
no I/O.

Sources: domain.md, Claims ("the claimed aluminium mass covered by CoC Material the claimant
received (and not already used by another claim: no double counting)"; "Claimed mass is spent, not
lent");
`contracts.ledger.AllocateForClaim.mass_kg` ("Aluminium mass to allocate"); issue 15 items 1, 5 and
6.

Credits carry their material (`conversion.py`), so an account's `reserved` mass is mass of
`CLAIM_MATERIAL` credits held for pending claims (`claims_mass.py`). Everything else that takes
credits (designations, transformations, expiry, forfeit at close, reversals) sees only the *spare*
credits: the claim material's credits less the reservation. So a reserved kilogram is never
designated, converted, expired or forfeited, and the claim's debit always finds it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal

from services.accounting.domain.conversion import Material, bucket_material
from services.accounting.domain.rules import ZERO

CLAIM_MATERIAL = Material.ALUMINIUM
"""What an on-pack claim draws on: aluminium credits (a claim covers the aluminium in a product)."""


def is_claim_product(product: str) -> bool:
    """Whether a credit bucket (`<category>|<form>`) can back a claim."""
    return bucket_material(product) is CLAIM_MATERIAL


def claimable_total(buckets: Mapping[str, Decimal]) -> Decimal:
    return sum((v for k, v in buckets.items() if is_claim_product(k)), ZERO)


def claimable_free(buckets: Mapping[str, Decimal], reserved: Decimal) -> Decimal:
    """Claim-material credits not yet reserved: what a new reservation may take."""
    return max(claimable_total(buckets) - reserved, ZERO)


def spare(
    buckets: Mapping[str, Decimal], reserved: Decimal, wanted: Iterable[str] = ()
) -> dict[str, Decimal]:
    """The credits per product that anything but a claim's own debit may take. The reservation is
    charged to the claim-material products not `wanted` first, then to the wanted ones (sorted), so
    the wanted products keep as much as the reservation allows: their spare sum is min(their
    credits, claim-material credits less the reservation)."""
    wanted = set(wanted)
    out = {k: v for k, v in buckets.items() if v > 0}
    left = reserved
    for key in sorted((k for k in out if is_claim_product(k)), key=lambda k: (k in wanted, k)):
        if left <= 0:
            break
        part = min(left, out[key])
        out[key] -= part
        left -= part
    return {k: v for k, v in out.items() if v > 0}


def overdraws(
    buckets: Mapping[str, Decimal], reserved: Decimal, change: Mapping[str, Decimal]
) -> bool:
    """Whether a change of credits (negative: taken) would leave less claim material than is
    reserved."""
    net = sum((v for k, v in change.items() if is_claim_product(k)), ZERO)
    return net < 0 and claimable_total(buckets) + net < reserved


def expirable(
    due: list[tuple[str, date, Decimal]], reserved: Decimal
) -> list[tuple[str, date, Decimal]]:
    """Of the credits past their lifetime (product, vintage, kg; oldest first), those that expire:
    all but
    `reserved` kg of the claim material, which pending claims hold. A claim's debit takes the oldest
    credits, so the reserved ones are the oldest and never expire; the amount is what counts (the
    layers kept back are the youngest of those due, so the expiry entry takes the oldest, as it
    says)."""
    keep = reserved
    kept: list[tuple[str, date, Decimal]] = []
    for product, vintage, value in reversed(due):
        if keep > 0 and is_claim_product(product):
            held = min(keep, value)
            keep -= held
            value -= held
        if value > 0:
            kept.append((product, vintage, value))
    return kept[::-1]
