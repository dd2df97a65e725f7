"""A certification body's messages about findings on a live certificate: a non-conformity closed
(which may upgrade a provisional certificate, `domain.provisional`) and Corrective Action Plans
(`domain.cap`). Pure: no I/O."""

from __future__ import annotations

from datetime import datetime

from contracts.audits import (
    CorrectiveActionPlanApproved,
    CorrectiveActionPlanSubmitted,
    NonconformityClosed,
)
from contracts.certificates import (
    CertificateChange,
)
from contracts.certificates import CertificateReason as R
from contracts.common import Reason, today_utc
from contracts.registry import Certificate
from services.certificates.domain import cap, provisional
from services.certificates.domain.books import Books
from services.certificates.domain.model import Change, Outcome
from services.certificates.domain.model import reason as _reason
from services.certificates.domain.model import revise as _revise
from services.certificates.domain.rules import DEFAULT_RULES, Rules
from services.certificates.domain.validation import (
    certificate_message_reasons,
)


def close_nonconformity(
    books: Books, message: NonconformityClosed, now: datetime, rules: Rules = DEFAULT_RULES
) -> Outcome:
    """Close a finding; closing the last Major of a provisional certificate may upgrade it to
    full."""
    org = message.organisation_id
    certificate, reasons = certificate_message_reasons(
        books, message, message.closed_on, "closed_on", today_utc(now)
    )
    if certificate is None:
        return Outcome(refused=reasons, organisation_id=org)
    reasons += _closing_reasons(certificate, message)
    if reasons:
        return Outcome(refused=reasons, organisation_id=org)
    findings = [
        f.model_copy(
            update={"closed_on": message.closed_on, "closed_by": message.certification_body_id}
        )
        if f.finding_id == message.finding_id
        else f
        for f in certificate.findings
    ]
    reason = f"finding {message.finding_id} closed on {message.closed_on}: {message.evidence}"[
        :2000
    ]
    closed = _revise(certificate, now, findings=findings)
    upgraded = provisional.upgrade(closed, message.closed_on, now, rules)
    return Outcome(
        books.record(
            [
                Change(closed, CertificateChange.FINDING_CLOSED, reason, now),
                *([upgraded] if upgraded else []),
            ]
        )
    )


def _closing_reasons(certificate: Certificate, message: NonconformityClosed) -> list[Reason]:
    """Why the finding cannot be closed: the certificate has no such finding, it is closed already,
    or the closing day is before it was raised."""
    finding = next((f for f in certificate.findings if f.finding_id == message.finding_id), None)
    if finding is None:
        return [
            _reason(
                R.UNKNOWN_FINDING,
                f"{certificate.certificate_number} has no finding {message.finding_id}",
                "finding_id",
            )
        ]
    reasons = []
    if finding.closed_on is not None:
        reasons.append(
            _reason(
                R.FINDING_ALREADY_CLOSED,
                f"finding {finding.finding_id} was closed on {finding.closed_on}",
                "finding_id",
            )
        )
    if message.closed_on < finding.raised_on:
        reasons.append(
            _reason(
                R.DATES_OUT_OF_ORDER,
                f"closed on {message.closed_on}, before it was raised on {finding.raised_on}",
                "closed_on",
            )
        )
    return reasons


def corrective_action_plan(
    books: Books,
    message: CorrectiveActionPlanSubmitted | CorrectiveActionPlanApproved,
    now: datetime,
    rules: Rules,
) -> Outcome:
    """Record a submitted plan or its approval (`domain.cap`)."""
    submitted = isinstance(message, CorrectiveActionPlanSubmitted)
    day = (
        message.submitted_on
        if isinstance(message, CorrectiveActionPlanSubmitted)
        else message.approved_on
    )
    certificate, reasons = certificate_message_reasons(
        books, message, day, "submitted_on" if submitted else "approved_on", today_utc(now)
    )
    if certificate is None or reasons:
        return Outcome(refused=reasons, organisation_id=message.organisation_id)
    result = (
        cap.submit(certificate, message, now, rules)
        if isinstance(message, CorrectiveActionPlanSubmitted)
        else cap.approve(certificate, message, now)
    )
    if isinstance(result, list):
        return Outcome(refused=result, organisation_id=message.organisation_id)
    return Outcome(books.record([result]))
