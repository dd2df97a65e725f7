"""What falls due on a certificate with time: open Majors past due, Corrective Action Plans not
submitted (`domain.cap`), missed surveillance (`domain.surveillance`), expiry. Pure: no I/O."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from contracts.certificates import (
    CertificateChange,
)
from contracts.common import today_utc
from contracts.registry import (
    Certificate,
    CertificateStatus,
    Severity,
)
from services.certificates.domain import cap, surveillance
from services.certificates.domain.model import LIVE, Change, start_of
from services.certificates.domain.model import revise as _revise
from services.certificates.domain.rules import DEFAULT_RULES, Rules


def open_major_due(certificate: Certificate) -> date | None:
    """Earliest due date of an open Major finding not yet flagged overdue (what the clock waits
    for)."""
    dues = [
        f.due_on
        for f in certificate.findings
        if f.severity is Severity.MAJOR and f.closed_on is None and not f.overdue
    ]
    return min(dues) if dues else None


def clock_due(certificate: Certificate, rules: Rules) -> date | None:
    """The day after which the clock has something to do for a live certificate (besides expiry)."""
    if certificate.status not in LIVE:
        return None
    dues = [
        d
        for d in (
            open_major_due(certificate),
            cap.clock_due(certificate),
            surveillance.clock_due(certificate, rules),
        )
        if d is not None
    ]
    return min(dues) if dues else None


def _major_overdue(certificate: Certificate, today: date, now: datetime) -> list[Change]:
    """Open Majors past due and not yet flagged, in due order (findings due after the end are
    left)."""
    overdue = sorted(
        (
            f
            for f in certificate.findings
            if f.severity is Severity.MAJOR
            and f.closed_on is None
            and not f.overdue
            and f.due_on < today
            and f.due_on <= certificate.valid_until
        ),
        key=lambda f: (f.due_on, f.finding_id),
    )
    changes = []
    for finding in overdue:
        findings = [
            f.model_copy(update={"overdue": True}) if f.finding_id == finding.finding_id else f
            for f in certificate.findings
        ]
        certificate = _revise(certificate, now, findings=findings)
        reason = (
            f"Major finding {finding.finding_id} ({finding.principle} {finding.criterion}) "
            f"was due on {finding.due_on}"
        )
        changes.append(
            Change(
                certificate,
                CertificateChange.FINDING_OVERDUE,
                reason,
                start_of(finding.due_on + timedelta(days=1)),
            )
        )
    return changes


def due_changes(
    certificate: Certificate, now: datetime, rules: Rules = DEFAULT_RULES
) -> list[Change]:
    """What the clock does to a certificate by `now`: open Majors past due flagged (each once),
    Corrective Action Plans not submitted in time flagged (`domain.cap`), a missed surveillance
    flagged then suspended (`domain.surveillance`), then expiry the day after `valid_until`. Each
    change is dated when it became due, so a service that was down catches up with the same events
    it would have published."""
    today = today_utc(now)
    changes: list[Change] = []
    if certificate.status not in LIVE:
        return changes
    sources = (
        _major_overdue,
        cap.due_changes,
        lambda c, t, n: surveillance.due_changes(c, t, rules, n),
    )
    while candidates := [
        found[0] for source in sources if (found := source(certificate, today, now))
    ]:
        first = min(
            candidates, key=lambda c: c.occurred_at
        )  # in date order, each on the one before
        certificate = first.certificate
        changes.append(first)
    if certificate.valid_until < today:
        reason = f"validity ended on {certificate.valid_until}"
        certificate = _revise(
            certificate, now, status=CertificateStatus.EXPIRED, status_reason=reason
        )
        changes.append(
            Change(
                certificate,
                CertificateChange.EXPIRED,
                reason,
                start_of(certificate.valid_until + timedelta(days=1)),
            )
        )
    return changes
