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
from datetime import UTC, date, datetime, time, timedelta

from contracts.audits import AuditOutcomeSubmitted, AuditType, NonconformityClosed
from contracts.certificates import (
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
from services.certificates.domain.rules import Rules, add_years, last_valid_day

LIVE = frozenset({CertificateStatus.ACTIVE, CertificateStatus.PROVISIONAL, CertificateStatus.SUSPENDED})
CURRENT = frozenset({CertificateStatus.ACTIVE, CertificateStatus.PROVISIONAL})
CERTIFICATE_ID_NAMESPACE = uuid.UUID("0b8f6a3e-7d7c-4a53-9a0e-2f6f0f9c1c44")
_ENVELOPE_FIELDS = {"event_id", "schema_version", "occurred_at", "correlation_id", "causation_id", "actor"}

LifecycleCommand = SuspendCertificate | ReinstateCertificate | WithdrawCertificate | ChangeCertificateScope


@dataclass(frozen=True)
class Change:
    """One new revision of a certificate, to publish."""

    certificate: Certificate
    change: CertificateChange
    reason: str | None
    occurred_at: datetime


@dataclass(frozen=True)
class Outcome:
    """What one input did: changes to publish, or the reasons it was refused (state unchanged
    except for the audit history when `refused` is a certification decision)."""

    changes: list[Change] = field(default_factory=list)
    refused: list[Reason] | None = None
    organisation_id: str | None = None


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


def start_of(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def _reason(code: str, message: str, field_name: str | None = None) -> Reason:
    return Reason(code=code, message=message[:2000], field=field_name)


def _revise(certificate: Certificate, now: datetime, **update: object) -> Certificate:
    return certificate.model_copy(update={**update, "revision": certificate.revision + 1, "updated_at": now})


def major_count(findings: Iterable[Finding]) -> int:
    return sum(1 for f in findings if f.severity is Severity.MAJOR)


def open_major_due(certificate: Certificate) -> date | None:
    """Earliest due date of an open Major finding not yet flagged overdue (what the clock waits for)."""
    dues = [f.due_on for f in certificate.findings
            if f.severity is Severity.MAJOR and f.closed_on is None and not f.overdue]
    return min(dues) if dues else None


# ---- validation ----------------------------------------------------------------------------


def _scope_reasons(books: Books, organisation_id: str, scope: CertificateScope, prefix: str) -> list[Reason]:
    reasons = []
    for site_id in scope.site_ids:
        site = books.sites.get(site_id)
        if site is None:
            reasons.append(_reason("unknown_site", f"site {site_id} is not registered", f"{prefix}.site_ids"))
        elif site.organisation_id != organisation_id:
            reasons.append(_reason("site_not_owned", f"site {site_id} belongs to {site.organisation_id}, "
                                   f"not {organisation_id}", f"{prefix}.site_ids"))
    if len(set(scope.site_ids)) != len(scope.site_ids):
        reasons.append(_reason("duplicate_site", "a site is named twice in the scope", f"{prefix}.site_ids"))
    if not reasons:
        performed = {a for s in scope.site_ids for a in books.sites[s].activities}
        for activity in scope.activities:
            if activity not in performed:
                reasons.append(_reason("activity_not_at_sites", f"no site in scope does {activity.value}",
                                       f"{prefix}.activities"))
    return reasons


def _accredited(body: CertificationBody, *days: date) -> bool:
    return all(body.accredited_from <= d <= body.accredited_until for d in days)


def _body_reasons(books: Books, body_id: str, actor_org: str, actor_role: Role, *days: date) -> list[Reason]:
    if actor_role is not Role.CERTIFICATION_BODY or actor_org != body_id:
        return [_reason("not_certification_body", "only the certification body itself submits its audits",
                        "actor")]
    body = books.bodies.get(body_id)
    if body is None:
        return [_reason("unknown_certification_body", f"certification body {body_id} is not registered",
                        "certification_body_id")]
    if not _accredited(body, *days):
        when = " to ".join(sorted({d.isoformat() for d in days}))
        return [_reason("not_accredited", f"{body_id} is accredited {body.accredited_from} to "
                        f"{body.accredited_until}, not on {when}", "certification_body_id")]
    return []


def _status_reasons(certificate: Certificate, allowed: frozenset[CertificateStatus], action: str) -> list[Reason]:
    if certificate.status in allowed:
        return []
    if certificate.status is CertificateStatus.WITHDRAWN:
        return [_reason("certificate_withdrawn", f"{certificate.certificate_number} is withdrawn", "certificate_id")]
    codes = {CertificateStatus.SUSPENDED: "certificate_suspended", CertificateStatus.EXPIRED: "certificate_expired",
             CertificateStatus.SUPERSEDED: "certificate_superseded"}
    code = codes.get(certificate.status, "certificate_status")
    return [_reason(code, f"cannot {action} {certificate.certificate_number}: it is {certificate.status.value}",
                    "certificate_id")]


def _finding_reasons(findings: list[Finding], scope: CertificateScope) -> list[Reason]:
    reasons = []
    ids = [f.finding_id for f in findings]
    if len(ids) != len(set(ids)):
        reasons.append(_reason("duplicate_finding_id", "finding ids must be unique within the audit", "findings"))
    for i, f in enumerate(findings):
        if f.due_on < f.raised_on:
            reasons.append(_reason("dates_out_of_order", f"finding {f.finding_id} is due before it was raised",
                                   f"findings[{i}].due_on"))
        if f.closed_on is not None and f.closed_on < f.raised_on:
            reasons.append(_reason("dates_out_of_order", f"finding {f.finding_id} is closed before it was raised",
                                   f"findings[{i}].closed_on"))
        if f.site_id is not None and f.site_id not in scope.site_ids:
            reasons.append(_reason("finding_site_outside_scope", f"finding {f.finding_id} names site {f.site_id} "
                                   "outside the audited scope", f"findings[{i}].site_id"))
    return reasons


def audit_reasons(books: Books, audit: AuditOutcomeSubmitted, today: date, rules: Rules) -> list[Reason]:
    """Why an audit outcome cannot be taken (empty: it can)."""
    reasons: list[Reason] = []
    if audit.audit_completed_on < audit.audit_started_on:
        reasons.append(_reason("dates_out_of_order", "the audit is completed before it started",
                               "audit_completed_on"))
    if audit.audit_completed_on > today:
        reasons.append(_reason("date_in_future", f"the audit is completed on {audit.audit_completed_on}, "
                               f"after today ({today})", "audit_completed_on"))
    reasons += _body_reasons(books, audit.certification_body_id, audit.actor.organisation_id, audit.actor.role,
                             audit.audit_started_on, audit.audit_completed_on)
    if audit.organisation_id not in books.members:
        reasons.append(_reason("unknown_member", f"organisation {audit.organisation_id} is not a member",
                               "organisation_id"))
    reasons += _scope_reasons(books, audit.organisation_id, audit.scope, "scope")
    reasons += _finding_reasons(audit.findings, audit.scope)
    if audit.audit_type is AuditType.INITIAL:
        if audit.certificate_id is not None:
            reasons.append(_reason("certificate_id_not_expected",
                                   "an initial audit issues a new certificate: leave certificate_id empty",
                                   "certificate_id"))
    else:
        reasons += _previous_certificate_reasons(books, audit)
    if audit.audit_type is not AuditType.SURVEILLANCE:
        years = rules.provisional_validity_years if major_count(audit.findings) else rules.full_validity_years
        if last_valid_day(audit.audit_completed_on, years) < today:
            reasons.append(_reason("audit_too_old", f"a certificate from an audit completed on "
                                   f"{audit.audit_completed_on} would already have expired", "audit_completed_on"))
    return reasons


def _previous_certificate_reasons(books: Books, audit: AuditOutcomeSubmitted) -> list[Reason]:
    kind = audit.audit_type.value
    if audit.certificate_id is None:
        return [_reason("certificate_id_required", f"a {kind} audit names the certificate it concerns",
                        "certificate_id")]
    certificate = books.certificates.get(audit.certificate_id)
    if certificate is None:
        return [_reason("unknown_certificate", f"certificate {audit.certificate_id} does not exist",
                        "certificate_id")]
    reasons = []
    if certificate.organisation_id != audit.organisation_id:
        reasons.append(_reason("certificate_of_other_member", f"{certificate.certificate_number} belongs to "
                               f"{certificate.organisation_id}", "certificate_id"))
    if certificate.standard is not audit.standard:
        reasons.append(_reason("standard_mismatch", f"{certificate.certificate_number} is a "
                               f"{certificate.standard.value} certificate", "standard"))
    if audit.audit_type is AuditType.SURVEILLANCE:
        reasons += _status_reasons(certificate, LIVE, "audit")
        outside = [s for s in audit.scope.site_ids if s not in certificate.scope.site_ids]
        if outside:
            reasons.append(_reason("scope_mismatch", f"sites {', '.join(outside)} are not covered by "
                                   f"{certificate.certificate_number}", "scope.site_ids"))
        if audit.audit_completed_on < certificate.valid_from:
            reasons.append(_reason("dates_out_of_order", "the surveillance audit is completed before the "
                                   "certificate was valid", "audit_completed_on"))
        known = {f.finding_id: f for f in certificate.findings}
        for i, f in enumerate(audit.findings):
            existing = known.get(f.finding_id)
            if existing is None:
                continue
            if f.closed_on is None:
                reasons.append(_reason("duplicate_finding_id", f"finding {f.finding_id} already exists on "
                                       f"{certificate.certificate_number}; send it with closed_on to close it",
                                       f"findings[{i}].finding_id"))
            elif existing.closed_on is not None:
                reasons.append(_reason("finding_already_closed", f"finding {f.finding_id} was closed on "
                                       f"{existing.closed_on}", f"findings[{i}].closed_on"))
    else:
        allowed = frozenset({*CURRENT, CertificateStatus.EXPIRED})
        reasons += _status_reasons(certificate, allowed, "re-certify")
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
        return Outcome(refused=[_reason("duplicate_audit_id", f"audit {audit.audit_id} was already submitted "
                                        "with different content", "audit_id")], organisation_id=org)
    today = today_utc(now)
    reasons = audit_reasons(books, audit, today, rules)
    if reasons:
        return Outcome(refused=reasons, organisation_id=org)
    if audit.audit_type is AuditType.SURVEILLANCE:
        changes = _surveil(books, audit, now, rules)
        _remember(books, audit, digest, "surveillance", audit.certificate_id)
        return Outcome(books.record(changes))
    majors = major_count(audit.findings)
    if majors > rules.max_major_ncs:
        _remember(books, audit, digest, "refused", None)
        return Outcome(refused=[_reason("too_many_major_ncs", f"{majors} Major non-conformances: more than "
                                        f"{rules.max_major_ncs} in one audit, no certificate is issued",
                                        "findings")], organisation_id=org)
    issued = _issue(books, audit, now, rules, majors)
    changes = [Change(issued, CertificateChange.ISSUED, issued.status_reason, now)]
    if audit.audit_type is AuditType.RECERTIFICATION:
        old = books.certificates[audit.certificate_id]  # type: ignore[index]
        if old.status in LIVE:
            reason = f"superseded by {issued.certificate_number} after re-certification audit {audit.audit_id}"
            replaced = _revise(old, now, status=CertificateStatus.SUPERSEDED,
                               superseded_by_certificate_id=issued.certificate_id, status_reason=reason)
            changes.append(Change(replaced, CertificateChange.SUPERSEDED, reason, now))
    _remember(books, audit, digest, "issued", issued.certificate_id)
    return Outcome(books.record(changes))


def _remember(books: Books, audit: AuditOutcomeSubmitted, digest: str, outcome: str, cid: str | None) -> None:
    books.audit_digests[audit.audit_id] = digest
    books.new_audits.append(AuditRecord(audit, digest, outcome, cid))


def _recorded(findings: Iterable[Finding], audit_id: str) -> list[Finding]:
    return [f.model_copy(update={"audit_id": audit_id}) for f in findings]


def _issue(books: Books, audit: AuditOutcomeSubmitted, now: datetime, rules: Rules, majors: int) -> Certificate:
    today = today_utc(now)
    provisional = majors > 0
    years = rules.provisional_validity_years if provisional else rules.full_validity_years
    kind = "re-certification" if audit.audit_type is AuditType.RECERTIFICATION else "initial"
    status_reason = (f"{kind} audit {audit.audit_id}: {majors} Major NC(s), provisional for {years} year(s)"
                     if provisional else f"{kind} audit {audit.audit_id}: no Major NC, full for {years} year(s)")
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
        valid_until=last_valid_day(audit.audit_completed_on, years),
        findings=_recorded(audit.findings, audit.audit_id),
        supersedes_certificate_id=audit.certificate_id,
        status_reason=status_reason,
        revision=1,
        updated_at=now,
    )


def _surveil(books: Books, audit: AuditOutcomeSubmitted, now: datetime, rules: Rules) -> list[Change]:
    """Surveillance adds new findings and closes listed ones. A new open Major on a full
    certificate downgrades it to provisional (validity cut to one year from the audit, never
    extended); more than `max_major_ncs` new open Majors also suspend it."""
    certificate = books.certificates[audit.certificate_id]  # type: ignore[index]
    closing = {f.finding_id: f.closed_on for f in audit.findings if f.closed_on is not None}
    known = {f.finding_id for f in certificate.findings}
    new = [f for f in audit.findings if f.finding_id not in known]
    closed = [f.model_copy(update={"closed_on": closing[f.finding_id]})
              if f.finding_id in closing and f.closed_on is None else f for f in certificate.findings]
    if not new and closed == certificate.findings:
        return []
    findings = closed + _recorded(new, audit.audit_id)
    new_majors = sum(1 for f in new if f.severity is Severity.MAJOR and f.closed_on is None)
    update: dict[str, object] = {"findings": findings}
    change = CertificateChange.FINDINGS_ADDED if new else CertificateChange.FINDING_CLOSED
    reason = f"surveillance audit {audit.audit_id}: {len(new)} new finding(s), {len(closing)} closed"
    if new_majors and not certificate.provisional:
        cut = last_valid_day(audit.audit_completed_on, rules.provisional_validity_years)
        update |= {"provisional": True, "valid_until": min(certificate.valid_until, cut)}
        if certificate.status is CertificateStatus.ACTIVE:
            update["status"] = CertificateStatus.PROVISIONAL
        change = CertificateChange.DOWNGRADED_TO_PROVISIONAL
        reason = f"surveillance audit {audit.audit_id}: {new_majors} new Major NC(s), provisional until {update['valid_until']}"
    if new_majors > rules.max_major_ncs and certificate.status in CURRENT:
        update["status"] = CertificateStatus.SUSPENDED
        change = CertificateChange.SUSPENDED
        reason = (f"surveillance audit {audit.audit_id}: {new_majors} new Major NCs, more than "
                  f"{rules.max_major_ncs}")
    if change is not CertificateChange.FINDINGS_ADDED and change is not CertificateChange.FINDING_CLOSED:
        update["status_reason"] = reason
    return [Change(_revise(certificate, now, **update), change, reason, now)]


def close_nonconformity(books: Books, message: NonconformityClosed, now: datetime) -> Outcome:
    org = message.organisation_id
    today = today_utc(now)
    reasons = _body_reasons(books, message.certification_body_id, message.actor.organisation_id,
                            message.actor.role, message.closed_on)
    certificate = books.certificates.get(message.certificate_id)
    if certificate is None:
        reasons.append(_reason("unknown_certificate", f"certificate {message.certificate_id} does not exist",
                               "certificate_id"))
        return Outcome(refused=reasons, organisation_id=org)
    if certificate.organisation_id != org:
        reasons.append(_reason("certificate_of_other_member", f"{certificate.certificate_number} belongs to "
                               f"{certificate.organisation_id}", "certificate_id"))
    reasons += _status_reasons(certificate, LIVE, "close findings on")
    finding = next((f for f in certificate.findings if f.finding_id == message.finding_id), None)
    if finding is None:
        reasons.append(_reason("unknown_finding", f"{certificate.certificate_number} has no finding "
                               f"{message.finding_id}", "finding_id"))
    else:
        if finding.closed_on is not None:
            reasons.append(_reason("finding_already_closed", f"finding {finding.finding_id} was closed on "
                                   f"{finding.closed_on}", "finding_id"))
        if message.closed_on < finding.raised_on:
            reasons.append(_reason("dates_out_of_order", f"closed on {message.closed_on}, before it was raised "
                                   f"on {finding.raised_on}", "closed_on"))
    if message.closed_on > today:
        reasons.append(_reason("date_in_future", f"closed on {message.closed_on}, after today ({today})",
                               "closed_on"))
    if reasons:
        return Outcome(refused=reasons, organisation_id=org)
    findings = [f.model_copy(update={"closed_on": message.closed_on}) if f.finding_id == message.finding_id else f
                for f in certificate.findings]
    reason = f"finding {message.finding_id} closed on {message.closed_on}: {message.evidence}"[:2000]
    return Outcome(books.record([Change(_revise(certificate, now, findings=findings), CertificateChange.FINDING_CLOSED,
                                        reason, now)]))


# ---- secretariat commands ------------------------------------------------------------------


def apply_command(books: Books, command: LifecycleCommand, now: datetime) -> Outcome:
    """Suspend, reinstate, withdraw or change the scope of a certificate (secretariat only)."""
    certificate = books.certificates.get(command.certificate_id)
    org = certificate.organisation_id if certificate else command.actor.organisation_id
    reasons: list[Reason] = []
    if command.actor.role is not Role.SECRETARIAT:
        reasons.append(_reason("not_secretariat", "only the ASI secretariat changes certificates", "actor.role"))
    if certificate is None:
        reasons.append(_reason("unknown_certificate", f"certificate {command.certificate_id} does not exist",
                               "certificate_id"))
        return Outcome(refused=reasons, organisation_id=org)
    if isinstance(command, SuspendCertificate):
        reasons += _status_reasons(certificate, CURRENT, "suspend")
        update = {"status": CertificateStatus.SUSPENDED}
        change = CertificateChange.SUSPENDED
    elif isinstance(command, ReinstateCertificate):
        if certificate.status is not CertificateStatus.SUSPENDED:
            reasons += _status_reasons(certificate, LIVE, "reinstate") or [
                _reason("not_suspended", f"{certificate.certificate_number} is not suspended", "certificate_id")]
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


def due_changes(certificate: Certificate, now: datetime) -> list[Change]:
    """What the clock does to a certificate by `now`, in date order: open Majors past due flagged
    (each once), then expiry the day after `valid_until`. Each change is dated when it became due,
    so a service that was down catches up with the same events it would have published."""
    today = today_utc(now)
    changes: list[Change] = []
    if certificate.status not in LIVE:
        return changes
    overdue = sorted((f for f in certificate.findings
                      if f.severity is Severity.MAJOR and f.closed_on is None and not f.overdue
                      and f.due_on < today and f.due_on <= certificate.valid_until),
                     key=lambda f: (f.due_on, f.finding_id))
    for finding in overdue:
        findings = [f.model_copy(update={"overdue": True}) if f.finding_id == finding.finding_id else f
                    for f in certificate.findings]
        certificate = _revise(certificate, now, findings=findings)
        reason = f"Major finding {finding.finding_id} ({finding.principle} {finding.criterion}) was due on {finding.due_on}"
        changes.append(Change(certificate, CertificateChange.FINDING_OVERDUE, reason,
                              start_of(finding.due_on + timedelta(days=1))))
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
