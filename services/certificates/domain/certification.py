"""Audits to certificates, their lifecycle and their clock. Pure: no I/O.

The handlers load into `Books` the slice of state a batch needs, call these functions in message
order, and write back what they changed. Every change of a certificate is a new revision, returned
as a `Change` for the handler to publish.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from contracts.audits import (
    AuditOutcomeSubmitted,
    AuditType,
    CorrectiveActionPlanApproved,
    CorrectiveActionPlanSubmitted,
    NonconformityClosed,
)
from contracts.certificates import (
    CertificateReason as R,
    CertificateChange,
    ChangeCertificateScope,
    ReinstateCertificate,
    SuspendCertificate,
    WithdrawCertificate,
)
from contracts.common import Reason, Role, Standard, today_utc
from contracts.registry import (
    Certificate,
    CertificateScope,
    CertificateStatus,
    CertificationBody,
    Finding,
    Member,
    Severity,
    Site,
)
from services.certificates.domain import cap, provisional, recertification, surveillance
from services.certificates.domain.model import CURRENT, LIVE, Change, Outcome, major_count, start_of
from services.certificates.domain.model import reason as _reason
from services.certificates.domain.model import revise as _revise
from services.certificates.domain.rules import Rules, add_years, last_valid_day

CERTIFICATE_ID_NAMESPACE = uuid.UUID("0b8f6a3e-7d7c-4a53-9a0e-2f6f0f9c1c44")
_ENVELOPE_FIELDS = {"event_id", "schema_version", "occurred_at", "correlation_id", "causation_id", "actor"}

LifecycleCommand = SuspendCertificate | ReinstateCertificate | WithdrawCertificate | ChangeCertificateScope


@dataclass(frozen=True)
class AuditRecord:
    audit: AuditOutcomeSubmitted
    digest: str
    outcome: str
    certificate_id: str | None


@dataclass
class Books:
    """The state a batch works on: loaded by the adapter, changed here, saved by the adapter."""

    members: dict[str, Member] = field(default_factory=dict)
    sites: dict[str, Site] = field(default_factory=dict)
    bodies: dict[str, CertificationBody] = field(default_factory=dict)
    certificates: dict[str, Certificate] = field(default_factory=dict)
    audit_digests: dict[str, str] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)
    new_audits: list[AuditRecord] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)

    def next_number(self, rules: Rules, standard: Standard, year: int) -> str:
        key = counter_key(rules, standard, year)
        self.counters[key] = self.counters.get(key, 0) + 1
        return f"{key}-{self.counters[key]:06d}"

    def record(self, changes: list[Change]) -> list[Change]:
        for change in changes:
            self.certificates[change.certificate.certificate_id] = change.certificate
        self.changes.extend(changes)
        return changes


def counter_key(rules: Rules, standard: Standard, year: int) -> str:
    code = "PS" if standard is Standard.PERFORMANCE_STANDARD else "COC"
    return f"{rules.number_prefix}-{code}-{year}"


def certificate_id_for(audit_id: str) -> str:
    return f"cert-{uuid.uuid5(CERTIFICATE_ID_NAMESPACE, audit_id).hex[:20]}"


def audit_digest(audit: AuditOutcomeSubmitted) -> str:
    body = audit.model_dump(mode="json", exclude=_ENVELOPE_FIELDS)
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def open_major_due(certificate: Certificate) -> date | None:
    """Earliest due date of an open Major finding not yet flagged overdue (what the clock waits for)."""
    dues = [f.due_on for f in certificate.findings
            if f.severity is Severity.MAJOR and f.closed_on is None and not f.overdue]
    return min(dues) if dues else None


def clock_due(certificate: Certificate, rules: Rules) -> date | None:
    """The day after which the clock has something to do for a live certificate (besides expiry)."""
    if certificate.status not in LIVE:
        return None
    dues = [d for d in (open_major_due(certificate), cap.clock_due(certificate),
                        surveillance.clock_due(certificate, rules)) if d is not None]
    return min(dues) if dues else None


# ---- validation ----------------------------------------------------------------------------


def _scope_reasons(books: Books, organisation_id: str, scope: CertificateScope, prefix: str) -> list[Reason]:
    reasons = []
    for site_id in scope.site_ids:
        site = books.sites.get(site_id)
        if site is None:
            reasons.append(_reason(R.UNKNOWN_SITE, f"site {site_id} is not registered", f"{prefix}.site_ids"))
        elif site.organisation_id != organisation_id:
            reasons.append(_reason(R.SITE_NOT_OWNED, f"site {site_id} belongs to {site.organisation_id}, "
                                   f"not {organisation_id}", f"{prefix}.site_ids"))
    if len(set(scope.site_ids)) != len(scope.site_ids):
        reasons.append(_reason(R.DUPLICATE_SITE, "a site is named twice in the scope", f"{prefix}.site_ids"))
    if not reasons:
        performed = {a for s in scope.site_ids for a in books.sites[s].activities}
        for activity in scope.activities:
            if activity not in performed:
                reasons.append(_reason(R.ACTIVITY_NOT_AT_SITES, f"no site in scope does {activity.value}",
                                       f"{prefix}.activities"))
    return reasons


def _accredited(body: CertificationBody, *days: date) -> bool:
    return all(body.accredited_from <= d <= body.accredited_until for d in days)


def _body_reasons(books: Books, body_id: str, actor_org: str, actor_role: Role, *days: date) -> list[Reason]:
    if actor_role is not Role.CERTIFICATION_BODY or actor_org != body_id:
        return [_reason(R.NOT_CERTIFICATION_BODY, "only the certification body itself submits its audits",
                        "actor")]
    body = books.bodies.get(body_id)
    if body is None:
        return [_reason(R.UNKNOWN_CERTIFICATION_BODY, f"certification body {body_id} is not registered",
                        "certification_body_id")]
    if not _accredited(body, *days):
        when = " to ".join(sorted({d.isoformat() for d in days}))
        return [_reason(R.NOT_ACCREDITED, f"{body_id} is accredited {body.accredited_from} to "
                        f"{body.accredited_until}, not on {when}", "certification_body_id")]
    return []


def _status_reasons(certificate: Certificate, allowed: frozenset[CertificateStatus], action: str) -> list[Reason]:
    if certificate.status in allowed:
        return []
    if certificate.status is CertificateStatus.WITHDRAWN:
        return [_reason(R.CERTIFICATE_WITHDRAWN, f"{certificate.certificate_number} is withdrawn", "certificate_id")]
    codes = {CertificateStatus.SUSPENDED: R.CERTIFICATE_SUSPENDED, CertificateStatus.EXPIRED: R.CERTIFICATE_EXPIRED,
             CertificateStatus.SUPERSEDED: R.CERTIFICATE_SUPERSEDED}
    code = codes[certificate.status]  # every allowed set holds the current statuses
    return [_reason(code, f"cannot {action} {certificate.certificate_number}: it is {certificate.status.value}",
                    "certificate_id")]


def _finding_reasons(findings: list[Finding], scope: CertificateScope) -> list[Reason]:
    reasons = []
    ids = [f.finding_id for f in findings]
    if len(ids) != len(set(ids)):
        reasons.append(_reason(R.DUPLICATE_FINDING_ID, "finding ids must be unique within the audit", "findings"))
    for i, f in enumerate(findings):
        if f.due_on < f.raised_on:
            reasons.append(_reason(R.DATES_OUT_OF_ORDER, f"finding {f.finding_id} is due before it was raised",
                                   f"findings[{i}].due_on"))
        if f.closed_on is not None and f.closed_on < f.raised_on:
            reasons.append(_reason(R.DATES_OUT_OF_ORDER, f"finding {f.finding_id} is closed before it was raised",
                                   f"findings[{i}].closed_on"))
        if f.site_id is not None and f.site_id not in scope.site_ids:
            reasons.append(_reason(R.FINDING_SITE_OUTSIDE_SCOPE, f"finding {f.finding_id} names site {f.site_id} "
                                   "outside the audited scope", f"findings[{i}].site_id"))
    return reasons


def audit_reasons(books: Books, audit: AuditOutcomeSubmitted, today: date, rules: Rules) -> list[Reason]:
    """Why an audit outcome cannot be taken (empty: it can)."""
    reasons: list[Reason] = []
    if audit.audit_completed_on < audit.audit_started_on:
        reasons.append(_reason(R.DATES_OUT_OF_ORDER, "the audit is completed before it started",
                               "audit_completed_on"))
    if audit.audit_completed_on > today:
        reasons.append(_reason(R.DATE_IN_FUTURE, f"the audit is completed on {audit.audit_completed_on}, "
                               f"after today ({today})", "audit_completed_on"))
    reasons += _body_reasons(books, audit.certification_body_id, audit.actor.organisation_id, audit.actor.role,
                             audit.audit_started_on, audit.audit_completed_on)
    if audit.organisation_id not in books.members:
        reasons.append(_reason(R.UNKNOWN_MEMBER, f"organisation {audit.organisation_id} is not a member",
                               "organisation_id"))
    reasons += _scope_reasons(books, audit.organisation_id, audit.scope, "scope")
    reasons += _finding_reasons(audit.findings, audit.scope)
    if audit.audit_type is AuditType.INITIAL:
        if audit.certificate_id is not None:
            reasons.append(_reason(R.CERTIFICATE_ID_NOT_EXPECTED,
                                   "an initial audit issues a new certificate: leave certificate_id empty",
                                   "certificate_id"))
    else:
        reasons += _previous_certificate_reasons(books, audit)
    if audit.audit_type is not AuditType.SURVEILLANCE:
        years = rules.provisional_validity_years if major_count(audit.findings) else rules.full_validity_years
        if last_valid_day(audit.audit_completed_on, years) < today:
            reasons.append(_reason(R.AUDIT_TOO_OLD, f"a certificate from an audit completed on "
                                   f"{audit.audit_completed_on} would already have expired", "audit_completed_on"))
    return reasons


def _previous_certificate_reasons(books: Books, audit: AuditOutcomeSubmitted) -> list[Reason]:
    kind = audit.audit_type.value
    if audit.certificate_id is None:
        return [_reason(R.CERTIFICATE_ID_REQUIRED, f"a {kind} audit names the certificate it concerns",
                        "certificate_id")]
    certificate = books.certificates.get(audit.certificate_id)
    if certificate is None:
        return [_reason(R.UNKNOWN_CERTIFICATE, f"certificate {audit.certificate_id} does not exist",
                        "certificate_id")]
    reasons = []
    if certificate.organisation_id != audit.organisation_id:
        reasons.append(_reason(R.CERTIFICATE_OF_OTHER_MEMBER, f"{certificate.certificate_number} belongs to "
                               f"{certificate.organisation_id}", "certificate_id"))
    if certificate.standard is not audit.standard:
        reasons.append(_reason(R.STANDARD_MISMATCH, f"{certificate.certificate_number} is a "
                               f"{certificate.standard.value} certificate", "standard"))
    if audit.audit_type is AuditType.SURVEILLANCE:
        reasons += _status_reasons(certificate, LIVE, "audit")
        outside = [s for s in audit.scope.site_ids if s not in certificate.scope.site_ids]
        if outside:
            reasons.append(_reason(R.SCOPE_MISMATCH, f"sites {', '.join(outside)} are not covered by "
                                   f"{certificate.certificate_number}", "scope.site_ids"))
        if audit.audit_completed_on < certificate.valid_from:
            reasons.append(_reason(R.DATES_OUT_OF_ORDER, "the surveillance audit is completed before the "
                                   "certificate was valid", "audit_completed_on"))
        known = {f.finding_id: f for f in certificate.findings}
        for i, f in enumerate(audit.findings):
            existing = known.get(f.finding_id)
            if existing is None:
                continue
            if f.closed_on is None:
                reasons.append(_reason(R.DUPLICATE_FINDING_ID, f"finding {f.finding_id} already exists on "
                                       f"{certificate.certificate_number}; send it with closed_on to close it",
                                       f"findings[{i}].finding_id"))
            elif existing.closed_on is not None:
                reasons.append(_reason(R.FINDING_ALREADY_CLOSED, f"finding {f.finding_id} was closed on "
                                       f"{existing.closed_on}", f"findings[{i}].closed_on"))
    else:
        allowed = frozenset({*CURRENT, CertificateStatus.EXPIRED})
        reasons += _status_reasons(certificate, allowed, "re-certify")
        for i, f in recertification.listed_again(certificate, audit):
            reasons.append(_reason(R.DUPLICATE_FINDING_ID, f"finding {f.finding_id} already exists on "
                                   f"{certificate.certificate_number}; send it with closed_on to close an open one",
                                   f"findings[{i}].finding_id"))
    return reasons


# ---- audits --------------------------------------------------------------------------------


def submit_audit(books: Books, audit: AuditOutcomeSubmitted, now: datetime, rules: Rules) -> Outcome:
    """Take an audit outcome: issue, refuse, or update the live certificate."""
    org = audit.organisation_id
    digest = audit_digest(audit)
    known = books.audit_digests.get(audit.audit_id)
    if known == digest:
        return Outcome()
    if known is not None:
        return Outcome(refused=[_reason(R.DUPLICATE_AUDIT_ID, f"audit {audit.audit_id} was already submitted "
                                        "with different content", "audit_id")], organisation_id=org)
    today = today_utc(now)
    reasons = audit_reasons(books, audit, today, rules)
    if reasons:
        return Outcome(refused=reasons, organisation_id=org)
    if audit.audit_type is AuditType.SURVEILLANCE:
        changes = surveillance.surveil(books.certificates[audit.certificate_id], audit, now, rules)  # type: ignore[index]
        _remember(books, audit, digest, "surveillance", audit.certificate_id)
        return Outcome(books.record(changes))
    majors = major_count(audit.findings)
    if majors > rules.max_major_ncs:
        _remember(books, audit, digest, "refused", None)
        return Outcome(refused=[_reason(R.TOO_MANY_MAJOR_NCS, f"{majors} Major non-conformances: more than "
                                        f"{rules.max_major_ncs} in one audit, no certificate is issued",
                                        "findings")], organisation_id=org)
    issued = _issue(books, audit, now, rules, majors)
    changes = [Change(issued, CertificateChange.ISSUED, issued.status_reason, now, audit.audit_id)]
    if audit.audit_type is AuditType.RECERTIFICATION:
        old = books.certificates[audit.certificate_id]  # type: ignore[index]
        if old.status in LIVE:
            reason = f"superseded by {issued.certificate_number} after re-certification audit {audit.audit_id}"
            replaced = _revise(old, now, status=CertificateStatus.SUPERSEDED,
                               superseded_by_certificate_id=issued.certificate_id, status_reason=reason)
            changes.append(Change(replaced, CertificateChange.SUPERSEDED, reason, now, audit.audit_id))
    _remember(books, audit, digest, "issued", issued.certificate_id)
    return Outcome(books.record(changes))


def _remember(books: Books, audit: AuditOutcomeSubmitted, digest: str, outcome: str, cid: str | None) -> None:
    books.audit_digests[audit.audit_id] = digest
    books.new_audits.append(AuditRecord(audit, digest, outcome, cid))


def _issue(books: Books, audit: AuditOutcomeSubmitted, now: datetime, rules: Rules, majors: int) -> Certificate:
    """A new certificate: full with no Major, provisional with 1 to `max_major_ncs` (or an open Major
    carried from the certificate it replaces)."""
    today = today_utc(now)
    old = books.certificates.get(audit.certificate_id) if audit.certificate_id else None
    carried = recertification.carried(old, audit)
    carried_ids = {f.finding_id for f in carried}
    findings = carried + surveillance.recorded([f for f in audit.findings if f.finding_id not in carried_ids], audit)
    provisional = majors > 0 or any(f.severity is Severity.MAJOR and f.closed_on is None for f in carried)
    years = rules.provisional_validity_years if provisional else rules.full_validity_years
    kind = "re-certification" if audit.audit_type is AuditType.RECERTIFICATION else "initial"
    status_reason = (f"{kind} audit {audit.audit_id}: {majors} Major NC(s), provisional for {years} year(s)"
                     if provisional else f"{kind} audit {audit.audit_id}: no Major NC, full for {years} year(s)")
    if carried:
        status_reason += f"; {len(carried)} open finding(s) carried from {old.certificate_number}"  # type: ignore[union-attr]
    valid_until = last_valid_day(audit.audit_completed_on, years)
    plan = cap.plan_for(audit.audit_id, audit.certification_body_id, audit.audit_completed_on,
                        [f for f in findings if f.audit_id == audit.audit_id], rules)
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
        corrective_action_plans=recertification.carried_plans(old, carried) + ([plan] if plan else []),
        surveillance_due_on=surveillance.next_due(audit.audit_completed_on, valid_until, rules),
    )


CertificateMessage = NonconformityClosed | CorrectiveActionPlanSubmitted | CorrectiveActionPlanApproved


def _on_certificate_reasons(books: Books, message: CertificateMessage, day: date, day_field: str,
                            today: date) -> tuple[Certificate | None, list[Reason]]:
    """A body's message about a certificate: sent by an accredited body, for a live certificate of the member."""
    reasons = _body_reasons(books, message.certification_body_id, message.actor.organisation_id,
                            message.actor.role, day)
    if day > today:
        reasons.append(_reason(R.DATE_IN_FUTURE, f"dated {day}, after today ({today})", day_field))
    certificate = books.certificates.get(message.certificate_id)
    if certificate is None:
        reasons.append(_reason(R.UNKNOWN_CERTIFICATE, f"certificate {message.certificate_id} does not exist",
                               "certificate_id"))
        return None, reasons
    if certificate.organisation_id != message.organisation_id:
        reasons.append(_reason(R.CERTIFICATE_OF_OTHER_MEMBER, f"{certificate.certificate_number} belongs to "
                               f"{certificate.organisation_id}", "certificate_id"))
    reasons += _status_reasons(certificate, LIVE, "change findings on")
    return certificate, reasons


def close_nonconformity(books: Books, message: NonconformityClosed, now: datetime, rules: Rules = Rules()) -> Outcome:
    """Close a finding; closing the last Major of a provisional certificate may upgrade it to full."""
    org = message.organisation_id
    certificate, reasons = _on_certificate_reasons(books, message, message.closed_on, "closed_on", today_utc(now))
    if certificate is None:
        return Outcome(refused=reasons, organisation_id=org)
    finding = next((f for f in certificate.findings if f.finding_id == message.finding_id), None)
    if finding is None:
        reasons.append(_reason(R.UNKNOWN_FINDING, f"{certificate.certificate_number} has no finding "
                               f"{message.finding_id}", "finding_id"))
    else:
        if finding.closed_on is not None:
            reasons.append(_reason(R.FINDING_ALREADY_CLOSED, f"finding {finding.finding_id} was closed on "
                                   f"{finding.closed_on}", "finding_id"))
        if message.closed_on < finding.raised_on:
            reasons.append(_reason(R.DATES_OUT_OF_ORDER, f"closed on {message.closed_on}, before it was raised "
                                   f"on {finding.raised_on}", "closed_on"))
    if reasons:
        return Outcome(refused=reasons, organisation_id=org)
    findings = [f.model_copy(update={"closed_on": message.closed_on, "closed_by": message.certification_body_id})
                if f.finding_id == message.finding_id else f for f in certificate.findings]
    reason = f"finding {message.finding_id} closed on {message.closed_on}: {message.evidence}"[:2000]
    closed = _revise(certificate, now, findings=findings)
    upgraded = provisional.upgrade(closed, message.closed_on, now, rules)
    return Outcome(books.record([Change(closed, CertificateChange.FINDING_CLOSED, reason, now),
                                 *([upgraded] if upgraded else [])]))


def corrective_action_plan(books: Books, message: CorrectiveActionPlanSubmitted | CorrectiveActionPlanApproved,
                           now: datetime, rules: Rules) -> Outcome:
    """Record a submitted plan or its approval (`domain.cap`)."""
    submitted = isinstance(message, CorrectiveActionPlanSubmitted)
    day = message.submitted_on if submitted else message.approved_on  # type: ignore[union-attr]
    certificate, reasons = _on_certificate_reasons(books, message, day, "submitted_on" if submitted else "approved_on",
                                                   today_utc(now))
    if certificate is None or reasons:
        return Outcome(refused=reasons, organisation_id=message.organisation_id)
    result = (cap.submit(certificate, message, now, rules) if isinstance(message, CorrectiveActionPlanSubmitted)
              else cap.approve(certificate, message, now))
    if isinstance(result, list):
        return Outcome(refused=result, organisation_id=message.organisation_id)
    return Outcome(books.record([result]))


# ---- secretariat commands ------------------------------------------------------------------


def apply_command(books: Books, command: LifecycleCommand, now: datetime) -> Outcome:
    """Suspend, reinstate, withdraw or change the scope of a certificate (secretariat only)."""
    certificate = books.certificates.get(command.certificate_id)
    org = certificate.organisation_id if certificate else command.actor.organisation_id
    reasons: list[Reason] = []
    if command.actor.role is not Role.SECRETARIAT:
        reasons.append(_reason(R.NOT_SECRETARIAT, "only the ASI secretariat changes certificates", "actor.role"))
    if certificate is None:
        reasons.append(_reason(R.UNKNOWN_CERTIFICATE, f"certificate {command.certificate_id} does not exist",
                               "certificate_id"))
        return Outcome(refused=reasons, organisation_id=org)
    if isinstance(command, SuspendCertificate):
        reasons += _status_reasons(certificate, CURRENT, "suspend")
        update = {"status": CertificateStatus.SUSPENDED}
        change = CertificateChange.SUSPENDED
    elif isinstance(command, ReinstateCertificate):
        if certificate.status is not CertificateStatus.SUSPENDED:
            reasons += _status_reasons(certificate, LIVE, "reinstate") or [
                _reason(R.NOT_SUSPENDED, f"{certificate.certificate_number} is not suspended", "certificate_id")]
        status = CertificateStatus.PROVISIONAL if certificate.provisional else CertificateStatus.ACTIVE
        update = {"status": status}
        change = CertificateChange.REINSTATED
    elif isinstance(command, WithdrawCertificate):
        reasons += _status_reasons(certificate, LIVE, "withdraw")
        update = {"status": CertificateStatus.WITHDRAWN}
        change = CertificateChange.WITHDRAWN
    else:
        reasons += _status_reasons(certificate, LIVE, "change the scope of")
        reasons += _scope_reasons(books, certificate.organisation_id, command.scope, "scope")
        if not reasons and command.scope == certificate.scope:
            return Outcome()
        update = {"scope": command.scope}
        change = CertificateChange.SCOPE_CHANGED
    if reasons:
        return Outcome(refused=reasons, organisation_id=org)
    revised = _revise(certificate, now, status_reason=command.reason, **update)
    return Outcome(books.record([Change(revised, change, command.reason, now)]))


# ---- the clock -----------------------------------------------------------------------------


def _major_overdue(certificate: Certificate, today: date, now: datetime) -> list[Change]:
    """Open Majors past due and not yet flagged, in due order (findings due after the end are left)."""
    overdue = sorted((f for f in certificate.findings
                      if f.severity is Severity.MAJOR and f.closed_on is None and not f.overdue
                      and f.due_on < today and f.due_on <= certificate.valid_until),
                     key=lambda f: (f.due_on, f.finding_id))
    changes = []
    for finding in overdue:
        findings = [f.model_copy(update={"overdue": True}) if f.finding_id == finding.finding_id else f
                    for f in certificate.findings]
        certificate = _revise(certificate, now, findings=findings)
        reason = f"Major finding {finding.finding_id} ({finding.principle} {finding.criterion}) was due on {finding.due_on}"
        changes.append(Change(certificate, CertificateChange.FINDING_OVERDUE, reason,
                              start_of(finding.due_on + timedelta(days=1))))
    return changes


def due_changes(certificate: Certificate, now: datetime, rules: Rules = Rules()) -> list[Change]:
    """What the clock does to a certificate by `now`: open Majors past due flagged (each once),
    Corrective Action Plans not submitted in time flagged (`domain.cap`), a missed surveillance
    flagged then suspended (`domain.surveillance`), then expiry the day after `valid_until`. Each
    change is dated when it became due, so a service that was down catches up with the same events
    it would have published."""
    today = today_utc(now)
    changes: list[Change] = []
    if certificate.status not in LIVE:
        return changes
    sources = (_major_overdue, cap.due_changes, lambda c, t, n: surveillance.due_changes(c, t, rules, n))
    while candidates := [found[0] for source in sources if (found := source(certificate, today, now))]:
        first = min(candidates, key=lambda c: c.occurred_at)  # in date order, each on the one before
        certificate = first.certificate
        changes.append(first)
    if certificate.valid_until < today:
        reason = f"validity ended on {certificate.valid_until}"
        certificate = _revise(certificate, now, status=CertificateStatus.EXPIRED, status_reason=reason)
        changes.append(Change(certificate, CertificateChange.EXPIRED, reason,
                              start_of(certificate.valid_until + timedelta(days=1))))
    return changes


def certification_deadline(member: Member, rules: Rules) -> date | None:
    """Last day by which a member of a must-certify class needs a PS certificate (None: no duty)."""
    if member.membership_class not in rules.must_certify:
        return None
    return add_years(member.joined_on, rules.certify_within_years)


def certification_overdue(member: Member, certificates: Iterable[Certificate], today: date, rules: Rules) -> bool:
    """A must-certify member past its deadline without a current PS certificate."""
    deadline = certification_deadline(member, rules)
    if deadline is None or today <= deadline:
        return False
    return not any(c.organisation_id == member.organisation_id and c.standard is Standard.PERFORMANCE_STANDARD
                   and c.status in CURRENT for c in certificates)
