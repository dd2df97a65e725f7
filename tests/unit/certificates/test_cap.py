"""Corrective Action Plans: one per audit with open findings, due one month after the on-site audit,
approved by the body that audited; its due dates become the findings'."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

from contracts.certificates import CertificateChange
from services.certificates.domain.audits import submit_audit
from services.certificates.domain.clock import due_changes
from services.certificates.domain.findings import corrective_action_plan
from tests.unit.certificates.builders import (
    NOW,
    OTHER_BODY,
    RULES,
    audit,
    books,
    cap_approved,
    cap_submitted,
    finding,
    majors,
)

NO_SURVEILLANCE = replace(RULES, surveillance_due_months=36)


def at(day: date, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def refused(outcome) -> dict[str, str | None]:
    assert outcome.refused is not None, "expected a refusal"
    return {r.code: r.field for r in outcome.refused}


def provisional(b, n_majors: int = 2):
    return (
        submit_audit(b, audit(findings=majors(n_majors)), NOW, NO_SURVEILLANCE)
        .changes[0]
        .certificate
    )


def test_an_audit_with_open_findings_calls_for_a_plan_one_month_after_the_on_site_audit():
    cert = provisional(books())
    [plan] = cert.corrective_action_plans
    assert (plan.audit_id, plan.audit_completed_on, plan.submit_by) == (
        "AUD-1",
        date(2026, 5, 20),
        date(2026, 6, 20),
    )
    assert plan.submitted_on is None and plan.approved_on is None
    clean = submit_audit(books(), audit(), NOW, NO_SURVEILLANCE).changes[0].certificate
    assert clean.corrective_action_plans == []


def test_a_missing_plan_is_flagged_once_the_day_after_it_was_due():
    cert = provisional(books())
    assert due_changes(cert, at(date(2026, 6, 20), 23, 59), NO_SURVEILLANCE) == []
    [flag] = due_changes(cert, at(date(2026, 6, 21)), NO_SURVEILLANCE)
    assert flag.change is CertificateChange.CAP_OVERDUE and flag.audit_id == "AUD-1"
    assert (
        flag.occurred_at == at(date(2026, 6, 21))
        and flag.certificate.corrective_action_plans[0].overdue
    )
    assert due_changes(flag.certificate, at(date(2026, 6, 22)), NO_SURVEILLANCE) == []


def test_a_plan_submitted_on_its_last_day_is_never_flagged():
    b = books()
    cert = provisional(b)
    dues = {"NC-0": date(2026, 9, 1), "NC-1": date(2026, 10, 1)}
    now = at(date(2026, 6, 20), 12)
    [change] = corrective_action_plan(
        b,
        cap_submitted(cert.certificate_id, dues, submitted_on=date(2026, 6, 20)),
        now,
        NO_SURVEILLANCE,
    ).changes
    assert change.change is CertificateChange.CAP_SUBMITTED and "late" not in change.reason
    assert due_changes(change.certificate, at(date(2026, 6, 25)), NO_SURVEILLANCE) == []


def test_approval_makes_the_plans_dates_the_findings_due_dates_and_the_clock_follows_them():
    b = books()
    cert = provisional(b)
    dues = {"NC-0": date(2026, 9, 1), "NC-1": date(2026, 10, 1)}
    corrective_action_plan(b, cap_submitted(cert.certificate_id, dues), NOW, NO_SURVEILLANCE)
    [approved] = corrective_action_plan(
        b, cap_approved(cert.certificate_id), NOW, NO_SURVEILLANCE
    ).changes
    assert approved.change is CertificateChange.CAP_APPROVED
    assert {f.finding_id: f.due_on for f in approved.certificate.findings} == dues
    assert approved.certificate.corrective_action_plans[0].approved_on == date(2026, 5, 29)
    assert due_changes(approved.certificate, at(date(2026, 9, 1), 23), NO_SURVEILLANCE) == []
    [overdue] = due_changes(approved.certificate, at(date(2026, 9, 2)), NO_SURVEILLANCE)
    assert overdue.change is CertificateChange.FINDING_OVERDUE and "NC-0" in overdue.reason


def test_a_majors_date_may_be_at_most_twelve_months_after_it_was_raised():
    b = books()
    cert = provisional(b, 1)
    limit = date(2027, 5, 20)  # raised 2026-05-20
    late = corrective_action_plan(
        b, cap_submitted(cert.certificate_id, {"NC-0": date(2027, 5, 21)}), NOW, RULES
    )
    assert refused(late) == {"corrective_action_plan_due_too_late": "actions[0].due_on"}
    ok = corrective_action_plan(b, cap_submitted(cert.certificate_id, {"NC-0": limit}), NOW, RULES)
    assert ok.refused is None and ok.changes[0].change is CertificateChange.CAP_SUBMITTED


def test_plans_that_leave_findings_out_or_name_others_are_refused():
    b = books()
    cert = provisional(b)
    outcome = corrective_action_plan(
        b, cap_submitted(cert.certificate_id, {"NC-0": date(2026, 9, 1)}), NOW, RULES
    )
    assert refused(outcome) == {"corrective_action_plan_finding_missing": "actions"}
    outcome = corrective_action_plan(
        b,
        cap_submitted(
            cert.certificate_id,
            {"NC-0": date(2026, 9, 1), "NC-1": date(2026, 9, 1), "NC-9": date(2026, 9, 1)},
        ),
        NOW,
        RULES,
    )
    assert refused(outcome) == {"unknown_finding": "actions[2].finding_id"}


def test_approval_needs_a_submitted_plan_only_once_and_from_the_body_that_audited():
    b = books()
    cert = provisional(b, 1)
    assert refused(corrective_action_plan(b, cap_approved(cert.certificate_id), NOW, RULES)) == {
        "corrective_action_plan_not_submitted": "audit_id"
    }
    corrective_action_plan(
        b, cap_submitted(cert.certificate_id, {"NC-0": date(2026, 9, 1)}), NOW, RULES
    )
    assert refused(
        corrective_action_plan(b, cap_approved(cert.certificate_id, body=OTHER_BODY), NOW, RULES)
    ) == {"not_the_auditing_body": "certification_body_id"}
    corrective_action_plan(b, cap_approved(cert.certificate_id), NOW, RULES)
    assert refused(corrective_action_plan(b, cap_approved(cert.certificate_id), NOW, RULES)) == {
        "corrective_action_plan_already_approved": "audit_id"
    }
    assert refused(
        corrective_action_plan(
            b, cap_submitted(cert.certificate_id, {"NC-0": date(2026, 9, 1)}), NOW, RULES
        )
    ) == {"corrective_action_plan_already_approved": "audit_id"}


def test_plans_for_unknown_or_clean_audits_or_dated_in_the_future_are_refused():
    b = books()
    cert = provisional(b, 1)
    clean = submit_audit(b, audit("AUD-CLEAN"), NOW, RULES).changes[0].certificate
    assert refused(
        corrective_action_plan(
            b,
            cap_submitted(cert.certificate_id, {"NC-0": date(2026, 9, 1)}, audit_id="AUD-X"),
            NOW,
            RULES,
        )
    ) == {"unknown_audit": "audit_id"}
    assert refused(
        corrective_action_plan(
            b,
            cap_submitted(clean.certificate_id, {"NC-0": date(2026, 9, 1)}, audit_id="AUD-CLEAN"),
            NOW,
            RULES,
        )
    ) == {"no_corrective_action_plan_needed": "audit_id"}
    assert refused(
        corrective_action_plan(
            b,
            cap_submitted(
                cert.certificate_id, {"NC-0": date(2026, 9, 1)}, submitted_on=date(2026, 6, 2)
            ),
            NOW,
            RULES,
        )
    ) == {"date_in_future": "submitted_on"}
    assert b.certificates[cert.certificate_id] == cert


def test_a_minor_only_audit_needs_a_plan_too():
    cert = (
        submit_audit(books(), audit(findings=[finding("m-1", severity="minor")]), NOW, RULES)
        .changes[0]
        .certificate
    )
    assert [p.audit_id for p in cert.corrective_action_plans] == ["AUD-1"]
