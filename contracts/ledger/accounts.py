"""Accounts of `ledger.events.v1`: how account ids and owner keys are formed, and what happens to an
account as a whole (frozen and thawed with its certificate, a rule set assigned to its scope, an
alert to the certification body).

Account ids: `site:<site_id>` for a site-level account, `group:<organisation_id>/<scope_id>` for the
pooled account of one CoC certification scope of an organisation (`group:<organisation_id>` holds what
happened at its sites outside every CoC scope: recorded, never credited). Commands about a brand
owner's credits as a whole (allocations for claims) are keyed by `owner:<organisation_id>`.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Literal
from uuid import UUID

from pydantic import Field

from contracts.common import (
    Envelope,
    ExactDecimal,
    Identifier,
    Text,
)


def site_account_id(site_id: str) -> str:
    return f"site:{site_id}"


def group_account_id(organisation_id: str) -> str:
    return f"group:{organisation_id}"


def scope_account_id(organisation_id: str, scope_id: str) -> str:
    """The pooled account of one CoC certification scope (group level): `group:<org>/<scope>`, where the
    scope is the first certificate of a chain of re-certifications (so a renewal keeps its pool)."""
    return f"group:{organisation_id}/{scope_id}"


def account_organisation_id(account_id: str) -> str | None:
    """The organisation of a group account (`group:<org>` or `group:<org>/<scope>`); None for a site account."""
    kind, _, rest = account_id.partition(":")
    return (rest.partition("/")[0] or None) if kind == "group" else None


def owner_key(organisation_id: str) -> str:
    return f"owner:{organisation_id}"


class AccountFrozen(Envelope):
    """Designations from the account are refused until its certificate is current again."""

    type: Literal["account_frozen"] = Field(default="account_frozen", description="Type tag.")
    account_id: Identifier = Field(description="Account.")
    certificate_id: Identifier = Field(description="Certificate whose status froze it.")
    reason: Text = Field(description="Why.")


class AccountThawed(Envelope):
    """The account's certificate is current again."""

    type: Literal["account_thawed"] = Field(default="account_thawed", description="Type tag.")
    account_id: Identifier = Field(description="Account.")
    certificate_id: Identifier = Field(description="Certificate now current.")
    reason: Text = Field(description="Why.")


class RuleSetAssigned(Envelope):
    """A rule set now governs an organisation's scope."""

    type: Literal["rule_set_assigned"] = Field(default="rule_set_assigned", description="Type tag.")
    organisation_id: Identifier = Field(description="Organisation.")
    rule_set_id: Identifier = Field(description="Rule set.")
    rule_set_version: Identifier = Field(description="Version.")
    effective_from: date = Field(description="First day.")


class AlertKind(StrEnum):
    """What the certification body is alerted to."""

    DUE_DILIGENCE_FAILED = "due_diligence_failed"
    PERCENTAGE_OVERSHOOT = "percentage_overshoot"


class CertificationBodyAlerted(Envelope):
    """Something the member's certification body must hear of: material received that failed due diligence
    (recorded as non-CoC input, never CoC output), or a period's percentage overshoot recorded as a
    non-conformity."""

    type: Literal["certification_body_alerted"] = Field(default="certification_body_alerted", description="Type tag.")
    account_id: Identifier = Field(description="Account (the partition key).")
    organisation_id: Identifier = Field(description="The member concerned.")
    alert_kind: AlertKind = Field(description="What happened.")
    period_id: Identifier = Field(description="Accounting period.")
    mass_kg: ExactDecimal = Field(description="Mass concerned (received, or CoC output in excess).")
    site_id: Identifier | None = Field(default=None, description="Site, where one is concerned.")
    movement_id: UUID | None = Field(default=None, description="Movement, where one is concerned.")
    message: Text = Field(description="What the certification body should know.")
