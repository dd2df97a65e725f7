"""Plausibility checks (issue 18 item 7): alerts for the secretariat, each naming its evidence.
None of them blocks a decision: the claim goes on as its checks say. Pure: no I/O.

No scheme text defines these checks (issue 18: "no scheme we know has it"); they are ours.
- Same product and artwork in two open claims (pending, awaiting review, approved): one pack would
  carry two claims, or one claim was requested twice under two ids (double counting of the mass).
- Claimed mass above what the CoC Documents behind the allocation supply: accounting may pool
  credits at group level or across conversion steps, so the books can cover a claim that no
  document received by the brand does; the secretariat should see it.
- A site's CoC output above its declared capacity is not checked here: no capacity is declared
  anywhere in the platform (the site registration has none) and claims does not see production.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from contracts.claims import ClaimReason, ClaimRequested
from contracts.common import Reason
from services.claims.domain.checks import Allocation, claimed_mass
from services.claims.domain.effects import Alert, Status

OPEN = frozenset({Status.PENDING, Status.AWAITING_REVIEW, Status.APPROVED})
"""Claims whose pack may be on shelves or about to be: the ones a duplicate matters for."""


def same_product_and_artwork(
    request: ClaimRequested, own: str, open_claims: Iterable[str]
) -> list[Alert]:
    """An alert when other open claims name this request's product and artwork. Claims are named
    by `saga.claim_ref` (owner and claim id: any owner's claim may be among them); `own` is this
    one's."""
    others = sorted(set(open_claims) - {own})
    if not others:
        return []
    product, artwork = request.product.product_id, request.artwork_reference
    return [
        Alert(
            reason=Reason(
                code=ClaimReason.SAME_PRODUCT_AND_ARTWORK,
                field="artwork_reference",
                message=f"product {product} with artwork {artwork} is also in open claim"
                f"{'s' if len(others) > 1 else ''} {', '.join(others)}"[:2000],
            ),
            product_id=product,
            artwork_reference=artwork,
            related_claim_ids=tuple(others),
        )
    ]


def above_documented_supply(request: ClaimRequested, allocation: Allocation) -> list[Alert]:
    """An alert when the CoC Documents behind the allocation supply less than the claimed mass."""
    claimed = claimed_mass(request)
    documented = allocation.documented_mass_kg
    if claimed is None or documented is None or documented >= claimed:
        return []
    return [
        Alert(
            reason=Reason(
                code=ClaimReason.CLAIMED_ABOVE_DOCUMENTED_SUPPLY,
                field="product",
                message=f"{claimed} kg claimed; the CoC Documents behind the allocation supply "
                f"{documented} kg ({len(allocation.document_ids)} document"
                f"{'' if len(allocation.document_ids) == 1 else 's'})",
            ),
            product_id=request.product.product_id,
            document_ids=allocation.document_ids,
            claimed_mass_kg=claimed,
            documented_mass_kg=Decimal(documented),
        )
    ]
