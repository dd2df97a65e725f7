"""Accounting's answers to an allocation request (`ledger.events.v1`), read in the saga's words: the
allocation granted, or why the mass could not be allocated."""

from __future__ import annotations

from decimal import Decimal

from contracts.claims import ClaimReason
from contracts.common import Reason
from contracts.ledger import AllocationGranted, AllocationRefused, LedgerCommandRejected
from services.claims.domain.checks import Allocation


def allocation_of(granted: AllocationGranted) -> Allocation:
    return Allocation(
        mass_kg=granted.mass_kg,
        account_ids=tuple(granted.account_ids),
        document_ids=tuple(d.document_id for d in granted.documents),
        recycled_content_share=granted.recycled_content_share,
        recycled_pre_consumer_share=granted.recycled_pre_consumer_share,
        recycled_post_consumer_share=granted.recycled_post_consumer_share,
        carbon_footprint_kg_co2e_per_kg=granted.carbon_footprint_kg_co2e_per_kg,
        documented_mass_kg=sum((d.mass_kg for d in granted.documents), Decimal(0)),
    )


def refused_because(refused: AllocationRefused) -> str:
    codes = ", ".join(r.code for r in refused.reasons)
    return (
        f"accounting could not allocate {refused.requested_kg} kg: "
        f"{refused.available_kg} kg of CoC credits free ({codes})"
    )


def rejected_because(rejected: LedgerCommandRejected) -> str:
    codes = ", ".join(f"{r.code}: {r.message}" for r in rejected.reasons)
    return f"accounting rejected the allocation request ({codes})"[:2000]


def not_allocated_reasons(why: str, claimant: str, held_by: list[str]) -> list[Reason]:
    """Accounting refused the mass; `held_by`: the other claims holding the owner's CoC mass."""
    reasons = [Reason(code=ClaimReason.MASS_NOT_COVERED, field="product", message=why)]
    if held_by:
        reasons.append(
            Reason(
                code=ClaimReason.MASS_ALREADY_CLAIMED,
                field="product",
                message=f"the CoC mass {claimant} received already backs claim"
                f"{'s' if len(held_by) > 1 else ''} {', '.join(held_by)}"[:2000],
            )
        )
    return reasons


def timeout_reason() -> Reason:
    return Reason(
        code=ClaimReason.ALLOCATION_TIMEOUT,
        field="product",
        message="accounting did not answer the allocation request in time",
    )
