"""Who is who: members, sites and certification bodies, and the certificate as published."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import Field

from contracts.common import (
    Activity,
    Contract,
    Factor,
    Identifier,
    Kg,
    ProcessStep,
    Standard,
    Text,
    UtcDatetime,
)


class MembershipClass(StrEnum):
    """ASI membership classes (the first two must certify against the PS within two years)."""

    PRODUCTION_AND_TRANSFORMATION = "production_and_transformation"
    INDUSTRIAL_USERS = "industrial_users"
    DOWNSTREAM_SUPPORTERS = "downstream_supporters"
    CIVIL_SOCIETY = "civil_society"
    ASSOCIATIONS = "associations"
    GENERAL_SUPPORTERS = "general_supporters"


class Member(Contract):
    """An ASI member organisation."""

    organisation_id: Identifier = Field(description="ASI organisation id.")
    name: Text = Field(description="Legal or trading name.")
    membership_class: MembershipClass = Field(description="Membership class.")
    joined_on: date = Field(description="Date the organisation joined ASI.")


class ConversionFactor(Contract):
    """The yield a site declares for one process step, as its auditor verified it."""

    process_step: ProcessStep = Field(description="The process step.")
    factor: Factor = Field(description="Output mass per unit of input mass, e.g. 0.97 for remelting.")
    verified_by: Identifier | None = Field(default=None, description="Certification body that verified it.")
    verified_on: date | None = Field(default=None, description="When it was verified.")


class Site(Contract):
    """A facility of a member."""

    site_id: Identifier = Field(description="Platform-wide site id.")
    organisation_id: Identifier = Field(description="Member owning the site.")
    name: Text = Field(description="Site name.")
    country: str = Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2 country code.")
    activities: list[Activity] = Field(min_length=1, description="What the site does.")
    conversion_factors: list[ConversionFactor] = Field(
        default_factory=list, description="Declared, audited yield per process step run at the site."
    )
    output_capacity_kg_per_year: Kg | None = Field(
        default=None,
        description="Declared capacity of the site's output, kilograms per calendar year (declared by the member "
        "at registration; not a field of the standard). Used for plausibility only: CoC Documents issued from "
        "the site in a year above it raise an alert for the secretariat (issue 18 item 7).",
    )


class CertificationBody(Contract):
    """An accredited certification body (audit firm)."""

    certification_body_id: Identifier = Field(description="Id of the certification body.")
    name: Text = Field(description="Name.")
    accredited_from: date = Field(description="First day of accreditation.")
    accredited_until: date = Field(description="Last day of accreditation.")


class ScopeLevel(StrEnum):
    """The certification unit (seeds/003)."""

    ENTITY = "entity"
    FACILITY = "facility"
    PRODUCT_PROGRAMME = "product_programme"


class CertificateScope(Contract):
    """What a certificate covers."""

    level: ScopeLevel = Field(description="Entity, facility or product/programme level.")
    site_ids: list[Identifier] = Field(min_length=1, description="Sites covered.")
    activities: list[Activity] = Field(default_factory=list, description="Activities covered.")
    products: list[Identifier] = Field(default_factory=list, description="Products covered (empty: all).")


class Severity(StrEnum):
    """Non-conformance severity."""

    MAJOR = "major"
    MINOR = "minor"


class Finding(Contract):
    """A non-conformance raised in an audit."""

    finding_id: Identifier = Field(description="Id unique within the audit.")
    principle: Identifier = Field(description="Principle (PS) or section (CoC), e.g. 'PS-9' or 'CoC-4'.")
    criterion: Identifier = Field(description="Criterion, e.g. '9.1'.")
    severity: Severity = Field(description="Major or minor.")
    site_id: Identifier | None = Field(default=None, description="Site where it was found (raised across the scope).")
    description: Text = Field(description="What was found.")
    raised_on: date = Field(description="Audit date it was raised.")
    due_on: date = Field(description="Date it must be closed by.")
    closed_on: date | None = Field(default=None, description="Date closed, if closed.")
    overdue: bool = Field(default=False, description="True once past due while open.")
    audit_id: Identifier | None = Field(
        default=None, description="Audit that raised it (set by the certificates service when it records the finding)."
    )
    closed_by: Identifier | None = Field(
        default=None, description="Certification body that verified the closure (set by the certificates service)."
    )


class CorrectiveAction(Contract):
    """What the member will do about one finding, and by when."""

    finding_id: Identifier = Field(description="The finding addressed.")
    due_on: date = Field(description="Date the corrective action will be complete and the finding closable.")
    action: Text = Field(description="The corrective action.")


class CorrectiveActionPlan(Contract):
    """The Corrective Action Plan for the findings of one audit: due to the lead auditor within one
    month of the on-site audit, approved by the body that audited."""

    audit_id: Identifier = Field(description="Audit whose findings it answers.")
    certification_body_id: Identifier = Field(description="Body that audited and approves the plan.")
    audit_completed_on: date = Field(description="Last day of the on-site audit.")
    submit_by: date = Field(description="Last day to submit the plan.")
    submitted_on: date | None = Field(default=None, description="Day the plan was submitted.")
    approved_on: date | None = Field(default=None, description="Day the body approved it.")
    actions: list[CorrectiveAction] = Field(default_factory=list, description="One action per open finding.")
    overdue: bool = Field(default=False, description="True once `submit_by` passed without a plan.")


class CertificateStatus(StrEnum):
    """Current status of a certificate."""

    ACTIVE = "active"
    PROVISIONAL = "provisional"
    SUSPENDED = "suspended"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"
    SUPERSEDED = "superseded"


CURRENT_STATUSES = frozenset({CertificateStatus.ACTIVE, CertificateStatus.PROVISIONAL})


class Certificate(Contract):
    """A certificate as published: everything a subscriber needs, no other source required."""

    certificate_id: Identifier = Field(description="Stable id (the partition key).")
    certificate_number: Identifier = Field(description="Unique, readable number, e.g. ASI-COC-2026-00012.")
    organisation_id: Identifier = Field(description="Certified member.")
    standard: Standard = Field(description="Performance Standard or Chain of Custody.")
    standard_version: Identifier = Field(description="Version of the standard, e.g. 'V3-2022'.")
    status: CertificateStatus = Field(description="Current status.")
    provisional: bool = Field(description="True for a provisional (1-year) certificate.")
    scope: CertificateScope = Field(description="What it covers.")
    certification_body_id: Identifier = Field(description="Body that audited.")
    audit_id: Identifier = Field(description="Audit that issued it.")
    issued_on: date = Field(description="Issue date.")
    valid_from: date = Field(description="First valid day.")
    valid_until: date = Field(description="Last valid day; it expires the day after.")
    findings: list[Finding] = Field(default_factory=list, description="Every finding raised on it, open or closed.")
    supersedes_certificate_id: Identifier | None = Field(default=None, description="Certificate it replaced.")
    superseded_by_certificate_id: Identifier | None = Field(default=None, description="Certificate replacing it.")
    status_reason: str | None = Field(default=None, max_length=2000, description="Why the status last changed.")
    corrective_action_plans: list[CorrectiveActionPlan] = Field(
        default_factory=list, description="One per audit that raised open findings on it.")
    surveillance_due_on: date | None = Field(
        default=None, description="Last day for the next surveillance audit (none: none is due before expiry).")
    surveillance_overdue: bool = Field(default=False, description="True once the surveillance audit is overdue.")
    revision: int = Field(ge=1, description="Increments with every change; events are in revision order.")
    updated_at: UtcDatetime = Field(description="When this revision was made.")
