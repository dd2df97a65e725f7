"""A brand owner's CoC credits and its claims: an allocation reserved, refused or released for a
claim, then the claim's mass debited on approval or partly returned on withdrawal.
"""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import Field

from contracts.common import (
    Envelope,
    ExactDecimal,
    Identifier,
    Kg,
    KgOrZero,
    Reason,
    Share,
    Text,
)
from contracts.ledger.documents import DocumentShare


class AllocationGranted(Envelope):
    """An owner's credits were reserved for a claim."""

    type: Literal["allocation_granted"] = Field(default="allocation_granted", description="Type tag.")
    claim_id: Identifier = Field(description="The claim.")
    owner_organisation_id: Identifier = Field(description="Brand owner.")
    mass_kg: Kg = Field(description="Mass reserved.")
    account_ids: list[Identifier] = Field(min_length=1, description="Accounts the mass was reserved in.")
    documents: list[DocumentShare] = Field(default_factory=list, description="CoC Documents behind the mass.")
    recycled_content_share: Share | None = Field(
        default=None, description="Mass-weighted recycled share documented behind the allocation (None: unknown)."
    )
    recycled_pre_consumer_share: Share | None = Field(
        default=None, description="Its pre-consumer part, mass-weighted (None: some document states no split)."
    )
    recycled_post_consumer_share: Share | None = Field(
        default=None, description="Its post-consumer part, mass-weighted (None: some document states no split)."
    )
    carbon_footprint_kg_co2e_per_kg: KgOrZero | None = Field(
        default=None, description="Mass-weighted footprint documented behind the allocation (None: unknown)."
    )


class AllocationRefused(Envelope):
    """A claim's allocation could not be granted."""

    type: Literal["allocation_refused"] = Field(default="allocation_refused", description="Type tag.")
    claim_id: Identifier = Field(description="The claim.")
    owner_organisation_id: Identifier = Field(description="Brand owner.")
    requested_kg: Kg = Field(description="Mass asked for.")
    available_kg: ExactDecimal = Field(description="Free credits at that moment.")
    reasons: list[Reason] = Field(min_length=1, description="Why.")
    held_by_claim_ids: list[Identifier] = Field(
        default_factory=list,
        description="Claims that hold (reserved or spent) the owner's CoC mass, largest first (at most 20).",
    )


class AllocationReleased(Envelope):
    """A claim's allocation was released; the mass is free again."""

    type: Literal["allocation_released"] = Field(default="allocation_released", description="Type tag.")
    claim_id: Identifier = Field(description="The claim.")
    owner_organisation_id: Identifier = Field(description="Brand owner.")
    mass_kg: KgOrZero = Field(description="Mass released (zero if nothing was held).")
    reason: Text = Field(description="Why.")


class ClaimMassDebited(Envelope):
    """An approved claim's reserved mass was spent: `claim_debit` entries on the accounts listed."""

    type: Literal["claim_mass_debited"] = Field(default="claim_mass_debited", description="Type tag.")
    claim_id: Identifier = Field(description="The claim.")
    owner_organisation_id: Identifier = Field(description="Brand owner.")
    mass_kg: Kg = Field(description="Mass spent.")
    account_ids: list[Identifier] = Field(min_length=1, description="Accounts debited.")
    entry_ids: list[UUID] = Field(min_length=1, description="The `claim_debit` entries, one per account.")


class ClaimMassReturned(Envelope):
    """A withdrawn claim's unused mass came back: `claim_return` entries referencing the debits."""

    type: Literal["claim_mass_returned"] = Field(default="claim_mass_returned", description="Type tag.")
    claim_id: Identifier = Field(description="The claim.")
    owner_organisation_id: Identifier = Field(description="Brand owner.")
    mass_kg: Kg = Field(description="Mass returned.")
    debited_kg: Kg = Field(description="Mass the claim had spent.")
    used_kg: KgOrZero = Field(description="Mass reported used, which stays spent.")
    entry_ids: list[UUID] = Field(min_length=1, description="The `claim_return` entries.")
    reason: Text = Field(description="Why.")
