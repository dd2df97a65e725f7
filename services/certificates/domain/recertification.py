"""Re-certification carries the open findings of the certificate it replaces: the same finding ids,
with the audit that raised them, their due dates and overdue flags, and the plans that answer them.
Pure: no I/O."""

from __future__ import annotations

from contracts.audits import AuditOutcomeSubmitted
from contracts.registry import Certificate, CorrectiveActionPlan, Finding


def carried(old: Certificate | None, audit: AuditOutcomeSubmitted) -> list[Finding]:
    """The old certificate's open findings; one the re-certification audit lists as closed is
    carried closed."""
    if old is None:
        return []
    closing = {f.finding_id: f.closed_on for f in audit.findings if f.closed_on is not None}
    return [
        f.model_copy(
            update={"closed_on": closing[f.finding_id], "closed_by": audit.certification_body_id}
        )
        if f.finding_id in closing
        else f
        for f in old.findings
        if f.closed_on is None
    ]


def carried_plans(old: Certificate | None, findings: list[Finding]) -> list[CorrectiveActionPlan]:
    audits = {f.audit_id for f in findings}
    return [p for p in old.corrective_action_plans if p.audit_id in audits] if old else []


def listed_again(old: Certificate, audit: AuditOutcomeSubmitted) -> list[tuple[int, Finding]]:
    """Findings of the audit that reuse the id of one of the old certificate's findings without
    closing an open one (refused: finding ids are unique per certificate and its successors)."""
    known = {f.finding_id: f for f in old.findings}
    return [
        (i, f)
        for i, f in enumerate(audit.findings)
        if f.finding_id in known
        and (f.closed_on is None or known[f.finding_id].closed_on is not None)
    ]
