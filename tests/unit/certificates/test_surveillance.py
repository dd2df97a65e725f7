"""More than three Majors in any audit (Assurance Manual 6.4); surveillance due, overdue, grace,
suspension and passed; open findings carried to the certificate a re-certification issues."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from contracts.audits import AuditType
from contracts.certificates import CertificateChange
from contracts.registry import CertificateStatus
from services.certificates.domain.audits import submit_audit
from services.certificates.domain.clock import due_changes
from services.certificates.domain.commands import apply_command
from services.certificates.domain.figures import nc_figures
from tests.unit.certificates.builders import (
    NOW,
    OTHER_BODY,
    OTHER_BODY_ACTOR,
    RULES,
    audit,
    books,
    finding,
    majors,
    suspend,
)


def at(day: date, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def refused(outcome) -> dict[str, str | None]:
    assert outcome.refused is not None, "expected a refusal"
    return {r.code: r.field for r in outcome.refused}


def full(b, audit_id: str = "AUD-1"):
    return submit_audit(b, audit(audit_id), NOW, RULES).changes[0].certificate


def surveil(
    b,
    cid: str,
    findings,
    completed: date = date(2026, 5, 26),
    audit_id: str = "SURV-1",
    rules=RULES,
):
    message = audit(
        audit_id,
        audit_type=AuditType.SURVEILLANCE,
        certificate_id=cid,
        findings=findings,
        started=completed,
        completed=completed,
        actor=OTHER_BODY_ACTOR,
        body=OTHER_BODY,
    )
    return submit_audit(b, message, max(NOW, at(completed, 12)), rules)


# ---- more than three Majors in any audit ---------------------------------------------------


@pytest.mark.parametrize(("n", "issued"), [(3, True), (4, False)])
def test_initial_audit_three_majors_provisional_four_refused(n: int, issued: bool):
    b = books()
    outcome = submit_audit(b, audit(findings=majors(n)), NOW, RULES)
    if issued:
        assert outcome.changes[0].certificate.status is CertificateStatus.PROVISIONAL
    else:
        assert refused(outcome) == {"too_many_major_ncs": "findings"} and b.certificates == {}
        assert [r.outcome for r in b.new_audits] == ["refused"]


@pytest.mark.parametrize(("n", "issued"), [(3, True), (4, False)])
def test_recertification_three_majors_provisional_four_refused(n: int, issued: bool):
    b = books()
    old = full(b)
    outcome = submit_audit(
        b,
        audit(
            "AUD-R",
            audit_type=AuditType.RECERTIFICATION,
            certificate_id=old.certificate_id,
            findings=majors(n),
        ),
        NOW,
        RULES,
    )
    if issued:
        assert outcome.changes[0].certificate.status is CertificateStatus.PROVISIONAL
    else:
        assert refused(outcome) == {"too_many_major_ncs": "findings"}
        assert b.certificates[old.certificate_id] == old


@pytest.mark.parametrize(
    ("n", "change", "status"),
    [
        (3, CertificateChange.DOWNGRADED_TO_PROVISIONAL, CertificateStatus.PROVISIONAL),
        (4, CertificateChange.WITHDRAWN, CertificateStatus.WITHDRAWN),
    ],
)
def test_surveillance_three_majors_downgrade_four_withdraw(n, change, status):
    b = books()
    cert = full(b)
    [changed] = surveil(b, cert.certificate_id, [finding(f"S-{i}") for i in range(n)]).changes
    assert (changed.change, changed.certificate.status, changed.audit_id) == (
        change,
        status,
        "SURV-1",
    )


def test_majors_raised_and_closed_in_the_same_audit_still_count_and_the_threshold_is_one_setting():
    b = books()
    cert = full(b)
    found = [finding(f"S-{i}", closed_on=date(2026, 5, 26)) for i in range(3)]
    [changed] = surveil(
        b, cert.certificate_id, found, rules=replace(RULES, max_major_ncs=2)
    ).changes
    assert changed.change is CertificateChange.WITHDRAWN
    assert refused(
        submit_audit(books(), audit(findings=majors(3)), NOW, replace(RULES, max_major_ncs=2))
    ) == {"too_many_major_ncs": "findings"}


def test_a_suspended_certificate_is_withdrawn_too():
    b = books()
    cert = full(b)
    apply_command(b, suspend(cert.certificate_id), NOW)
    [changed] = surveil(b, cert.certificate_id, majors(4)).changes
    assert changed.certificate.status is CertificateStatus.WITHDRAWN


# ---- surveillance due ----------------------------------------------------------------------


def test_a_full_certificate_is_due_for_surveillance_within_24_months_a_provisional_one_never():
    b = books()
    assert full(b).surveillance_due_on == date(2028, 5, 20)
    provisional = (
        submit_audit(b, audit("AUD-P", findings=majors(1)), NOW, RULES).changes[0].certificate
    )
    assert provisional.surveillance_due_on is None


def test_a_missed_surveillance_is_flagged_the_day_after_then_suspended_after_the_grace_period():
    cert = full(books())
    due = date(2028, 5, 20)
    assert due_changes(cert, at(due, 23, 59), RULES) == []
    [flag] = due_changes(cert, at(date(2028, 5, 21)), RULES)
    assert flag.change is CertificateChange.SURVEILLANCE_OVERDUE and flag.occurred_at == at(
        date(2028, 5, 21)
    )
    cert = flag.certificate
    assert cert.surveillance_overdue and cert.status is CertificateStatus.ACTIVE
    assert (
        due_changes(cert, at(date(2028, 7, 19), 23, 59), RULES) == []
    )  # 60 days of grace end on 19 July
    [suspended] = due_changes(cert, at(date(2028, 7, 20)), RULES)
    assert suspended.change is CertificateChange.SUSPENDED and suspended.occurred_at == at(
        date(2028, 7, 20)
    )
    assert suspended.certificate.status is CertificateStatus.SUSPENDED
    assert due_changes(suspended.certificate, at(date(2028, 9, 1)), RULES) == []


def test_catching_up_flags_then_suspends_in_date_order():
    cert = full(books())
    flag, suspended = due_changes(cert, at(date(2028, 8, 1)), RULES)
    assert [flag.change, suspended.change] == [
        CertificateChange.SURVEILLANCE_OVERDUE,
        CertificateChange.SUSPENDED,
    ]
    assert [flag.certificate.revision, suspended.certificate.revision] == [2, 3]


def test_the_grace_period_is_a_setting_and_a_suspended_certificate_is_only_flagged():
    cert = full(books())
    rules = replace(RULES, surveillance_grace_days=1)
    assert [c.change for c in due_changes(cert, at(date(2028, 5, 21)), rules)] == [
        CertificateChange.SURVEILLANCE_OVERDUE
    ]
    assert [c.change for c in due_changes(cert, at(date(2028, 5, 22)), rules)] == [
        CertificateChange.SURVEILLANCE_OVERDUE,
        CertificateChange.SUSPENDED,
    ]
    assert [
        c.change
        for c in due_changes(cert, at(date(2028, 5, 21)), replace(RULES, surveillance_grace_days=0))
    ] == [CertificateChange.SURVEILLANCE_OVERDUE, CertificateChange.SUSPENDED]
    suspended = cert.model_copy(update={"status": CertificateStatus.SUSPENDED})
    assert [c.change for c in due_changes(suspended, at(date(2028, 9, 1)), rules)] == [
        CertificateChange.SURVEILLANCE_OVERDUE
    ]


def test_a_surveillance_audit_counts_in_its_window_and_a_clean_one_is_passed():
    b = books()
    cert = full(b)
    [early] = surveil(
        b, cert.certificate_id, [], completed=date(2027, 5, 19)
    ).changes  # window opens 20 May 2027
    assert early.change is CertificateChange.SURVEILLANCE_PASSED
    assert early.certificate.surveillance_due_on == date(2028, 5, 20)
    [counted] = surveil(
        b, cert.certificate_id, [], completed=date(2027, 5, 20), audit_id="SURV-2"
    ).changes
    assert counted.change is CertificateChange.SURVEILLANCE_PASSED
    assert (
        counted.certificate.surveillance_due_on is None
    )  # the next one would fall after expiry: re-certify


def test_a_late_surveillance_within_grace_clears_the_flag():
    b = books()
    cert = full(b)
    [flag] = due_changes(cert, at(date(2028, 5, 21)), RULES)
    b.certificates[cert.certificate_id] = flag.certificate
    body = b.bodies[OTHER_BODY]
    assert body.accredited_until >= date(2028, 6, 1)
    [late] = surveil(
        b,
        cert.certificate_id,
        [finding("S-1", "minor", raised=date(2028, 6, 1))],
        completed=date(2028, 6, 1),
    ).changes
    assert late.change is CertificateChange.FINDINGS_ADDED
    assert (late.certificate.surveillance_overdue, late.certificate.surveillance_due_on) == (
        False,
        None,
    )
    assert [p.audit_id for p in late.certificate.corrective_action_plans] == ["SURV-1"]
    assert [c.change for c in due_changes(late.certificate, at(date(2028, 7, 20)), RULES)] == [
        CertificateChange.CAP_OVERDUE
    ]  # its own plan, never the missed surveillance


# ---- re-certification carries open findings -------------------------------------------------


def test_recertification_carries_open_findings_with_their_ids_and_history():
    b = books()
    old = (
        submit_audit(
            b,
            audit(findings=[finding("NC-0"), finding("NC-1"), finding("m-2", "minor")]),
            NOW,
            RULES,
        )
        .changes[0]
        .certificate
    )
    recert = audit(
        "AUD-R",
        audit_type=AuditType.RECERTIFICATION,
        certificate_id=old.certificate_id,
        started=date(2026, 5, 28),
        completed=date(2026, 5, 29),
        findings=[
            finding("NC-0", closed_on=date(2026, 5, 29)),
            finding("R-1", "minor", raised=date(2026, 5, 29)),
        ],
    )
    new, superseded = submit_audit(b, recert, NOW, RULES).changes
    carried = {f.finding_id: f for f in new.certificate.findings}
    assert set(carried) == {"NC-0", "NC-1", "m-2", "R-1"}
    assert carried["NC-1"] == next(f for f in old.findings if f.finding_id == "NC-1")
    assert (carried["NC-0"].closed_on, carried["NC-0"].audit_id) == (date(2026, 5, 29), "AUD-1")
    assert carried["R-1"].audit_id == "AUD-R"
    assert new.certificate.provisional, (
        "an open Major carried over keeps the new certificate provisional"
    )
    assert [p.audit_id for p in new.certificate.corrective_action_plans] == ["AUD-1", "AUD-R"]
    assert superseded.certificate.findings == old.findings
    figures = nc_figures(b.certificates.values(), date(2026, 6, 1))
    assert (figures["total"]["major"], figures["total"]["minor"], figures["total"]["closed"]) == (
        2,
        2,
        1,
    )


def test_recertification_may_not_reraise_an_open_findings_id():
    b = books()
    old = submit_audit(b, audit(findings=majors(1)), NOW, RULES).changes[0].certificate
    recert = audit(
        "AUD-R",
        audit_type=AuditType.RECERTIFICATION,
        certificate_id=old.certificate_id,
        findings=[finding("NC-0")],
    )
    assert refused(submit_audit(b, recert, NOW, RULES)) == {
        "duplicate_finding_id": "findings[0].finding_id"
    }


def test_at_initial_audit_majors_closed_during_the_audit_count_too():
    found = [*majors(3), finding("NC-closed", closed_on=date(2026, 5, 20))]
    assert refused(submit_audit(books(), audit(findings=found), NOW, RULES)) == {
        "too_many_major_ncs": "findings"
    }
