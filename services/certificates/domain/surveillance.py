"""Surveillance audits of a live certificate and when the next one is due. Pure: no I/O.

Assurance Manual (as ASI's public pages summarise it): more than three Major NCs in any audit and
the certificate is revoked (section 6.4, here: `WITHDRAWN`, the audit as evidence). The interval,
the window in which an audit counts and the grace period before a missed one suspends are (verify)
parameters in `Rules`."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from contracts.audits import AuditOutcomeSubmitted
from contracts.certificates import CertificateChange
from contracts.registry import Certificate, CertificateStatus, Finding, Severity
from services.certificates.domain import cap, provisional
from services.certificates.domain.model import CURRENT, LIVE, Change, major_count, revise, start_of
from services.certificates.domain.rules import Rules, add_months, last_valid_day


def next_due(anchor: date, valid_until: date, rules: Rules) -> date | None:
    """The last day for the next surveillance audit after `anchor` (certification, or the last
    surveillance that counted); None when the certificate ends first (re-certification is next)."""
    due = add_months(anchor, rules.surveillance_due_months)
    return due if due < valid_until else None


def counts(completed_on: date, due: date | None, rules: Rules) -> bool:
    """A surveillance audit counts for the due one when completed in its window, or late."""
    return due is not None and completed_on >= add_months(due, -rules.surveillance_window_months)


def grace_ends(due: date, rules: Rules) -> date:
    """Last day of grace after a missed surveillance audit: suspended the day after."""
    return due + timedelta(days=rules.surveillance_grace_days)


def recorded(findings: list[Finding], audit: AuditOutcomeSubmitted) -> list[Finding]:
    """Findings as a certificate keeps them: with the audit that raised them and, if closed at the
    audit, the body that verified it."""
    return [
        f.model_copy(
            update={
                "audit_id": audit.audit_id,
                "closed_by": audit.certification_body_id if f.closed_on else None,
            }
        )
        for f in findings
    ]


def surveil(
    certificate: Certificate, audit: AuditOutcomeSubmitted, now: datetime, rules: Rules
) -> list[Change]:
    """Take a surveillance audit: add its new findings and close those it lists as closed.

    More than `max_major_ncs` Majors raised: withdrawn (revoked). Otherwise a new open Major on a
    full certificate downgrades it to provisional (validity cut to one year from the audit, never
    extended); an audit in the window moves the next due date; an audit raising no open finding is
    `SURVEILLANCE_PASSED`; closing the last Major of a provisional certificate may upgrade it."""
    aid = audit.audit_id
    findings, new, closing = _findings_after(certificate, audit)
    revoked = revocation(audit, major_count(new), rules)
    if revoked is not None:
        withdrawn = revise(
            certificate,
            now,
            findings=findings,
            status=CertificateStatus.WITHDRAWN,
            status_reason=revoked,
        )
        return [Change(withdrawn, CertificateChange.WITHDRAWN, revoked, now, aid)]
    update, change, reason = _surveillance_update(certificate, audit, findings, new, closing, rules)
    surveilled = revise(certificate, now, **update)
    changes = [Change(surveilled, change, reason, now, aid)]
    upgraded = provisional.upgrade(surveilled, audit.audit_completed_on, now, rules, aid)
    return changes + ([upgraded] if upgraded else [])


def _surveillance_update(
    certificate: Certificate,
    audit: AuditOutcomeSubmitted,
    findings: list[Finding],
    new: list[Finding],
    closing: dict[str, date],
    rules: Rules,
) -> tuple[dict[str, object], CertificateChange, str]:
    """What an audit that does not revoke changes, the kind of change and its reason: the
    findings, the next due date (if it counts), a Corrective Action Plan for its new findings, and
    the downgrade to provisional for a new open Major on a full certificate."""
    update: dict[str, object] = {"findings": findings}
    update |= _next_due_update(certificate, audit, rules)
    plan = cap.plan_for(
        audit.audit_id, audit.certification_body_id, audit.audit_completed_on, new, rules
    )
    if plan is not None:
        update["corrective_action_plans"] = [*certificate.corrective_action_plans, plan]
    open_new = [f for f in new if f.closed_on is None]
    new_majors = sum(1 for f in open_new if f.severity is Severity.MAJOR)
    change = CertificateChange.FINDINGS_ADDED if open_new else CertificateChange.SURVEILLANCE_PASSED
    reason = (
        f"surveillance audit {audit.audit_id}: {len(open_new)} new open finding(s), "
        f"{len(closing)} closed"
    )
    if new_majors and not certificate.provisional:
        due_on = update.get("surveillance_due_on", certificate.surveillance_due_on)
        downgraded, reason = downgrade(certificate, audit, new_majors, due_on is not None, rules)
        update |= downgraded
        change = CertificateChange.DOWNGRADED_TO_PROVISIONAL
    return update, change, reason


def _findings_after(
    certificate: Certificate, audit: AuditOutcomeSubmitted
) -> tuple[list[Finding], list[Finding], dict[str, date]]:
    """The certificate's findings with those the audit closes closed and its new ones added; the
    new ones; the closures."""
    closing = {f.finding_id: f.closed_on for f in audit.findings if f.closed_on is not None}
    known = {f.finding_id for f in certificate.findings}
    new = [f for f in audit.findings if f.finding_id not in known]
    closed_by = audit.certification_body_id
    findings = [
        f.model_copy(update={"closed_on": closing[f.finding_id], "closed_by": closed_by})
        if f.finding_id in closing and f.closed_on is None
        else f
        for f in certificate.findings
    ]
    return findings + recorded(new, audit), new, closing


def revocation(audit: AuditOutcomeSubmitted, raised: int, rules: Rules) -> str | None:
    """Assurance Manual 6.4: more than `max_major_ncs` Majors raised in one surveillance audit
    revoke the certification (here `WITHDRAWN`); the reason, or None."""
    if raised <= rules.max_major_ncs:
        return None
    return (
        f"surveillance audit {audit.audit_id}: {raised} Major NCs, "
        f"more than {rules.max_major_ncs} in one audit: "
        "certification revoked (Assurance Manual 6.4)"
    )


def _next_due_update(
    certificate: Certificate, audit: AuditOutcomeSubmitted, rules: Rules
) -> dict[str, object]:
    """An audit that counts (`counts`) moves the next due date and clears a missed one."""
    if not counts(audit.audit_completed_on, certificate.surveillance_due_on, rules):
        return {}
    due = next_due(audit.audit_completed_on, certificate.valid_until, rules)
    return {"surveillance_due_on": due, "surveillance_overdue": False}


def downgrade(
    certificate: Certificate,
    audit: AuditOutcomeSubmitted,
    new_majors: int,
    surveillance_due: bool,
    rules: Rules,
) -> tuple[dict[str, object], str]:
    """A new open Major on a full certificate: provisional, valid one year after the audit at most
    (never extended), no surveillance due within that year, status `provisional` unless suspended.
    The update and its reason."""
    cut = last_valid_day(audit.audit_completed_on, rules.provisional_validity_years)
    valid_until = min(certificate.valid_until, cut)
    reason = (
        f"surveillance audit {audit.audit_id}: {new_majors} new Major NC(s), "
        f"provisional until {valid_until}"
    )
    update: dict[str, object] = {"provisional": True, "valid_until": valid_until}
    if surveillance_due:  # a provisional year ends before surveillance is due
        update |= {"surveillance_due_on": None, "surveillance_overdue": False}
    if certificate.status is CertificateStatus.ACTIVE:
        update["status"] = CertificateStatus.PROVISIONAL
    update["status_reason"] = reason
    return update, reason


def due_changes(certificate: Certificate, today: date, rules: Rules, now: datetime) -> list[Change]:
    """A missed surveillance audit: flagged the day after it was due, then suspended the day after
    the grace period (a current certificate only). Each change is dated when it fell due."""
    due = certificate.surveillance_due_on
    if due is None or certificate.status not in LIVE or due >= today:
        return []
    changes = []
    if not certificate.surveillance_overdue:
        reason = f"surveillance audit was due by {due}"
        certificate = revise(certificate, now, surveillance_overdue=True)
        changes.append(
            Change(
                certificate,
                CertificateChange.SURVEILLANCE_OVERDUE,
                reason,
                start_of(due + timedelta(days=1)),
            )
        )
    end = grace_ends(due, rules)
    if end < today and certificate.status in CURRENT and end < certificate.valid_until:
        reason = (
            f"surveillance audit was due by {due}; "
            f"not done within {rules.surveillance_grace_days} days of grace"
        )
        certificate = revise(
            certificate, now, status=CertificateStatus.SUSPENDED, status_reason=reason
        )
        changes.append(
            Change(
                certificate, CertificateChange.SUSPENDED, reason, start_of(end + timedelta(days=1))
            )
        )
    return changes


def clock_due(certificate: Certificate, rules: Rules) -> date | None:
    """The day after which the surveillance clock has something to do for this certificate."""
    due = certificate.surveillance_due_on
    if due is None or certificate.status not in LIVE:
        return None
    if not certificate.surveillance_overdue:
        return due
    return grace_ends(due, rules) if certificate.status in CURRENT else None
