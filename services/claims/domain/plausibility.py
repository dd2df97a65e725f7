"""Plausibility checks (issue 18 item 7): alerts for the secretariat, each naming its evidence.
None of them blocks a decision: the claim goes on as its checks say. Pure: no I/O.

No scheme text defines these checks (issue 18: "no scheme we know has it"); they are ours.
- Same product and artwork in two open claims (pending, awaiting review, approved): one pack would
  carry two claims, or one claim was requested twice under two ids (double counting of the mass).
- Claimed mass above what the CoC Documents behind the allocation supply: accounting may pool
  credits at group level or across conversion steps, so the books can cover a claim that no
  document received by the brand does; the secretariat should see it.
- A site's CoC output above its declared capacity: the CoC Documents issued from a site in a
  calendar year (`CoCDocumentIssued` on `ledger.events.v1`) add up to more CoC mass than the yearly
  capacity the member declared for the site at registration (`Site.output_capacity_kg_per_year`,
  optional). The year as the period and one alert per site and year (on the document that takes the
  output above the capacity, or on the first document after a capacity lower than the output was
  declared) are ours (verify). A site with no declared capacity is never checked.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
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
    by `identity.claim_ref` (owner and claim id: any owner's claim may be among them); `own` is this
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


def capacity_period(issued_on: date) -> int:
    """The period a CoC Document counts in against its site's yearly capacity: the calendar year
    of its issue date (ours, verify: the scheme sets no period for capacity)."""
    return issued_on.year


@dataclass(frozen=True)
class SiteYear:
    """A site's CoC output in a calendar year so far, and what the check needs about the site."""

    site_id: str
    year: int
    coc_output_kg: Decimal
    organisation_id: str | None = None
    """The site's organisation (None until the site's registration was read)."""
    capacity_kg: Decimal | None = None
    """Declared yearly output capacity (None: none declared, nothing to check)."""
    alerted: bool = False
    """An alert was raised for this site and year already."""


@dataclass(frozen=True)
class CapacityAlert:
    """A site's CoC output above its declared capacity, for the secretariat; it decides nothing."""

    reason: Reason
    site_id: str
    organisation_id: str
    year: int
    coc_output_kg: Decimal
    capacity_kg: Decimal
    document_ids: tuple[str, ...]

    @property
    def alert_id(self) -> str:
        """The alert's partition key and claim id (`PlausibilityAlertRaised` about a site)."""
        return f"site:{self.site_id}:{self.year}"


def above_capacity(site: SiteYear, document_id: str) -> CapacityAlert | None:
    """An alert when the site's CoC output this year, the document `document_id` included, is above
    its declared capacity and none was raised for the year yet."""
    if (
        site.alerted
        or site.capacity_kg is None
        or site.organisation_id is None
        or site.coc_output_kg <= site.capacity_kg
    ):
        return None
    return CapacityAlert(
        reason=Reason(
            code=ClaimReason.SITE_OUTPUT_ABOVE_CAPACITY,
            field="coc_mass_kg",
            message=f"site {site.site_id} issued CoC Documents for {site.coc_output_kg} kg in "
            f"{site.year}, above its declared capacity of {site.capacity_kg} kg a year "
            f"(the last: {document_id})",
        ),
        site_id=site.site_id,
        organisation_id=site.organisation_id,
        year=site.year,
        coc_output_kg=site.coc_output_kg,
        capacity_kg=site.capacity_kg,
        document_ids=(document_id,),
    )
