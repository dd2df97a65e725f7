"""Corrective Action Plans, one per audit that raised open findings. Assurance Manual (as ASI's
public pages summarise it): the plan goes to the lead auditor within one month of the on-site
audit; Majors are closed within 6-12 months (verify: `major_close_within_months`). The body that
audited approves it, and its due dates become the findings' due dates. Pure: no I/O."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from contracts.audits import CorrectiveActionPlanApproved, CorrectiveActionPlanSubmitted
from contracts.certificates import CertificateChange
from contracts.certificates import CertificateReason as R
from contracts.common import Reason
from contracts.registry import (
    Certificate,
    CorrectiveAction,
    CorrectiveActionPlan,
    Finding,
    Severity,
)
from services.certificates.domain.model import LIVE, Change, reason, revise, start_of
from services.certificates.domain.rules import Rules, add_months


def plan_for(
    audit_id: str, body_id: str, completed_on: date, findings: list[Finding], rules: Rules
) -> CorrectiveActionPlan | None:
    """The plan an audit calls for: due `cap_due_months` after the on-site audit, if it raised an
    open finding."""
    if not any(f.closed_on is None for f in findings):
        return None
    return CorrectiveActionPlan(
        audit_id=audit_id,
        certification_body_id=body_id,
        audit_completed_on=completed_on,
        submit_by=add_months(completed_on, rules.cap_due_months),
    )


def _plan(certificate: Certificate, audit_id: str) -> CorrectiveActionPlan | None:
    return next((p for p in certificate.corrective_action_plans if p.audit_id == audit_id), None)


def _plan_reasons(
    certificate: Certificate, audit_id: str, body_id: str
) -> tuple[CorrectiveActionPlan | None, list[Reason]]:
    plan = _plan(certificate, audit_id)
    if plan is None:
        known = (
            any(f.audit_id == audit_id for f in certificate.findings)
            or certificate.audit_id == audit_id
        )
        if known:
            return None, [
                reason(
                    R.NO_CAP_NEEDED,
                    f"audit {audit_id} raised no open finding on {certificate.certificate_number}",
                    "audit_id",
                )
            ]
        return None, [
            reason(
                R.UNKNOWN_AUDIT,
                f"no audit {audit_id} on {certificate.certificate_number}",
                "audit_id",
            )
        ]
    if plan.certification_body_id != body_id:
        return plan, [
            reason(
                R.NOT_AUDITING_BODY,
                f"audit {audit_id} was done by {plan.certification_body_id}",
                "certification_body_id",
            )
        ]
    if plan.approved_on is not None:
        return plan, [
            reason(
                R.CAP_ALREADY_APPROVED,
                f"the plan for audit {audit_id} was approved on {plan.approved_on}",
                "audit_id",
            )
        ]
    return plan, []


def action_reasons(
    action: CorrectiveAction, finding: Finding, field_name: str, rules: Rules
) -> list[Reason]:
    """An action's date: not before its finding was raised; for a Major, at most
    `major_close_within_months` after (verify)."""
    reasons = []
    if action.due_on < finding.raised_on:
        reasons.append(
            reason(
                R.DATES_OUT_OF_ORDER, f"{action.finding_id} due before it was raised", field_name
            )
        )
    limit = add_months(finding.raised_on, rules.major_close_within_months)
    if finding.severity is Severity.MAJOR and action.due_on > limit:
        reasons.append(
            reason(
                R.CAP_DUE_TOO_LATE,
                f"Major {action.finding_id} must be closed by {limit}",
                field_name,
            )
        )
    return reasons


def _actions_reasons(
    message: CorrectiveActionPlanSubmitted, open_findings: dict[str, Finding], rules: Rules
) -> list[Reason]:
    reasons = []
    for i, action in enumerate(message.actions):
        finding = open_findings.get(action.finding_id)
        if finding is None:
            reasons.append(
                reason(
                    R.UNKNOWN_FINDING,
                    f"audit {message.audit_id} left no open finding {action.finding_id}",
                    f"actions[{i}].finding_id",
                )
            )
            continue
        reasons += action_reasons(action, finding, f"actions[{i}].due_on", rules)
    return reasons


def submit(
    certificate: Certificate, message: CorrectiveActionPlanSubmitted, now: datetime, rules: Rules
) -> Change | list[Reason]:
    """Record a submitted plan (replacing an unapproved one): one action per finding the audit
    left open, a Major due within `major_close_within_months` of being raised."""
    plan, reasons = _plan_reasons(certificate, message.audit_id, message.certification_body_id)
    if plan is None or reasons:
        return reasons
    reasons = _submission_reasons(certificate, message, plan, rules)
    if reasons:
        return reasons
    submitted = plan.model_copy(
        update={"submitted_on": message.submitted_on, "actions": message.actions}
    )
    return Change(
        revise(certificate, now, corrective_action_plans=_replace(certificate, submitted)),
        CertificateChange.CAP_SUBMITTED,
        _submitted_why(message, plan),
        now,
        message.audit_id,
    )


def _open_findings(certificate: Certificate, audit_id: str) -> dict[str, Finding]:
    """The findings of the audit not closed yet, by id."""
    return {
        f.finding_id: f
        for f in certificate.findings
        if f.audit_id == audit_id and f.closed_on is None
    }


def _submission_reasons(
    certificate: Certificate,
    message: CorrectiveActionPlanSubmitted,
    plan: CorrectiveActionPlan,
    rules: Rules,
) -> list[Reason]:
    """Why a submitted plan cannot be recorded: an action for no open finding or due too late,
    an open finding without an action, two actions for one finding, submitted before the audit
    ended."""
    open_findings = _open_findings(certificate, message.audit_id)
    actions = {a.finding_id: a for a in message.actions}
    reasons = _actions_reasons(message, open_findings, rules)
    missing = sorted(set(open_findings) - set(actions))
    if missing:
        reasons.append(
            reason(R.CAP_FINDING_MISSING, f"no action for {', '.join(missing)}", "actions")
        )
    if len(actions) != len(message.actions):
        reasons.append(reason(R.DUPLICATE_FINDING_ID, "one action per finding", "actions"))
    if message.submitted_on < plan.audit_completed_on:
        reasons.append(
            reason(R.DATES_OUT_OF_ORDER, "submitted before the audit ended", "submitted_on")
        )
    return reasons


def _submitted_why(message: CorrectiveActionPlanSubmitted, plan: CorrectiveActionPlan) -> str:
    late = (
        f", {(message.submitted_on - plan.submit_by).days} day(s) late"
        if message.submitted_on > plan.submit_by
        else ""
    )
    return (
        f"corrective action plan for audit {message.audit_id} "
        f"submitted on {message.submitted_on}{late}"
    )


def approve(
    certificate: Certificate, message: CorrectiveActionPlanApproved, now: datetime
) -> Change | list[Reason]:
    """The body approves a submitted plan; its due dates become the open findings' due dates."""
    plan, reasons = _plan_reasons(certificate, message.audit_id, message.certification_body_id)
    if plan is None or reasons:
        return reasons
    reasons = _approval_reasons(plan, message)
    if reasons:
        return reasons
    approved = plan.model_copy(update={"approved_on": message.approved_on})
    why = f"corrective action plan for audit {message.audit_id} approved on {message.approved_on}"
    return Change(
        revise(
            certificate,
            now,
            findings=_with_plan_due_dates(certificate, plan),
            corrective_action_plans=_replace(certificate, approved),
        ),
        CertificateChange.CAP_APPROVED,
        why,
        now,
        message.audit_id,
    )


def _approval_reasons(
    plan: CorrectiveActionPlan, message: CorrectiveActionPlanApproved
) -> list[Reason]:
    """A plan is approved once submitted, and not before it was."""
    if plan.submitted_on is None:
        return [
            reason(
                R.CAP_NOT_SUBMITTED,
                f"no plan was submitted for audit {message.audit_id}",
                "audit_id",
            )
        ]
    if message.approved_on < plan.submitted_on:
        return [
            reason(
                R.DATES_OUT_OF_ORDER,
                f"approved before it was submitted ({plan.submitted_on})",
                "approved_on",
            )
        ]
    return []


def _with_plan_due_dates(certificate: Certificate, plan: CorrectiveActionPlan) -> list[Finding]:
    """The certificate's findings, those the plan acts on (open, not overdue) due when it says."""
    due = {a.finding_id: a.due_on for a in plan.actions}

    def acted_on(f: Finding) -> bool:
        return (
            f.audit_id == plan.audit_id
            and f.closed_on is None
            and f.finding_id in due
            and not f.overdue
        )

    return [
        f.model_copy(update={"due_on": due[f.finding_id]}) if acted_on(f) else f
        for f in certificate.findings
    ]


def _replace(certificate: Certificate, plan: CorrectiveActionPlan) -> list[CorrectiveActionPlan]:
    return [plan if p.audit_id == plan.audit_id else p for p in certificate.corrective_action_plans]


def due_changes(certificate: Certificate, today: date, now: datetime) -> list[Change]:
    """A plan not submitted by `submit_by` is flagged (once) the day after."""
    changes: list[Change] = []
    if certificate.status not in LIVE:
        return changes
    for plan in sorted(
        certificate.corrective_action_plans, key=lambda p: (p.submit_by, p.audit_id)
    ):
        if plan.submitted_on is None and not plan.overdue and plan.submit_by < today:
            flagged = plan.model_copy(update={"overdue": True})
            certificate = revise(
                certificate, now, corrective_action_plans=_replace(certificate, flagged)
            )
            why = f"no corrective action plan for audit {plan.audit_id} by {plan.submit_by}"
            changes.append(
                Change(
                    certificate,
                    CertificateChange.CAP_OVERDUE,
                    why,
                    start_of(plan.submit_by + timedelta(days=1)),
                    plan.audit_id,
                )
            )
    return changes


def clock_due(certificate: Certificate) -> date | None:
    dues = [
        p.submit_by
        for p in certificate.corrective_action_plans
        if p.submitted_on is None and not p.overdue
    ]
    return min(dues) if dues and certificate.status in LIVE else None
