"""A provisional certificate whose Majors are all verified closed by the body that audited it
becomes full, valid three years from its original certification date; and the journey from audit
to full certificate, replayed from its events, rebuilds the same registry."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from contracts.audits import AuditType
from contracts.certificates import CertificateChange, CertificateChanged
from contracts.registry import CertificateStatus
from services.certificates.domain.audits import submit_audit
from services.certificates.domain.commands import apply_command
from services.certificates.domain.figures import rebuild
from services.certificates.domain.findings import close_nonconformity, corrective_action_plan
from tests.unit.certificates.builders import (
    BODY_ACTOR,
    NOW,
    OTHER_BODY,
    OTHER_BODY_ACTOR,
    RULES,
    audit,
    books,
    cap_approved,
    cap_submitted,
    closure,
    finding,
    majors,
    suspend,
)


def provisional(b, n_majors: int = 2):
    return submit_audit(b, audit(findings=majors(n_majors)), NOW, RULES).changes[0].certificate


def test_closing_the_last_major_upgrades_to_full_from_the_original_certification_date():
    b = books()
    cert = provisional(b)
    assert (cert.valid_from, cert.valid_until, cert.surveillance_due_on) == (
        date(2026, 5, 20),
        date(2027, 5, 19),
        None,
    )
    [first] = close_nonconformity(b, closure(cert.certificate_id, "NC-0"), NOW, RULES).changes
    assert (
        first.certificate.provisional and first.certificate.status is CertificateStatus.PROVISIONAL
    )
    closed, upgraded = close_nonconformity(
        b, closure(cert.certificate_id, "NC-1", date(2026, 5, 31)), NOW, RULES
    ).changes
    assert closed.change is CertificateChange.FINDING_CLOSED
    assert upgraded.change is CertificateChange.UPGRADED_TO_FULL
    full = upgraded.certificate
    assert (full.status, full.provisional, full.valid_from, full.valid_until) == (
        CertificateStatus.ACTIVE,
        False,
        date(2026, 5, 20),
        date(2029, 5, 19),
    )
    assert full.surveillance_due_on == date(2028, 5, 20)
    assert (full.certificate_number, full.revision) == (cert.certificate_number, 4)


def test_the_upgrade_may_count_from_the_closure_instead_as_a_parameter():
    b = books()
    cert = provisional(b, 1)
    rules = replace(RULES, upgrade_from_original_date=False)
    _, upgraded = close_nonconformity(
        b, closure(cert.certificate_id, "NC-0", date(2026, 5, 31)), NOW, rules
    ).changes
    assert upgraded.certificate.valid_until == date(2029, 5, 30)


def test_majors_closed_by_another_body_do_not_upgrade():
    b = books()
    cert = provisional(b, 1)
    [closed] = close_nonconformity(
        b, closure(cert.certificate_id, "NC-0", body=OTHER_BODY), NOW, RULES
    ).changes
    assert closed.change is CertificateChange.FINDING_CLOSED
    assert closed.certificate.provisional and closed.certificate.findings[0].closed_by == OTHER_BODY


def test_a_suspended_provisional_certificate_becomes_full_but_stays_suspended():
    b = books()
    cert = provisional(b, 1)
    apply_command(b, suspend(cert.certificate_id), NOW)
    _, upgraded = close_nonconformity(b, closure(cert.certificate_id, "NC-0"), NOW, RULES).changes
    assert (
        upgraded.certificate.status is CertificateStatus.SUSPENDED
        and not upgraded.certificate.provisional
    )


def test_journey_two_majors_plan_approved_closures_verified_upgraded_and_replay_rebuilds_registry():
    b = books()
    cert = provisional(b)
    cid = cert.certificate_id
    dues = {"NC-0": date(2026, 9, 1), "NC-1": date(2026, 11, 1)}
    assert corrective_action_plan(b, cap_submitted(cid, dues), NOW, RULES).refused is None
    assert corrective_action_plan(b, cap_approved(cid), NOW, RULES).refused is None
    close_nonconformity(b, closure(cid, "NC-0", date(2026, 5, 30)), NOW, RULES)
    close_nonconformity(b, closure(cid, "NC-1", date(2026, 5, 31)), NOW, RULES)
    assert [c.change for c in b.changes] == [
        CertificateChange.ISSUED,
        CertificateChange.CAP_SUBMITTED,
        CertificateChange.CAP_APPROVED,
        CertificateChange.FINDING_CLOSED,
        CertificateChange.FINDING_CLOSED,
        CertificateChange.UPGRADED_TO_FULL,
    ]
    full = b.certificates[cid]
    assert full.status is CertificateStatus.ACTIVE and full.valid_until == date(2029, 5, 19)
    assert full.corrective_action_plans[0].approved_on == date(2026, 5, 29)
    events = [
        CertificateChanged.create(
            actor=BODY_ACTOR,
            occurred_at=c.occurred_at,
            change=c.change,
            certificate=c.certificate,
            audit_id=c.audit_id,
        )
        for c in b.changes
    ]
    replayed = [CertificateChanged.model_validate_json(e.model_dump_json()) for e in events]
    assert rebuild(replayed[::-1] + replayed[:2]) == b.certificates


def test_a_major_raised_at_surveillance_by_another_body_is_verified_closed_by_that_body():
    b = books()
    cert = submit_audit(b, audit(), NOW, RULES).changes[0].certificate
    surveillance = audit(
        "SURV-1",
        audit_type=AuditType.SURVEILLANCE,
        certificate_id=cert.certificate_id,
        findings=[finding("S-1", raised=date(2026, 5, 26))],
        started=date(2026, 5, 26),
        completed=date(2026, 5, 26),
        actor=OTHER_BODY_ACTOR,
        body=OTHER_BODY,
    )
    [downgraded] = submit_audit(b, surveillance, NOW, RULES).changes
    assert downgraded.certificate.provisional
    [by_first_body] = close_nonconformity(
        b, closure(cert.certificate_id, "S-1"), NOW, RULES
    ).changes
    assert by_first_body.certificate.provisional, "not the body that raised it"
    b.certificates[cert.certificate_id] = downgraded.certificate
    _, upgraded = close_nonconformity(
        b, closure(cert.certificate_id, "S-1", body=OTHER_BODY), NOW, RULES
    ).changes
    assert upgraded.change is CertificateChange.UPGRADED_TO_FULL
