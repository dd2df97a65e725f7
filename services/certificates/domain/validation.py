"""Why an input cannot be taken: each check a named function returning its reasons (empty:
it passes), with the reason codes of `contracts.certificates.CertificateReason`. Pure: no I/O."""

from __future__ import annotations

from datetime import date

from contracts.audits import (
    AuditOutcomeSubmitted,
    AuditType,
    CorrectiveActionPlanApproved,
    CorrectiveActionPlanSubmitted,
    NonconformityClosed,
)
from contracts.certificates import CertificateReason as R
from contracts.common import Reason, Role
from contracts.registry import (
    Certificate,
    CertificateScope,
    CertificateStatus,
    CertificationBody,
    Finding,
)
from services.certificates.domain import recertification
from services.certificates.domain.books import Books
from services.certificates.domain.model import CURRENT, LIVE, major_count
from services.certificates.domain.model import reason as _reason
from services.certificates.domain.rules import Rules, last_valid_day


def scope_reasons(
    books: Books, organisation_id: str, scope: CertificateScope, prefix: str
) -> list[Reason]:
    reasons = []
    for site_id in scope.site_ids:
        site = books.sites.get(site_id)
        if site is None:
            reasons.append(
                _reason(R.UNKNOWN_SITE, f"site {site_id} is not registered", f"{prefix}.site_ids")
            )
        elif site.organisation_id != organisation_id:
            reasons.append(
                _reason(
                    R.SITE_NOT_OWNED,
                    f"site {site_id} belongs to {site.organisation_id}, not {organisation_id}",
                    f"{prefix}.site_ids",
                )
            )
    if len(set(scope.site_ids)) != len(scope.site_ids):
        reasons.append(
            _reason(R.DUPLICATE_SITE, "a site is named twice in the scope", f"{prefix}.site_ids")
        )
    if not reasons:
        performed = {a for s in scope.site_ids for a in books.sites[s].activities}
        for activity in scope.activities:
            if activity not in performed:
                reasons.append(
                    _reason(
                        R.ACTIVITY_NOT_AT_SITES,
                        f"no site in scope does {activity.value}",
                        f"{prefix}.activities",
                    )
                )
    return reasons


def accredited(body: CertificationBody, *days: date) -> bool:
    return all(body.accredited_from <= d <= body.accredited_until for d in days)


def body_reasons(
    books: Books, body_id: str, actor_org: str, actor_role: Role, *days: date
) -> list[Reason]:
    if actor_role is not Role.CERTIFICATION_BODY or actor_org != body_id:
        return [
            _reason(
                R.NOT_CERTIFICATION_BODY,
                "only the certification body itself submits its audits",
                "actor",
            )
        ]
    body = books.bodies.get(body_id)
    if body is None:
        return [
            _reason(
                R.UNKNOWN_CERTIFICATION_BODY,
                f"certification body {body_id} is not registered",
                "certification_body_id",
            )
        ]
    if not accredited(body, *days):
        when = " to ".join(sorted({d.isoformat() for d in days}))
        return [
            _reason(
                R.NOT_ACCREDITED,
                f"{body_id} is accredited {body.accredited_from} to "
                f"{body.accredited_until}, not on {when}",
                "certification_body_id",
            )
        ]
    return []


def status_reasons(
    certificate: Certificate, allowed: frozenset[CertificateStatus], action: str
) -> list[Reason]:
    if certificate.status in allowed:
        return []
    if certificate.status is CertificateStatus.WITHDRAWN:
        return [
            _reason(
                R.CERTIFICATE_WITHDRAWN,
                f"{certificate.certificate_number} is withdrawn",
                "certificate_id",
            )
        ]
    codes = {
        CertificateStatus.SUSPENDED: R.CERTIFICATE_SUSPENDED,
        CertificateStatus.EXPIRED: R.CERTIFICATE_EXPIRED,
        CertificateStatus.SUPERSEDED: R.CERTIFICATE_SUPERSEDED,
    }
    code = codes[certificate.status]  # every allowed set holds the current statuses
    return [
        _reason(
            code,
            f"cannot {action} {certificate.certificate_number}: it is {certificate.status.value}",
            "certificate_id",
        )
    ]


def finding_reasons(findings: list[Finding], scope: CertificateScope) -> list[Reason]:
    reasons = []
    ids = [f.finding_id for f in findings]
    if len(ids) != len(set(ids)):
        reasons.append(
            _reason(
                R.DUPLICATE_FINDING_ID, "finding ids must be unique within the audit", "findings"
            )
        )
    for i, f in enumerate(findings):
        if f.due_on < f.raised_on:
            reasons.append(
                _reason(
                    R.DATES_OUT_OF_ORDER,
                    f"finding {f.finding_id} is due before it was raised",
                    f"findings[{i}].due_on",
                )
            )
        if f.closed_on is not None and f.closed_on < f.raised_on:
            reasons.append(
                _reason(
                    R.DATES_OUT_OF_ORDER,
                    f"finding {f.finding_id} is closed before it was raised",
                    f"findings[{i}].closed_on",
                )
            )
        if f.site_id is not None and f.site_id not in scope.site_ids:
            reasons.append(
                _reason(
                    R.FINDING_SITE_OUTSIDE_SCOPE,
                    f"finding {f.finding_id} names site {f.site_id} outside the audited scope",
                    f"findings[{i}].site_id",
                )
            )
    return reasons


def audit_reasons(
    books: Books, audit: AuditOutcomeSubmitted, today: date, rules: Rules
) -> list[Reason]:
    """Why an audit outcome cannot be taken (empty: it can)."""
    reasons: list[Reason] = []
    if audit.audit_completed_on < audit.audit_started_on:
        reasons.append(
            _reason(
                R.DATES_OUT_OF_ORDER,
                "the audit is completed before it started",
                "audit_completed_on",
            )
        )
    if audit.audit_completed_on > today:
        reasons.append(
            _reason(
                R.DATE_IN_FUTURE,
                f"the audit is completed on {audit.audit_completed_on}, after today ({today})",
                "audit_completed_on",
            )
        )
    reasons += body_reasons(
        books,
        audit.certification_body_id,
        audit.actor.organisation_id,
        audit.actor.role,
        audit.audit_started_on,
        audit.audit_completed_on,
    )
    if audit.organisation_id not in books.members:
        reasons.append(
            _reason(
                R.UNKNOWN_MEMBER,
                f"organisation {audit.organisation_id} is not a member",
                "organisation_id",
            )
        )
    reasons += scope_reasons(books, audit.organisation_id, audit.scope, "scope")
    reasons += finding_reasons(audit.findings, audit.scope)
    if audit.audit_type is AuditType.INITIAL:
        if audit.certificate_id is not None:
            reasons.append(
                _reason(
                    R.CERTIFICATE_ID_NOT_EXPECTED,
                    "an initial audit issues a new certificate: leave certificate_id empty",
                    "certificate_id",
                )
            )
    else:
        reasons += previous_certificate_reasons(books, audit)
    if audit.audit_type is not AuditType.SURVEILLANCE:
        years = (
            rules.provisional_validity_years
            if major_count(audit.findings)
            else rules.full_validity_years
        )
        if last_valid_day(audit.audit_completed_on, years) < today:
            reasons.append(
                _reason(
                    R.AUDIT_TOO_OLD,
                    f"a certificate from an audit completed on "
                    f"{audit.audit_completed_on} would already have expired",
                    "audit_completed_on",
                )
            )
    return reasons


def previous_certificate_reasons(books: Books, audit: AuditOutcomeSubmitted) -> list[Reason]:
    """A surveillance or re-certification audit names a known certificate of the same member and
    standard, in a state that allows it."""
    kind = audit.audit_type.value
    if audit.certificate_id is None:
        return [
            _reason(
                R.CERTIFICATE_ID_REQUIRED,
                f"a {kind} audit names the certificate it concerns",
                "certificate_id",
            )
        ]
    certificate = books.certificates.get(audit.certificate_id)
    if certificate is None:
        return [
            _reason(
                R.UNKNOWN_CERTIFICATE,
                f"certificate {audit.certificate_id} does not exist",
                "certificate_id",
            )
        ]
    reasons = _same_holder_reasons(certificate, audit)
    if audit.audit_type is AuditType.SURVEILLANCE:
        return reasons + surveillance_reasons(certificate, audit)
    return reasons + recertification_reasons(certificate, audit)


def _same_holder_reasons(certificate: Certificate, audit: AuditOutcomeSubmitted) -> list[Reason]:
    reasons = []
    if certificate.organisation_id != audit.organisation_id:
        reasons.append(
            _reason(
                R.CERTIFICATE_OF_OTHER_MEMBER,
                f"{certificate.certificate_number} belongs to {certificate.organisation_id}",
                "certificate_id",
            )
        )
    if certificate.standard is not audit.standard:
        reasons.append(
            _reason(
                R.STANDARD_MISMATCH,
                f"{certificate.certificate_number} is a {certificate.standard.value} certificate",
                "standard",
            )
        )
    return reasons


def surveillance_reasons(certificate: Certificate, audit: AuditOutcomeSubmitted) -> list[Reason]:
    """A surveillance audit: of a live certificate, within its scope, after it became valid; a
    finding already on it may only be listed to close it."""
    reasons = status_reasons(certificate, LIVE, "audit")
    outside = [s for s in audit.scope.site_ids if s not in certificate.scope.site_ids]
    if outside:
        reasons.append(
            _reason(
                R.SCOPE_MISMATCH,
                f"sites {', '.join(outside)} are not covered by {certificate.certificate_number}",
                "scope.site_ids",
            )
        )
    if audit.audit_completed_on < certificate.valid_from:
        reasons.append(
            _reason(
                R.DATES_OUT_OF_ORDER,
                "the surveillance audit is completed before the certificate was valid",
                "audit_completed_on",
            )
        )
    return reasons + _listed_again_reasons(certificate, audit)


def _listed_again_reasons(certificate: Certificate, audit: AuditOutcomeSubmitted) -> list[Reason]:
    known = {f.finding_id: f for f in certificate.findings}
    reasons = []
    for i, f in enumerate(audit.findings):
        existing = known.get(f.finding_id)
        if existing is None:
            continue
        if f.closed_on is None:
            reasons.append(
                _reason(
                    R.DUPLICATE_FINDING_ID,
                    f"finding {f.finding_id} already exists on "
                    f"{certificate.certificate_number}; send it with closed_on to close it",
                    f"findings[{i}].finding_id",
                )
            )
        elif existing.closed_on is not None:
            reasons.append(
                _reason(
                    R.FINDING_ALREADY_CLOSED,
                    f"finding {f.finding_id} was closed on {existing.closed_on}",
                    f"findings[{i}].closed_on",
                )
            )
    return reasons


def recertification_reasons(certificate: Certificate, audit: AuditOutcomeSubmitted) -> list[Reason]:
    """A re-certification: of a current or expired certificate (not suspended or withdrawn); an
    open finding carried over may be closed, not raised again."""
    allowed = frozenset({*CURRENT, CertificateStatus.EXPIRED})
    reasons = status_reasons(certificate, allowed, "re-certify")
    for i, f in recertification.listed_again(certificate, audit):
        reasons.append(
            _reason(
                R.DUPLICATE_FINDING_ID,
                f"finding {f.finding_id} already exists on "
                f"{certificate.certificate_number}; "
                "send it with closed_on to close an open one",
                f"findings[{i}].finding_id",
            )
        )
    return reasons


CertificateMessage = (
    NonconformityClosed | CorrectiveActionPlanSubmitted | CorrectiveActionPlanApproved
)


def certificate_message_reasons(
    books: Books, message: CertificateMessage, day: date, day_field: str, today: date
) -> tuple[Certificate | None, list[Reason]]:
    """A body's message about a certificate: sent by an accredited body, for a live certificate
    of the member."""
    reasons = body_reasons(
        books, message.certification_body_id, message.actor.organisation_id, message.actor.role, day
    )
    if day > today:
        reasons.append(_reason(R.DATE_IN_FUTURE, f"dated {day}, after today ({today})", day_field))
    certificate = books.certificates.get(message.certificate_id)
    if certificate is None:
        reasons.append(
            _reason(
                R.UNKNOWN_CERTIFICATE,
                f"certificate {message.certificate_id} does not exist",
                "certificate_id",
            )
        )
        return None, reasons
    if certificate.organisation_id != message.organisation_id:
        reasons.append(
            _reason(
                R.CERTIFICATE_OF_OTHER_MEMBER,
                f"{certificate.certificate_number} belongs to {certificate.organisation_id}",
                "certificate_id",
            )
        )
    reasons += status_reasons(certificate, LIVE, "change findings on")
    return certificate, reasons
