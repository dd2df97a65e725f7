"""What the claims use cases need from the outside, in domain words. The adapters implement them
(adapters/store.py on MongoDB, adapters/messages.py on the contracts); tests use in-memory fakes
(tests/unit/claims/fakes.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol
from uuid import UUID

from contracts.claims import ClaimRequested, ClaimType, ClaimTypeStatus
from contracts.common import Envelope, Reason
from contracts.registry import Certificate, Member, Site
from libs.messaging import Outgoing, Tx
from services.claims.domain.checks import Registry
from services.claims.domain.effects import Effect
from services.claims.domain.footprints import Footprint
from services.claims.domain.plausibility import CapacityAlert, SiteYear
from services.claims.domain.saga import Claim
from services.claims.domain.state import Loaded
from services.claims.domain.texts import ApprovedText


class ClaimsStore(Protocol):
    """The claims service's state inside the batch's transaction: claims with their decisions, the
    projection of members, their standing and certificates, approved texts, claim type statuses,
    PACT footprints."""

    async def load_claims(
        self, *, ids: Sequence[str] = (), allocate_command_ids: Sequence[str] = ()
    ) -> Loaded:
        """The claims with these ids, or that sent these allocation commands (without history)."""
        ...

    async def load_approved_resting_on(self, certificate_ids: Sequence[str]) -> Loaded:
        """Approved claims resting on any of these certificates."""
        ...

    async def load_due(self, now: datetime, limit: int) -> Loaded:
        """Up to `limit` claims the clock acts on: pending past `decide_by`, approved past
        `valid_until`."""
        ...

    async def open_claims_with(self, product_id: str, artwork_reference: str) -> list[str]:
        """Ids of the open claims (pending, awaiting review, approved) of any claimant naming this
        product and artwork (`domain.plausibility`)."""
        ...

    async def save_claims(self, loaded: Loaded) -> None:
        """Write the changed claims and their new decisions; a claim changed by someone else since
        it was read raises a transient write conflict (the runtime retries the batch)."""
        ...

    async def load_registry(
        self, requests: Iterable[ClaimRequested], quoted_numbers: Iterable[str]
    ) -> Registry:
        """Members, their standing and certificates the requests need (claimant, suppliers, quoted
        certificate numbers, case-insensitive), and the PACT footprints they name."""
        ...

    async def save_members(self, members: Sequence[Member]) -> None: ...

    async def newer_certificates(self, certificates: Sequence[Certificate]) -> list[Certificate]:
        """Those, in order, newer than what is stored (and than earlier ones in the list)."""
        ...

    async def save_certificates(self, certificates: Sequence[Certificate]) -> None: ...

    async def mark_at_risk(self, organisation_id: str, since: datetime) -> None:
        """Flag a member at risk, unless it already forfeited its membership."""
        ...

    async def mark_forfeited(
        self, organisation_id: str, since: datetime, forfeited_on: date
    ) -> None: ...

    async def clear_at_risk(self, organisation_id: str) -> None: ...

    async def clear_forfeited(self, organisation_id: str, joined_on: date) -> None:
        """Clear a forfeiture older than this new join date (`domain.membership.rejoins`)."""
        ...

    async def save_text(self, text: ApprovedText) -> bool:
        """Store a text version; False when that version exists with other content (the first
        stands)."""
        ...

    async def latest_texts(self, text_ids: Iterable[str]) -> dict[str, ApprovedText]: ...

    async def load_footprints(self, footprint_ids: Iterable[str]) -> dict[str, Footprint]:
        """The latest stored version of these PACT footprints, by id."""
        ...

    async def save_footprint(self, footprint: Footprint) -> None:
        """Keep this version as the footprint's latest (`domain.footprints.submission_reason` has
        decided it may replace the stored one)."""
        ...

    async def set_claim_type_status(
        self, claim_type: ClaimType, status: ClaimTypeStatus, now: datetime
    ) -> None: ...

    async def claim_type_statuses(self) -> dict[ClaimType, ClaimTypeStatus]: ...

    # ---- sites' output, for the capacity plausibility check ----

    async def save_sites(self, sites: Sequence[Site]) -> None:
        """Keep each site's organisation and declared yearly capacity (the latest registration)."""
        ...

    async def add_site_output(self, site_id: str, year: int, coc_kg: Decimal) -> SiteYear:
        """Add a CoC Document's mass to its issuing site's output for the year; the year after."""
        ...

    async def mark_site_alerted(self, site_id: str, year: int) -> None:
        """Note that the site's capacity alert for the year was raised."""
        ...


StoreFor = Callable[[Tx], ClaimsStore]
"""The store bound to one batch's transaction."""


class Messages(Protocol):
    """What the claims service sends: the saga's effects as decisions and ledger commands, and
    refusals of messages that changed nothing."""

    def decisions(
        self,
        claim: Claim,
        effects: Sequence[Effect],
        *,
        cause: str | UUID,
        causation_id: UUID | None,
        now: datetime,
        refused_event_id: UUID | None = None,
    ) -> list[Outgoing]:
        """One message per effect, in order; ids derive from (cause, claim, message type), so a
        re-run sends the same ids."""
        ...

    def refusal(
        self,
        message: Envelope,
        reason: Reason,
        now: datetime,
        *,
        salt: str,
        claim_id: str,
        claimant: str,
    ) -> Outgoing:
        """`message` changed nothing: tell `claimant` why (`salt` keeps refusals of one message
        for different reasons apart)."""
        ...

    def capacity_alert(self, alert: CapacityAlert, cause: Envelope, now: datetime) -> Outgoing:
        """A `PlausibilityAlertRaised` about a site (its id derives from the document's event)."""
        ...
