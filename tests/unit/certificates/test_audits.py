"""Audit outcomes to certificates: who may submit, what is issued, how long it is valid."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from contracts.audits import AuditType
from contracts.certificates import CertificateChange
from contracts.common import Activity, Actor, Role, Standard
from contracts.registry import CertificateStatus, CertificationBody, Severity
from services.certificates.domain.audits import submit_audit
from services.certificates.domain.books import certificate_id_for
from tests.unit.certificates.builders import (
    BODY,
    NOW,
    OTHER,
    RULES,
    audit,
    books,
    finding,
    majors,
    scope,
)


def codes(outcome) -> set[str]:
    assert outcome.refused is not None, "expected a refusal"
    return {r.code for r in outcome.refused}


@pytest.mark.parametrize(
    ("n", "status", "valid_until"),
    [
        (0, CertificateStatus.ACTIVE, date(2029, 5, 19)),
        (1, CertificateStatus.PROVISIONAL, date(2027, 5, 19)),
        (3, CertificateStatus.PROVISIONAL, date(2027, 5, 19)),
    ],
)
def test_majors_decide_full_three_years_or_provisional_one_year(n, status, valid_until):
    b = books()
    outcome = submit_audit(b, audit(findings=majors(n)), NOW, RULES)
    [change] = outcome.changes
    certificate = change.certificate
    assert change.change is CertificateChange.ISSUED
    assert certificate.status is status and certificate.provisional is (n > 0)
    assert (certificate.valid_from, certificate.valid_until) == (date(2026, 5, 20), valid_until)
    assert certificate.revision == 1 and certificate.issued_on == NOW.date()
    assert len(certificate.findings) == n and all(
        f.audit_id == "AUD-1" for f in certificate.findings
    )


def test_four_majors_issue_nothing_and_the_refused_audit_is_kept_in_the_history():
    b = books()
    outcome = submit_audit(b, audit(findings=majors(4)), NOW, RULES)
    assert codes(outcome) == {"too_many_major_ncs"} and not outcome.changes
    assert not b.certificates
    assert [(r.audit.audit_id, r.outcome) for r in b.new_audits] == [("AUD-1", "refused")]


def test_minor_findings_alone_keep_a_full_certificate():
    [change] = submit_audit(
        books(),
        audit(findings=[finding("m1", Severity.MINOR), finding("m2", Severity.MINOR)]),
        NOW,
        RULES,
    ).changes
    assert change.certificate.status is CertificateStatus.ACTIVE


@settings(max_examples=40, deadline=None)
@given(n_major=st.integers(0, 8), n_minor=st.integers(0, 5))
# Both sides of each boundary, checked on every run (random draws may miss them): none / one Major
# (full / provisional), three / four (provisional / refused), Minors alone never count.
@example(n_major=0, n_minor=5)
@example(n_major=1, n_minor=0)
@example(n_major=3, n_minor=1)
@example(n_major=4, n_minor=0)
def test_the_number_of_majors_alone_decides_the_outcome(n_major, n_minor):
    findings = majors(n_major) + [finding(f"m{i}", Severity.MINOR) for i in range(n_minor)]
    outcome = submit_audit(books(), audit(findings=findings), NOW, RULES)
    if n_major > 3:
        assert codes(outcome) == {"too_many_major_ncs"}
        return
    [change] = outcome.changes
    years = 1 if n_major else 3
    assert change.certificate.provisional is (n_major > 0)
    assert change.certificate.valid_until == date(2026 + years, 5, 20) - timedelta(days=1)


def test_certificate_numbers_are_sequential_per_standard_and_year_and_continue_from_the_counter():
    b = books()
    b.counters["ASI-COC-2026"] = 11
    ps1 = submit_audit(b, audit("A1"), NOW, RULES).changes[0].certificate
    ps2 = submit_audit(b, audit("A2"), NOW, RULES).changes[0].certificate
    coc = (
        submit_audit(b, audit("A3", standard=Standard.CHAIN_OF_CUSTODY), NOW, RULES)
        .changes[0]
        .certificate
    )
    assert [ps1.certificate_number, ps2.certificate_number, coc.certificate_number] == [
        "ASI-PS-2026-000001",
        "ASI-PS-2026-000002",
        "ASI-COC-2026-000012",
    ]
    assert ps1.certificate_id == certificate_id_for("A1") != ps2.certificate_id


def test_a_replayed_audit_changes_nothing_and_the_same_id_with_other_content_is_refused():
    b = books()
    first = audit(findings=majors(1))
    submit_audit(b, first, NOW, RULES)
    again = audit(findings=majors(1))  # same content, new event id
    assert (
        submit_audit(b, again, NOW, RULES).changes == []
        and submit_audit(b, again, NOW, RULES).refused is None
    )
    assert codes(submit_audit(b, audit(findings=majors(2)), NOW, RULES)) == {"duplicate_audit_id"}
    assert len(b.certificates) == 1 and len(b.new_audits) == 1


def test_the_body_must_be_accredited_over_the_whole_audit():
    b = books()
    b.bodies[BODY] = CertificationBody(
        certification_body_id=BODY,
        name="x",
        accredited_from=date(2026, 5, 19),
        accredited_until=date(2026, 5, 20),
    )
    assert submit_audit(b, audit("ok", started=date(2026, 5, 19)), NOW, RULES).changes
    assert codes(submit_audit(b, audit("early", started=date(2026, 5, 18)), NOW, RULES)) == {
        "not_accredited"
    }
    b.bodies[BODY] = b.bodies[BODY].model_copy(update={"accredited_until": date(2026, 5, 19)})
    assert codes(submit_audit(b, audit("late", started=date(2026, 5, 19)), NOW, RULES)) == {
        "not_accredited"
    }


def test_unknown_body_or_a_body_submitting_for_another_is_refused():
    assert codes(
        submit_audit(
            books(),
            audit(
                body="cb-nobody",
                actor=Actor(organisation_id="cb-nobody", role=Role.CERTIFICATION_BODY),
            ),
            NOW,
            RULES,
        )
    ) == {"unknown_certification_body"}
    assert codes(
        submit_audit(
            books(),
            audit(actor=Actor(organisation_id="org-smelter", role=Role.PRODUCER)),
            NOW,
            RULES,
        )
    ) == {"not_certification_body"}


def test_unknown_member_unknown_site_and_sites_of_another_member_are_refused_with_every_reason():
    outcome = submit_audit(
        books(), audit(organisation_id="org-ghost", audit_scope=scope("site-zzz")), NOW, RULES
    )
    assert codes(outcome) == {"unknown_member", "unknown_site"}
    outcome = submit_audit(books(), audit(audit_scope=scope("site-a", "site-x")), NOW, RULES)
    assert codes(outcome) == {"site_not_owned"}
    assert "site-x belongs to org-other" in outcome.refused[0].message
    assert codes(
        submit_audit(
            books(),
            audit(
                organisation_id=OTHER, audit_scope=scope("site-x", activities=(Activity.SMELTING,))
            ),
            NOW,
            RULES,
        )
    ) == {"activity_not_at_sites"}


def test_dates_in_the_wrong_order_or_in_the_future_are_refused():
    assert codes(submit_audit(books(), audit(started=date(2026, 5, 21)), NOW, RULES)) == {
        "dates_out_of_order"
    }
    assert codes(
        submit_audit(
            books(), audit(started=date(2026, 6, 1), completed=date(2026, 6, 2)), NOW, RULES
        )
    ) == {"date_in_future"}
    backwards = finding("NC-1", due_in_days=-1)
    assert codes(submit_audit(books(), audit(findings=[backwards]), NOW, RULES)) == {
        "dates_out_of_order"
    }
    closed_early = finding("NC-1", closed_on=date(2026, 5, 1))
    assert codes(submit_audit(books(), audit(findings=[closed_early]), NOW, RULES)) == {
        "dates_out_of_order"
    }


def test_findings_must_be_unique_and_inside_the_scope():
    assert codes(
        submit_audit(books(), audit(findings=[finding("NC-1"), finding("NC-1")]), NOW, RULES)
    ) == {"duplicate_finding_id"}
    assert codes(
        submit_audit(books(), audit(findings=[finding("NC-1", site_id="site-b")]), NOW, RULES)
    ) == {"finding_site_outside_scope"}


def test_an_audit_whose_certificate_would_already_have_expired_is_refused():
    old = audit(started=date(2023, 5, 1), completed=date(2023, 5, 2))
    b = books()
    b.bodies[BODY] = b.bodies[BODY].model_copy(update={"accredited_from": date(2020, 1, 1)})
    assert codes(submit_audit(b, old, NOW, RULES)) == {"audit_too_old"}


def test_an_initial_audit_names_no_certificate_and_the_others_must():
    assert codes(submit_audit(books(), audit(certificate_id="cert-x"), NOW, RULES)) == {
        "certificate_id_not_expected"
    }
    for kind in (AuditType.SURVEILLANCE, AuditType.RECERTIFICATION):
        assert codes(submit_audit(books(), audit(audit_type=kind), NOW, RULES)) == {
            "certificate_id_required"
        }
        assert codes(
            submit_audit(books(), audit(audit_type=kind, certificate_id="cert-x"), NOW, RULES)
        ) == {"unknown_certificate"}
