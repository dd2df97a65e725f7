"""The clock: expiry at the end date, overdue Majors and members that must certify, each exactly
once, whenever the service looks (catch-up after downtime)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from contracts.certificates import CertificateChange
from contracts.registry import CertificateStatus, Member, MembershipClass, Severity
from libs.clock import ManualClock
from services.certificates.domain.audits import submit_audit
from services.certificates.domain.clock import due_changes, open_major_due
from services.certificates.domain.membership import certification_deadline, certification_overdue
from tests.unit.certificates.builders import NOW, ORG, RULES, audit, books, finding, majors

# These tests are about expiry and overdue Majors: no surveillance falls due before expiry
# (surveillance has its own tests, test_surveillance.py).
NO_SURVEILLANCE = replace(RULES, surveillance_due_months=36)


def certificate(n_majors: int = 0, findings=None):
    return (
        submit_audit(
            books(),
            audit(findings=findings if findings is not None else majors(n_majors)),
            NOW,
            NO_SURVEILLANCE,
        )
        .changes[0]
        .certificate
    )


def at(day: date, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def run_clock(cert, clock: ManualClock):
    changes = due_changes(cert, clock.now(), NO_SURVEILLANCE)
    return (changes[-1].certificate if changes else cert), changes


def test_a_certificate_expires_the_day_after_its_end_date_exactly_once():
    cert = certificate()
    assert cert.valid_until == date(2029, 5, 19)
    clock = ManualClock(at(date(2029, 5, 19), 23, 59))
    cert, changes = run_clock(cert, clock)
    assert changes == []
    clock.set(at(date(2029, 5, 20)))
    cert, [expired] = run_clock(cert, clock)
    assert expired.change is CertificateChange.EXPIRED and cert.status is CertificateStatus.EXPIRED
    assert expired.occurred_at == at(date(2029, 5, 20)) and cert.revision == 2
    clock.advance(timedelta(days=400))
    assert run_clock(cert, clock)[1] == []


def test_after_downtime_the_clock_catches_up_with_the_events_dated_when_they_fell_due():
    cert = certificate(
        findings=[
            finding("NC-late", due_in_days=30),
            finding("NC-later", due_in_days=60),
            finding("NC-done", due_in_days=10, closed_on=date(2026, 5, 25)),
            finding("m", Severity.MINOR, due_in_days=5),
        ]
    )
    clock = ManualClock(NOW)
    clock.advance(timedelta(days=3 * 365))  # the service was down for three years
    cert, changes = run_clock(cert, clock)
    assert [c.change for c in changes] == [
        CertificateChange.FINDING_OVERDUE,
        CertificateChange.CAP_OVERDUE,
        CertificateChange.FINDING_OVERDUE,
        CertificateChange.EXPIRED,
    ]
    assert [c.occurred_at.date() for c in changes] == [
        date(2026, 6, 20),
        date(2026, 6, 21),
        date(2026, 7, 20),
        date(2027, 5, 20),
    ]
    assert [c.certificate.revision for c in changes] == [2, 3, 4, 5]
    assert {f.finding_id for f in cert.findings if f.overdue} == {"NC-late", "NC-later"}
    assert run_clock(cert, clock)[1] == []


def test_a_major_is_overdue_the_day_after_its_due_date_and_flagged_once():
    cert = certificate(findings=[finding("NC-1", due_in_days=30)])
    due = date(2026, 6, 19)
    assert open_major_due(cert) == due
    clock = ManualClock(at(due, 23, 59))
    assert run_clock(cert, clock)[1] == []
    clock.set(at(due + timedelta(days=1)))
    cert, [flag] = run_clock(cert, clock)
    assert flag.change is CertificateChange.FINDING_OVERDUE and "NC-1" in flag.reason
    assert cert.status is CertificateStatus.PROVISIONAL and open_major_due(cert) is None
    assert run_clock(cert, clock)[1] == []


def test_findings_due_after_the_end_are_not_flagged_and_dead_certificates_are_left_alone():
    cert = certificate(findings=[finding("NC-1", due_in_days=800)])
    clock = ManualClock(at(date(2030, 1, 1)))
    cert, changes = run_clock(cert, clock)
    assert [c.change for c in changes] == [CertificateChange.CAP_OVERDUE, CertificateChange.EXPIRED]
    withdrawn = certificate(n_majors=1).model_copy(update={"status": CertificateStatus.WITHDRAWN})
    assert due_changes(withdrawn, at(date(2030, 1, 1))) == []


def test_suspended_certificates_expire_too():
    cert = certificate().model_copy(update={"status": CertificateStatus.SUSPENDED})
    [expired] = due_changes(cert, at(date(2029, 5, 20)))
    assert expired.certificate.status is CertificateStatus.EXPIRED


def member(klass: MembershipClass, joined: date = date(2024, 6, 1)) -> Member:
    return Member(organisation_id=ORG, name="m", membership_class=klass, joined_on=joined)


def test_must_certify_members_are_overdue_the_day_after_two_years_without_a_current_ps_cert():
    m = member(MembershipClass.PRODUCTION_AND_TRANSFORMATION)
    assert certification_deadline(m, RULES) == date(2026, 6, 1)
    assert not certification_overdue(m, [], date(2026, 6, 1), RULES)
    assert certification_overdue(m, [], date(2026, 6, 2), RULES)
    ps = certificate()
    assert not certification_overdue(m, [ps], date(2026, 6, 2), RULES)
    coc = ps.model_copy(update={"standard": "chain_of_custody"})
    assert certification_overdue(m, [coc], date(2026, 6, 2), RULES)
    lapsed = ps.model_copy(update={"status": CertificateStatus.EXPIRED})
    assert certification_overdue(m, [lapsed], date(2026, 6, 2), RULES)
    assert certification_overdue(
        member(MembershipClass.INDUSTRIAL_USERS), [], date(2026, 6, 2), RULES
    )


def test_other_classes_never_have_to_certify():
    for klass in (
        MembershipClass.CIVIL_SOCIETY,
        MembershipClass.DOWNSTREAM_SUPPORTERS,
        MembershipClass.ASSOCIATIONS,
        MembershipClass.GENERAL_SUPPORTERS,
    ):
        assert certification_deadline(member(klass), RULES) is None
        assert not certification_overdue(member(klass), [], date(2040, 1, 1), RULES)


def test_a_member_joining_on_29_february_has_until_28_february():
    assert certification_deadline(
        member(MembershipClass.INDUSTRIAL_USERS, date(2024, 2, 29)), RULES
    ) == date(2026, 2, 28)
