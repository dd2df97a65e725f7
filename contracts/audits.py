"""`audits.outcomes.v1`, keyed by organisation id: what certification bodies found."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field

from contracts.common import Envelope, Identifier, Standard, Text
from contracts.registry import CertificateScope, CorrectiveAction, Finding


class AuditType(StrEnum):
    """Kind of audit."""

    INITIAL = "initial"
    SURVEILLANCE = "surveillance"
    RECERTIFICATION = "recertification"


class AuditOutcomeSubmitted(Envelope):
    """A certification body's audit outcome; initial and re-certification audits may issue a certificate."""

    type: Literal["audit_outcome_submitted"] = Field(default="audit_outcome_submitted", description="Type tag.")
    audit_id: Identifier = Field(description="The body's audit id, unique.")
    certification_body_id: Identifier = Field(description="Auditing body.")
    organisation_id: Identifier = Field(description="Audited member (the partition key).")
    audit_type: AuditType = Field(description="Initial, surveillance or re-certification.")
    standard: Standard = Field(description="Standard audited against.")
    standard_version: Identifier = Field(description="Version of the standard, e.g. 'V3-2022'.")
    audit_started_on: date = Field(description="First day of the audit.")
    audit_completed_on: date = Field(description="Last day of the audit.")
    scope: CertificateScope = Field(description="Scope audited.")
    findings: list[Finding] = Field(default_factory=list, description="Non-conformances raised.")
    certificate_id: Identifier | None = Field(
        default=None, description="For surveillance and re-certification: the live certificate concerned."
    )


class NonconformityClosed(Envelope):
    """A certification body closes a finding."""

    type: Literal["nonconformity_closed"] = Field(default="nonconformity_closed", description="Type tag.")
    certification_body_id: Identifier = Field(description="Body closing it.")
    organisation_id: Identifier = Field(description="Member (the partition key).")
    certificate_id: Identifier = Field(description="Certificate the finding is on.")
    finding_id: Identifier = Field(description="Finding closed.")
    closed_on: date = Field(description="Date closed.")
    evidence: Text = Field(description="Evidence of the corrective action.")


class CorrectiveActionPlanSubmitted(Envelope):
    """The member's Corrective Action Plan for one audit's findings, as the lead auditor received it.
    Sent by the body that audited; a later one replaces an earlier one until it is approved."""

    type: Literal["corrective_action_plan_submitted"] = Field(
        default="corrective_action_plan_submitted", description="Type tag.")
    certification_body_id: Identifier = Field(description="Body that audited.")
    organisation_id: Identifier = Field(description="Member (the partition key).")
    certificate_id: Identifier = Field(description="Certificate the audit's findings are on.")
    audit_id: Identifier = Field(description="Audit the plan answers.")
    submitted_on: date = Field(description="Day the member submitted it.")
    actions: list[CorrectiveAction] = Field(min_length=1, description="One action per open finding of the audit.")


class CorrectiveActionPlanApproved(Envelope):
    """The body that audited approves a submitted Corrective Action Plan; its due dates become the findings'."""

    type: Literal["corrective_action_plan_approved"] = Field(
        default="corrective_action_plan_approved", description="Type tag.")
    certification_body_id: Identifier = Field(description="Body that audited.")
    organisation_id: Identifier = Field(description="Member (the partition key).")
    certificate_id: Identifier = Field(description="Certificate the audit's findings are on.")
    audit_id: Identifier = Field(description="Audit the plan answers.")
    approved_on: date = Field(description="Day of approval.")


AuditOutcome = Annotated[
    AuditOutcomeSubmitted | NonconformityClosed | CorrectiveActionPlanSubmitted | CorrectiveActionPlanApproved,
    Field(discriminator="type"),
]
