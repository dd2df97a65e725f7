"""`certificates.commands.v1` (secretariat), `certificates.events.v1` (the registry and every
certificate change, with the whole certificate) and `certificates.rejections.v1`."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Literal
from uuid import UUID

from pydantic import Field

from contracts.common import Envelope, Identifier, Reason, Text
from contracts.registry import (
    Certificate,
    CertificateScope,
    CertificationBody,
    Member,
    Site,
)
from contracts.signing import SigningKeyPublished


class CertificateReason:
    """Reason codes the certificates service uses on `certificates.rejections.v1`."""

    # who may send what
    NOT_CERTIFICATION_BODY = "not_certification_body"
    NOT_SECRETARIAT = "not_secretariat"
    UNKNOWN_CERTIFICATION_BODY = "unknown_certification_body"
    NOT_ACCREDITED = "not_accredited"
    NOT_AUDITING_BODY = "not_the_auditing_body"
    # the registry
    UNKNOWN_MEMBER = "unknown_member"
    UNKNOWN_SITE = "unknown_site"
    SITE_NOT_OWNED = "site_not_owned"
    SITE_OWNED_BY_OTHER_MEMBER = "site_owned_by_other_member"
    DUPLICATE_SITE = "duplicate_site"
    DUPLICATE_CONVERSION_FACTOR = "duplicate_conversion_factor"
    ACTIVITY_NOT_AT_SITES = "activity_not_at_sites"
    # dates
    DATES_OUT_OF_ORDER = "dates_out_of_order"
    DATE_IN_FUTURE = "date_in_future"
    AUDIT_TOO_OLD = "audit_too_old"
    # audits and findings
    DUPLICATE_AUDIT_ID = "duplicate_audit_id"
    DUPLICATE_FINDING_ID = "duplicate_finding_id"
    FINDING_SITE_OUTSIDE_SCOPE = "finding_site_outside_scope"
    FINDING_ALREADY_CLOSED = "finding_already_closed"
    UNKNOWN_FINDING = "unknown_finding"
    TOO_MANY_MAJOR_NCS = "too_many_major_ncs"
    CERTIFICATE_ID_NOT_EXPECTED = "certificate_id_not_expected"
    CERTIFICATE_ID_REQUIRED = "certificate_id_required"
    STANDARD_MISMATCH = "standard_mismatch"
    SCOPE_MISMATCH = "scope_mismatch"
    # corrective action plans
    UNKNOWN_AUDIT = "unknown_audit"
    NO_CAP_NEEDED = "no_corrective_action_plan_needed"
    CAP_ALREADY_APPROVED = "corrective_action_plan_already_approved"
    CAP_NOT_SUBMITTED = "corrective_action_plan_not_submitted"
    CAP_FINDING_MISSING = "corrective_action_plan_finding_missing"
    CAP_DUE_TOO_LATE = "corrective_action_plan_due_too_late"
    # certificates
    UNKNOWN_CERTIFICATE = "unknown_certificate"
    CERTIFICATE_OF_OTHER_MEMBER = "certificate_of_other_member"
    CERTIFICATE_WITHDRAWN = "certificate_withdrawn"
    CERTIFICATE_SUSPENDED = "certificate_suspended"
    CERTIFICATE_EXPIRED = "certificate_expired"
    CERTIFICATE_SUPERSEDED = "certificate_superseded"
    NOT_SUSPENDED = "not_suspended"
    # membership
    NOT_MUST_CERTIFY = "member_not_of_a_must_certify_class"
    MEMBERSHIP_FORFEITED = "membership_forfeited"
    MEMBERSHIP_NOT_AT_RISK = "membership_not_at_risk"
    # signing keys
    SIGNING_KEY_FROM_SETTINGS = "signing_key_set_in_settings"
    # delivery
    EVENT_ID_CONFLICT = "event_id_conflict"


# ---- commands (key: organisation id) ------------------------------------------------------


class RegisterMember(Envelope):
    """Register (or update) a member."""

    type: Literal["register_member"] = Field(default="register_member", description="Type tag.")
    member: Member = Field(description="The member.")


class RegisterSite(Envelope):
    """Register (or update) a site with its activities and declared yields."""

    type: Literal["register_site"] = Field(default="register_site", description="Type tag.")
    site: Site = Field(description="The site.")


class RegisterCertificationBody(Envelope):
    """Register (or update) an accredited certification body."""

    type: Literal["register_certification_body"] = Field(default="register_certification_body", description="Type tag.")
    certification_body: CertificationBody = Field(description="The body.")


class SuspendCertificate(Envelope):
    """Suspend a current certificate."""

    type: Literal["suspend_certificate"] = Field(default="suspend_certificate", description="Type tag.")
    certificate_id: Identifier = Field(description="Certificate to suspend.")
    reason: Text = Field(description="Why.")


class ReinstateCertificate(Envelope):
    """Lift a suspension."""

    type: Literal["reinstate_certificate"] = Field(default="reinstate_certificate", description="Type tag.")
    certificate_id: Identifier = Field(description="Certificate to reinstate.")
    reason: Text = Field(description="Why.")


class WithdrawCertificate(Envelope):
    """Withdraw a certificate for good."""

    type: Literal["withdraw_certificate"] = Field(default="withdraw_certificate", description="Type tag.")
    certificate_id: Identifier = Field(description="Certificate to withdraw.")
    reason: Text = Field(description="Why.")


class ChangeCertificateScope(Envelope):
    """Change what a certificate covers."""

    type: Literal["change_certificate_scope"] = Field(default="change_certificate_scope", description="Type tag.")
    certificate_id: Identifier = Field(description="Certificate to change.")
    scope: CertificateScope = Field(description="The new scope.")
    reason: Text = Field(description="Why.")


class ExtendCertificationDeadline(Envelope):
    """The secretariat gives a must-certify member more time to hold a Performance Standard certificate."""

    type: Literal["extend_certification_deadline"] = Field(
        default="extend_certification_deadline", description="Type tag.")
    organisation_id: Identifier = Field(description="The member.")
    until: date = Field(description="New last day to hold a current PS certificate.")
    reason: Text = Field(description="Why.")


class RecordMembershipForfeiture(Envelope):
    """The secretariat records that a member at risk (no certification in time) forfeits its membership."""

    type: Literal["record_membership_forfeiture"] = Field(
        default="record_membership_forfeiture", description="Type tag.")
    organisation_id: Identifier = Field(description="The member.")
    reason: Text = Field(description="Why.")


class RotateSigningKey(Envelope):
    """Retire the certificates service's signing key and sign from now on with a new one."""

    type: Literal["rotate_signing_key"] = Field(default="rotate_signing_key", description="Type tag.")
    reason: Text = Field(description="Why.")


CertificateCommand = Annotated[
    RegisterMember
    | RegisterSite
    | RegisterCertificationBody
    | SuspendCertificate
    | ReinstateCertificate
    | WithdrawCertificate
    | ChangeCertificateScope
    | ExtendCertificationDeadline
    | RecordMembershipForfeiture
    | RotateSigningKey,
    Field(discriminator="type"),
]

# ---- events (key: certificate id; registry events: organisation, site or body id) ------------


class MemberRegistered(Envelope):
    """A member was registered or updated."""

    type: Literal["member_registered"] = Field(default="member_registered", description="Type tag.")
    member: Member = Field(description="The member as now registered.")


class SiteRegistered(Envelope):
    """A site was registered or updated."""

    type: Literal["site_registered"] = Field(default="site_registered", description="Type tag.")
    site: Site = Field(description="The site as now registered.")


class CertificationBodyRegistered(Envelope):
    """A certification body was registered or updated."""

    type: Literal["certification_body_registered"] = Field(
        default="certification_body_registered", description="Type tag."
    )
    certification_body: CertificationBody = Field(description="The body as now registered.")


class CertificateChange(StrEnum):
    """What happened to a certificate."""

    ISSUED = "issued"
    SUSPENDED = "suspended"
    REINSTATED = "reinstated"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"
    SCOPE_CHANGED = "scope_changed"
    SUPERSEDED = "superseded"
    FINDINGS_ADDED = "findings_added"
    FINDING_CLOSED = "finding_closed"
    FINDING_OVERDUE = "finding_overdue"
    DOWNGRADED_TO_PROVISIONAL = "downgraded_to_provisional"
    UPGRADED_TO_FULL = "upgraded_to_full"
    SURVEILLANCE_PASSED = "surveillance_passed"
    SURVEILLANCE_OVERDUE = "surveillance_overdue"
    CAP_SUBMITTED = "corrective_action_plan_submitted"
    CAP_APPROVED = "corrective_action_plan_approved"
    CAP_OVERDUE = "corrective_action_plan_overdue"


class CertificateChanged(Envelope):
    """Every certificate state change, carrying the whole certificate and its signed form."""

    type: Literal["certificate_changed"] = Field(default="certificate_changed", description="Type tag.")
    change: CertificateChange = Field(description="What happened.")
    certificate: Certificate = Field(description="The certificate after the change.")
    signed_certificate: str | None = Field(
        default=None, description="Compact JWS (EdDSA) of the certificate, verifiable offline with the published key."
    )
    reason: str | None = Field(default=None, max_length=2000, description="Why, where given.")
    audit_id: Identifier | None = Field(
        default=None, description="The audit that caused the change, where one did (the evidence).")


class MemberCertificationOverdue(Envelope):
    """A member of a class that must certify has no PS certificate two years after joining."""

    type: Literal["member_certification_overdue"] = Field(
        default="member_certification_overdue", description="Type tag."
    )
    organisation_id: Identifier = Field(description="The member.")
    reason: Text = Field(description="What is overdue.")


class CertificationDeadlineExtended(Envelope):
    """A must-certify member has until `until` to hold a current PS certificate; no longer at risk before then."""

    type: Literal["certification_deadline_extended"] = Field(
        default="certification_deadline_extended", description="Type tag.")
    organisation_id: Identifier = Field(description="The member.")
    until: date = Field(description="New last day.")
    reason: Text = Field(description="Why.")


class MembershipForfeited(Envelope):
    """A member forfeited its membership (not certified in time): it is no longer treated as a member."""

    type: Literal["membership_forfeited"] = Field(default="membership_forfeited", description="Type tag.")
    organisation_id: Identifier = Field(description="The former member.")
    forfeited_on: date = Field(description="Day recorded.")
    reason: Text = Field(description="Why.")


CertificateEvent = Annotated[
    MemberRegistered
    | SiteRegistered
    | CertificationBodyRegistered
    | CertificateChanged
    | MemberCertificationOverdue
    | CertificationDeadlineExtended
    | MembershipForfeited
    | SigningKeyPublished,
    Field(discriminator="type"),
]

# ---- rejections (key: organisation id) --------------------------------------------------------


class CertificateInputRejected(Envelope):
    """An audit outcome or certificate command that was refused; state is unchanged."""

    type: Literal["certificate_input_rejected"] = Field(default="certificate_input_rejected", description="Type tag.")
    organisation_id: Identifier = Field(description="Organisation the input concerned (the partition key).")
    rejected_event_id: UUID = Field(description="Event id of the refused input.")
    rejected_event_type: str = Field(max_length=80, description="Its type tag.")
    reasons: list[Reason] = Field(min_length=1, description="Every reason.")


CertificateRejection = Annotated[CertificateInputRejected, Field(discriminator="type")]
