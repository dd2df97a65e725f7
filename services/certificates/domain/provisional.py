"""Provisional to full. ASI expects a provisional certification to become a full three-year one as
soon as practicable within its year, once the body that audited has verified every Major NC closed.
Pure: no I/O."""

from __future__ import annotations

from datetime import date, datetime

from contracts.certificates import CertificateChange
from contracts.registry import Certificate, CertificateStatus, Severity
from services.certificates.domain import surveillance
from services.certificates.domain.model import LIVE, Change, revise
from services.certificates.domain.rules import Rules, last_valid_day


def closes_all_majors(certificate: Certificate) -> bool:
    """Every Major on the certificate closed, each verified by the body that audited it: the body of
    the audit that raised it (known from its Corrective Action Plan), else the certificate's."""
    auditors = {p.audit_id: p.certification_body_id for p in certificate.corrective_action_plans}
    majors = [f for f in certificate.findings if f.severity is Severity.MAJOR]
    return all(
        f.closed_on is not None
        and f.closed_by == auditors.get(f.audit_id or "", certificate.certification_body_id)
        for f in majors
    )


def upgrade(
    certificate: Certificate,
    closed_on: date,
    now: datetime,
    rules: Rules,
    audit_id: str | None = None,
) -> Change | None:
    """`UPGRADED_TO_FULL` when a live provisional certificate has all its Majors verified closed:
    valid `full_validity_years` from its original certification date (or from `closed_on`, as
    `upgrade_from_original_date` says), never shorter than it was. A suspended one stays
    suspended."""
    if (
        not certificate.provisional
        or certificate.status not in LIVE
        or not closes_all_majors(certificate)
    ):
        return None
    start = certificate.valid_from if rules.upgrade_from_original_date else closed_on
    valid_until = max(certificate.valid_until, last_valid_day(start, rules.full_validity_years))
    status = (
        CertificateStatus.ACTIVE
        if certificate.status is CertificateStatus.PROVISIONAL
        else certificate.status
    )
    reason = (
        f"every Major NC verified closed by the body that audited it (last on {closed_on}): "
        f"full certificate until {valid_until}"
    )
    upgraded = revise(
        certificate,
        now,
        provisional=False,
        status=status,
        valid_until=valid_until,
        status_reason=reason,
        surveillance_due_on=surveillance.next_due(certificate.valid_from, valid_until, rules),
        surveillance_overdue=False,
    )
    return Change(upgraded, CertificateChange.UPGRADED_TO_FULL, reason, now, audit_id)
