"""Builders for the certificates domain tests: a registered member with sites and an accredited
body."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from contracts.audits import (
    AuditOutcomeSubmitted,
    AuditType,
    CorrectiveActionPlanApproved,
    CorrectiveActionPlanSubmitted,
    NonconformityClosed,
)
from contracts.certificates import (
    ChangeCertificateScope,
    ReinstateCertificate,
    SuspendCertificate,
    WithdrawCertificate,
)
from contracts.common import Activity, Actor, Role, Standard
from contracts.registry import (
    CertificateScope,
    CertificationBody,
    CorrectiveAction,
    Finding,
    Member,
    MembershipClass,
    ScopeLevel,
    Severity,
    Site,
)
from services.certificates.domain.books import Books
from services.certificates.domain.rules import Rules

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
TODAY = NOW.date()
RULES = Rules()
ORG, OTHER, BODY, OTHER_BODY = "org-smelter", "org-other", "cb-audits", "cb-other"
SECRETARIAT = Actor(organisation_id="asi", role=Role.SECRETARIAT)
BODY_ACTOR = Actor(organisation_id=BODY, role=Role.CERTIFICATION_BODY)
OTHER_BODY_ACTOR = Actor(organisation_id=OTHER_BODY, role=Role.CERTIFICATION_BODY)


def books() -> Books:
    return Books(
        members={
            ORG: Member(
                organisation_id=ORG,
                name="Smelter",
                membership_class=MembershipClass.PRODUCTION_AND_TRANSFORMATION,
                joined_on=date(2024, 1, 1),
            ),
            OTHER: Member(
                organisation_id=OTHER,
                name="Other",
                membership_class=MembershipClass.INDUSTRIAL_USERS,
                joined_on=date(2024, 1, 1),
            ),
        },
        sites={
            "site-a": Site(
                site_id="site-a",
                organisation_id=ORG,
                name="A",
                country="NO",
                activities=[Activity.SMELTING, Activity.CASTING],
            ),
            "site-b": Site(
                site_id="site-b",
                organisation_id=ORG,
                name="B",
                country="NO",
                activities=[Activity.ROLLING],
            ),
            "site-x": Site(
                site_id="site-x",
                organisation_id=OTHER,
                name="X",
                country="DE",
                activities=[Activity.ROLLING],
            ),
        },
        bodies={
            BODY: CertificationBody(
                certification_body_id=BODY,
                name="Audits Ltd",
                accredited_from=date(2025, 1, 1),
                accredited_until=date(2027, 12, 31),
            ),
            OTHER_BODY: CertificationBody(
                certification_body_id=OTHER_BODY,
                name="Other Audits",
                accredited_from=date(2025, 1, 1),
                accredited_until=date(2029, 12, 31),
            ),
        },
    )


def finding(
    finding_id: str,
    severity: Severity = Severity.MAJOR,
    *,
    principle: str = "PS-9",
    raised: date = date(2026, 5, 20),
    due_in_days: int = 180,
    closed_on: date | None = None,
    site_id: str | None = None,
) -> Finding:
    return Finding(
        finding_id=finding_id,
        principle=principle,
        criterion="9.1",
        severity=severity,
        site_id=site_id,
        description="not yet",
        raised_on=raised,
        due_on=raised + timedelta(days=due_in_days),
        closed_on=closed_on,
    )


def majors(n: int) -> list[Finding]:
    return [finding(f"NC-{i}") for i in range(n)]


def scope(*sites: str, activities: tuple[Activity, ...] = ()) -> CertificateScope:
    return CertificateScope(
        level=ScopeLevel.FACILITY, site_ids=list(sites or ("site-a",)), activities=list(activities)
    )


def audit(
    audit_id: str = "AUD-1",
    *,
    audit_type: AuditType = AuditType.INITIAL,
    findings: list[Finding] | None = None,
    standard: Standard = Standard.PERFORMANCE_STANDARD,
    started: date = date(2026, 5, 18),
    completed: date = date(2026, 5, 20),
    certificate_id: str | None = None,
    organisation_id: str = ORG,
    audit_scope: CertificateScope | None = None,
    actor: Actor = BODY_ACTOR,
    body: str = BODY,
) -> AuditOutcomeSubmitted:
    return AuditOutcomeSubmitted.create(
        actor=actor,
        occurred_at=NOW,
        audit_id=audit_id,
        certification_body_id=body,
        organisation_id=organisation_id,
        audit_type=audit_type,
        standard=standard,
        standard_version="V3-2022",
        audit_started_on=started,
        audit_completed_on=completed,
        scope=audit_scope or scope(),
        findings=findings or [],
        certificate_id=certificate_id,
    )


def closure(
    certificate_id: str, finding_id: str, closed_on: date = date(2026, 5, 30), *, body: str = BODY
) -> NonconformityClosed:
    actor = Actor(organisation_id=body, role=Role.CERTIFICATION_BODY)
    return NonconformityClosed.create(
        actor=actor,
        occurred_at=NOW,
        certification_body_id=body,
        organisation_id=ORG,
        certificate_id=certificate_id,
        finding_id=finding_id,
        closed_on=closed_on,
        evidence="corrective action verified",
    )


def suspend(certificate_id: str, actor: Actor = SECRETARIAT) -> SuspendCertificate:
    return SuspendCertificate.create(
        actor=actor, occurred_at=NOW, certificate_id=certificate_id, reason="unpaid fees"
    )


def reinstate(certificate_id: str) -> ReinstateCertificate:
    return ReinstateCertificate.create(
        actor=SECRETARIAT, occurred_at=NOW, certificate_id=certificate_id, reason="paid"
    )


def withdraw(certificate_id: str) -> WithdrawCertificate:
    return WithdrawCertificate.create(
        actor=SECRETARIAT, occurred_at=NOW, certificate_id=certificate_id, reason="fraud"
    )


def change_scope(certificate_id: str, new_scope: CertificateScope) -> ChangeCertificateScope:
    return ChangeCertificateScope.create(
        actor=SECRETARIAT,
        occurred_at=NOW,
        certificate_id=certificate_id,
        scope=new_scope,
        reason="site added",
    )


def cap_submitted(
    certificate_id: str,
    dues: dict[str, date],
    *,
    audit_id: str = "AUD-1",
    submitted_on: date = date(2026, 5, 28),
    body: str = BODY,
) -> CorrectiveActionPlanSubmitted:
    return CorrectiveActionPlanSubmitted.create(
        actor=Actor(organisation_id=body, role=Role.CERTIFICATION_BODY),
        occurred_at=NOW,
        certification_body_id=body,
        organisation_id=ORG,
        certificate_id=certificate_id,
        audit_id=audit_id,
        submitted_on=submitted_on,
        actions=[
            CorrectiveAction(finding_id=f, due_on=d, action="fix it") for f, d in dues.items()
        ],
    )


def cap_approved(
    certificate_id: str,
    *,
    audit_id: str = "AUD-1",
    approved_on: date = date(2026, 5, 29),
    body: str = BODY,
) -> CorrectiveActionPlanApproved:
    return CorrectiveActionPlanApproved.create(
        actor=Actor(organisation_id=body, role=Role.CERTIFICATION_BODY),
        occurred_at=NOW,
        certification_body_id=body,
        organisation_id=ORG,
        certificate_id=certificate_id,
        audit_id=audit_id,
        approved_on=approved_on,
    )
