"""Audit outcomes to certificates: issue (full or provisional), refuse, or hand a surveillance
audit to `domain.surveillance`. Pure: no I/O."""

from __future__ import annotations

from datetime import datetime

from contracts.audits import (
    AuditOutcomeSubmitted,
    AuditType,
)
from contracts.certificates import (
    CertificateChange,
)
from contracts.certificates import CertificateReason as R
from contracts.common import today_utc
from contracts.registry import (
    Certificate,
    CertificateStatus,
    Finding,
    Severity,
)
from services.certificates.domain import cap, recertification, surveillance
from services.certificates.domain.books import Books, audit_digest, certificate_id_for
from services.certificates.domain.model import LIVE, Change, Outcome, major_count
from services.certificates.domain.model import reason as _reason
from services.certificates.domain.model import revise as _revise
from services.certificates.domain.rules import Rules, last_valid_day
from services.certificates.domain.validation import (
    audit_reasons,
)


def submit_audit(
    books: Books, audit: AuditOutcomeSubmitted, now: datetime, rules: Rules
) -> Outcome:
    """Take an audit outcome: issue, refuse, or update the live certificate."""
    org = audit.organisation_id
    digest = audit_digest(audit)
    known = books.audit_digests.get(audit.audit_id)
    if known == digest:
        return Outcome()
    if known is not None:
        return Outcome(
            refused=[
                _reason(
                    R.DUPLICATE_AUDIT_ID,
                    f"audit {audit.audit_id} was already submitted with different content",
                    "audit_id",
                )
            ],
            organisation_id=org,
        )
    today = today_utc(now)
    reasons = audit_reasons(books, audit, today, rules)
    if reasons:
        return Outcome(refused=reasons, organisation_id=org)
    if audit.audit_type is AuditType.SURVEILLANCE:
        changes = surveillance.surveil(named_certificate(books, audit), audit, now, rules)
        books.remember(audit, digest, "surveillance", audit.certificate_id)
        return Outcome(books.record(changes))
    majors = major_count(audit.findings)
    if majors > rules.max_major_ncs:
        books.remember(audit, digest, "refused", None)
        return Outcome(
            refused=[
                _reason(
                    R.TOO_MANY_MAJOR_NCS,
                    f"{majors} Major non-conformances: more than "
                    f"{rules.max_major_ncs} in one audit, no certificate is issued",
                    "findings",
                )
            ],
            organisation_id=org,
        )
    issued = _issue(books, audit, now, rules, majors)
    changes = [Change(issued, CertificateChange.ISSUED, issued.status_reason, now, audit.audit_id)]
    if audit.audit_type is AuditType.RECERTIFICATION:
        old = named_certificate(books, audit)
        if old.status in LIVE:
            reason = (
                f"superseded by {issued.certificate_number} "
                f"after re-certification audit {audit.audit_id}"
            )
            replaced = _revise(
                old,
                now,
                status=CertificateStatus.SUPERSEDED,
                superseded_by_certificate_id=issued.certificate_id,
                status_reason=reason,
            )
            changes.append(
                Change(replaced, CertificateChange.SUPERSEDED, reason, now, audit.audit_id)
            )
    books.remember(audit, digest, "issued", issued.certificate_id)
    return Outcome(books.record(changes))


def named_certificate(books: Books, audit: AuditOutcomeSubmitted) -> Certificate:
    """The certificate a surveillance or re-certification audit names, once `audit_reasons` found
    it known (anything else is a bug, not bad input)."""
    certificate = books.certificates.get(audit.certificate_id or "")
    if certificate is None:
        raise LookupError(f"audit {audit.audit_id} names no known certificate")
    return certificate


def _issue(
    books: Books, audit: AuditOutcomeSubmitted, now: datetime, rules: Rules, majors: int
) -> Certificate:
    """A new certificate: full with no Major, provisional with 1 to `max_major_ncs` (or an open
    Major carried from the certificate it replaces)."""
    today = today_utc(now)
    old = books.certificates.get(audit.certificate_id) if audit.certificate_id else None
    findings, carried = _findings(old, audit)
    provisional = majors > 0 or _open_major(carried)
    years = rules.provisional_validity_years if provisional else rules.full_validity_years
    status_reason = _issue_reason(audit, majors, provisional, years)
    if carried and old is not None:
        status_reason += f"; {len(carried)} open finding(s) carried from {old.certificate_number}"
    valid_until = last_valid_day(audit.audit_completed_on, years)
    plan = cap.plan_for(
        audit.audit_id,
        audit.certification_body_id,
        audit.audit_completed_on,
        [f for f in findings if f.audit_id == audit.audit_id],
        rules,
    )
    return Certificate(
        certificate_id=certificate_id_for(audit.audit_id),
        certificate_number=books.next_number(rules, audit.standard, today.year),
        organisation_id=audit.organisation_id,
        standard=audit.standard,
        standard_version=audit.standard_version,
        status=CertificateStatus.PROVISIONAL if provisional else CertificateStatus.ACTIVE,
        provisional=provisional,
        scope=audit.scope,
        certification_body_id=audit.certification_body_id,
        audit_id=audit.audit_id,
        issued_on=today,
        valid_from=audit.audit_completed_on,
        valid_until=valid_until,
        findings=findings,
        supersedes_certificate_id=audit.certificate_id,
        status_reason=status_reason,
        revision=1,
        updated_at=now,
        corrective_action_plans=recertification.carried_plans(old, carried)
        + ([plan] if plan else []),
        surveillance_due_on=surveillance.next_due(audit.audit_completed_on, valid_until, rules),
    )


def _issue_reason(audit: AuditOutcomeSubmitted, majors: int, provisional: bool, years: int) -> str:
    kind = "re-certification" if audit.audit_type is AuditType.RECERTIFICATION else "initial"
    if provisional:
        return (
            f"{kind} audit {audit.audit_id}: {majors} Major NC(s), provisional for {years} year(s)"
        )
    return f"{kind} audit {audit.audit_id}: no Major NC, full for {years} year(s)"


def _findings(
    old: Certificate | None, audit: AuditOutcomeSubmitted
) -> tuple[list[Finding], list[Finding]]:
    """The new certificate's findings (the open ones carried from the one it replaces, then the
    audit's own), and the carried ones."""
    carried = recertification.carried(old, audit)
    carried_ids = {f.finding_id for f in carried}
    own = [f for f in audit.findings if f.finding_id not in carried_ids]
    return carried + surveillance.recorded(own, audit), carried


def _open_major(findings: list[Finding]) -> bool:
    """A Major still open is a Major: carried over, it makes the new certificate provisional."""
    return any(f.severity is Severity.MAJOR and f.closed_on is None for f in findings)
