"""What the secretariat sends on `claims.requests.v1`: its review decisions on claims in the review
queue, approved claim texts, and whether a claim type runs; and `Review`, the record of a review
that a decision carries.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import Field

from contracts.claims.requests import CLAIM_ID, ClaimType
from contracts.common import (
    Contract,
    Envelope,
    Identifier,
    Text,
    UtcDatetime,
)


class ClaimTypeStatus(StrEnum):
    """Whether the secretariat runs a claim type: enabled (an ASI claim), pilot (decided and recorded,
    but shown as "pilot, not an ASI claim", without the ASI name), off (requests are rejected)."""

    ENABLED = "enabled"
    PILOT = "pilot"
    OFF = "off"


class ReviewDecision(StrEnum):
    """What the secretariat decided on a claim in its review queue."""

    APPROVE = "approve"
    REFUSE = "refuse"


class ClaimReviewDecided(Envelope):
    """The secretariat approves or refuses a claim awaiting its review; the actor is who decided."""

    type: Literal["claim_review_decided"] = Field(default="claim_review_decided", description="Type tag.")
    claim_id: Identifier = Field(description=CLAIM_ID)
    claimant_organisation_id: Identifier = Field(description="Brand owner.")
    decision: ReviewDecision = Field(description="approve or refuse.")
    comment: Text = Field(description="The secretariat's comment, recorded with the decision.")
    reviewer_key_id: Identifier | None = Field(default=None, description="The API key the decision was sent with.")


class ClaimTextPublished(Envelope):
    """The secretariat publishes a version of an approved claim text (a template) for a claim type and
    language. Placeholders: `{certificate_number}`, `{link}`. With `auto_approve`, a request whose
    wording is this version's template filled with its own certificate number and link is approved
    without review; the latest version of a text is the one that counts."""

    type: Literal["claim_text_published"] = Field(default="claim_text_published", description="Type tag.")
    claim_id: Identifier = Field(description="Partition key: `text:<text_id>` (texts share the claims topic).")
    text_id: Identifier = Field(description="The text's id, stable across versions.")
    version: int = Field(ge=1, description="Version; a new one supersedes the earlier ones.")
    claim_type: ClaimType = Field(description="Claim type the text is for.")
    language: str = Field(min_length=2, max_length=12, description="Language tag (BCP 47), e.g. en, de, fr-CH.")
    template: Text = Field(description="The wording with placeholders {certificate_number} and {link}.")
    auto_approve: bool = Field(default=False, description="Approve requests using this version without review.")


class ClaimTypeStatusSet(Envelope):
    """The secretariat sets whether a claim type is enabled, a pilot or off (for requests from now on)."""

    type: Literal["claim_type_status_set"] = Field(default="claim_type_status_set", description="Type tag.")
    claim_id: Identifier = Field(description="Partition key: `type:<claim_type>`.")
    claim_type: ClaimType = Field(description="The claim type.")
    status: ClaimTypeStatus = Field(description="enabled, pilot or off.")


class Review(Contract):
    """The secretariat's review behind a decision: who decided, what they said, how long the claim waited."""

    decided_by: Identifier = Field(description="Organisation that decided (the secretariat).")
    reviewer_key_id: Identifier | None = Field(default=None, description="API key the decision was sent with.")
    decision: ReviewDecision = Field(description="approve or refuse.")
    comment: Text = Field(description="The reviewer's comment.")
    awaiting_since: UtcDatetime = Field(description="When the claim entered the review queue.")
    waited_seconds: int = Field(ge=0, description="Time in the review queue, whole seconds.")
