"""Surveillance, re-certification, NC closure and the secretariat's commands."""

from __future__ import annotations

from datetime import date

from contracts.audits import AuditType
from contracts.certificates import CertificateChange
from contracts.common import Actor, Role, Standard
from contracts.registry import CertificateStatus, Severity
from services.certificates.domain.audits import submit_audit
from services.certificates.domain.commands import apply_command
from services.certificates.domain.findings import close_nonconformity
from tests.unit.certificates.builders import (
    NOW,
    RULES,
    audit,
    books,
    change_scope,
    closure,
    finding,
    majors,
    reinstate,
    scope,
    suspend,
    withdraw,
)


def codes(outcome) -> set[str]:
    assert outcome.refused is not None, "expected a refusal"
    return {r.code for r in outcome.refused}


def issued(b, n_majors: int = 0, audit_id: str = "AUD-1"):
    return (
        submit_audit(
            b,
            audit(audit_id, findings=majors(n_majors), audit_scope=scope("site-a", "site-b")),
            NOW,
            RULES,
        )
        .changes[0]
        .certificate
    )


def surveillance(cid: str, findings, audit_id: str = "SURV-1", **kw):
    return audit(
        audit_id,
        audit_type=AuditType.SURVEILLANCE,
        certificate_id=cid,
        findings=findings,
        started=date(2026, 5, 25),
        completed=date(2026, 5, 26),
        **kw,
    )


def test_surveillance_adds_minor_findings_without_touching_status_or_validity():
    b = books()
    cert = issued(b)
    [change] = submit_audit(
        b, surveillance(cert.certificate_id, [finding("S-1", Severity.MINOR)]), NOW, RULES
    ).changes
    assert change.change is CertificateChange.FINDINGS_ADDED
    after = change.certificate
    assert (after.status, after.valid_until, after.revision) == (cert.status, cert.valid_until, 2)
    assert after.certificate_number == cert.certificate_number
    assert [f.finding_id for f in after.findings] == ["S-1"] and after.findings[
        0
    ].audit_id == "SURV-1"


def test_a_new_major_downgrades_a_full_certificate_to_provisional_for_at_most_one_year():
    b = books()
    cert = issued(b)
    [change] = submit_audit(
        b, surveillance(cert.certificate_id, [finding("S-1")]), NOW, RULES
    ).changes
    assert change.change is CertificateChange.DOWNGRADED_TO_PROVISIONAL
    assert (
        change.certificate.status is CertificateStatus.PROVISIONAL
        and change.certificate.provisional
    )
    assert change.certificate.valid_until == date(2027, 5, 25)


def test_a_new_major_on_a_provisional_certificate_never_extends_it():
    b = books()
    cert = issued(b, n_majors=1)
    [change] = submit_audit(
        b, surveillance(cert.certificate_id, [finding("S-1")]), NOW, RULES
    ).changes
    assert change.change is CertificateChange.FINDINGS_ADDED
    assert change.certificate.valid_until == cert.valid_until == date(2027, 5, 19)


def test_more_than_three_majors_in_surveillance_withdraw_the_certificate_with_the_audit_as_proof():
    b = books()
    cert = issued(b)
    [change] = submit_audit(
        b, surveillance(cert.certificate_id, [finding(f"S-{i}") for i in range(4)]), NOW, RULES
    ).changes
    assert change.change is CertificateChange.WITHDRAWN and change.audit_id == "SURV-1"
    assert (
        change.certificate.status is CertificateStatus.WITHDRAWN
        and "SURV-1" in change.certificate.status_reason
    )
    assert len(change.certificate.findings) == 4
    assert codes(apply_command(b, reinstate(cert.certificate_id), NOW)) == {"certificate_withdrawn"}


def test_surveillance_closes_listed_findings_and_refuses_reraising_an_existing_id():
    b = books()
    cert = issued(b, n_majors=2)
    closing = finding("NC-0", closed_on=date(2026, 5, 26))
    [change] = submit_audit(b, surveillance(cert.certificate_id, [closing]), NOW, RULES).changes
    assert change.change is CertificateChange.SURVEILLANCE_PASSED
    assert {f.finding_id: f.closed_on for f in change.certificate.findings} == {
        "NC-0": date(2026, 5, 26),
        "NC-1": None,
    }
    assert codes(
        submit_audit(b, surveillance(cert.certificate_id, [finding("NC-1")], "SURV-2"), NOW, RULES)
    ) == {"duplicate_finding_id"}
    assert codes(
        submit_audit(b, surveillance(cert.certificate_id, [closing], "SURV-3"), NOW, RULES)
    ) == {"finding_already_closed"}


def test_a_clean_surveillance_is_published_as_passed_and_kept_in_the_history():
    b = books()
    cert = issued(b)
    [passed] = submit_audit(b, surveillance(cert.certificate_id, []), NOW, RULES).changes
    assert passed.change is CertificateChange.SURVEILLANCE_PASSED and passed.audit_id == "SURV-1"
    assert (
        passed.certificate.status is CertificateStatus.ACTIVE and passed.certificate.revision == 2
    )
    assert [r.outcome for r in b.new_audits] == ["issued", "surveillance"]


def test_audits_for_a_withdrawn_or_foreign_certificate_or_outside_its_scope_are_refused():
    b = books()
    cert = issued(b)
    narrow = issued(b, audit_id="AUD-2")
    b.certificates[narrow.certificate_id] = narrow.model_copy(update={"scope": scope("site-a")})
    assert codes(
        submit_audit(
            b, surveillance(narrow.certificate_id, [], audit_scope=scope("site-b")), NOW, RULES
        )
    ) == {"scope_mismatch"}
    assert codes(
        submit_audit(
            b, surveillance(cert.certificate_id, [], standard=Standard.CHAIN_OF_CUSTODY), NOW, RULES
        )
    ) == {"standard_mismatch"}
    foreign = issued(b, audit_id="AUD-3")
    b.certificates[foreign.certificate_id] = foreign.model_copy(
        update={"organisation_id": "org-other"}
    )
    assert "certificate_of_other_member" in codes(
        submit_audit(b, surveillance(foreign.certificate_id, [], "SURV-4"), NOW, RULES)
    )
    apply_command(b, withdraw(cert.certificate_id), NOW)
    assert codes(submit_audit(b, surveillance(cert.certificate_id, [], "SURV-9"), NOW, RULES)) == {
        "certificate_withdrawn"
    }


def test_recertification_issues_a_new_certificate_that_supersedes_the_old_one():
    b = books()
    old = issued(b)
    recert = audit(
        "AUD-R",
        audit_type=AuditType.RECERTIFICATION,
        certificate_id=old.certificate_id,
        started=date(2026, 5, 28),
        completed=date(2026, 5, 29),
    )
    new_change, old_change = submit_audit(b, recert, NOW, RULES).changes
    assert (
        new_change.change is CertificateChange.ISSUED
        and new_change.certificate.status is CertificateStatus.ACTIVE
    )
    assert new_change.certificate.supersedes_certificate_id == old.certificate_id
    assert new_change.certificate.certificate_number != old.certificate_number
    assert old_change.change is CertificateChange.SUPERSEDED
    assert old_change.certificate.status is CertificateStatus.SUPERSEDED
    assert (
        old_change.certificate.superseded_by_certificate_id == new_change.certificate.certificate_id
    )
    assert old_change.certificate.revision == 2
    assert codes(
        submit_audit(
            b,
            audit(
                "AUD-R2", audit_type=AuditType.RECERTIFICATION, certificate_id=old.certificate_id
            ),
            NOW,
            RULES,
        )
    ) == {"certificate_superseded"}


def test_a_refused_recertification_leaves_the_old_certificate_alone():
    b = books()
    old = issued(b)
    outcome = submit_audit(
        b,
        audit(
            "AUD-R",
            audit_type=AuditType.RECERTIFICATION,
            certificate_id=old.certificate_id,
            findings=majors(4),
        ),
        NOW,
        RULES,
    )
    assert codes(outcome) == {"too_many_major_ncs"}
    assert b.certificates[old.certificate_id] == old


def test_recertifying_a_suspended_certificate_is_refused():
    b = books()
    old = issued(b)
    apply_command(b, suspend(old.certificate_id), NOW)
    assert codes(
        submit_audit(
            b,
            audit("AUD-R", audit_type=AuditType.RECERTIFICATION, certificate_id=old.certificate_id),
            NOW,
            RULES,
        )
    ) == {"certificate_suspended"}


def test_closing_a_finding():
    b = books()
    cert = issued(b, n_majors=2)
    [change] = close_nonconformity(b, closure(cert.certificate_id, "NC-0"), NOW, RULES).changes
    assert change.change is CertificateChange.FINDING_CLOSED
    assert (
        change.certificate.findings[0].closed_on == date(2026, 5, 30)
        and change.certificate.revision == 2
    )
    assert change.certificate.findings[0].closed_by == "cb-audits"
    assert change.certificate.provisional, "one Major is still open"
    assert codes(close_nonconformity(b, closure(cert.certificate_id, "NC-0"), NOW)) == {
        "finding_already_closed"
    }
    assert codes(close_nonconformity(b, closure(cert.certificate_id, "NC-9"), NOW)) == {
        "unknown_finding"
    }
    assert codes(close_nonconformity(b, closure("cert-none", "NC-0"), NOW)) == {
        "unknown_certificate"
    }


def test_closing_before_raising_or_in_the_future_or_on_a_withdrawn_certificate_is_refused():
    b = books()
    cert = issued(b, n_majors=1)
    assert codes(
        close_nonconformity(b, closure(cert.certificate_id, "NC-0", date(2026, 5, 1)), NOW)
    ) == {"dates_out_of_order"}
    assert codes(
        close_nonconformity(b, closure(cert.certificate_id, "NC-0", date(2026, 6, 2)), NOW)
    ) == {"date_in_future"}
    apply_command(b, withdraw(cert.certificate_id), NOW)
    assert codes(close_nonconformity(b, closure(cert.certificate_id, "NC-0"), NOW)) == {
        "certificate_withdrawn"
    }


def test_suspend_reinstate_withdraw():
    b = books()
    cert = issued(b)
    [s] = apply_command(b, suspend(cert.certificate_id), NOW).changes
    assert (s.change, s.certificate.status, s.certificate.revision) == (
        CertificateChange.SUSPENDED,
        CertificateStatus.SUSPENDED,
        2,
    )
    assert s.certificate.status_reason == "unpaid fees"
    assert codes(apply_command(b, suspend(cert.certificate_id), NOW)) == {"certificate_suspended"}
    [r] = apply_command(b, reinstate(cert.certificate_id), NOW).changes
    assert (r.change, r.certificate.status) == (
        CertificateChange.REINSTATED,
        CertificateStatus.ACTIVE,
    )
    assert codes(apply_command(b, reinstate(cert.certificate_id), NOW)) == {"not_suspended"}
    [w] = apply_command(b, withdraw(cert.certificate_id), NOW).changes
    assert w.certificate.status is CertificateStatus.WITHDRAWN and w.certificate.revision == 4
    for command in (suspend, reinstate, withdraw):
        assert codes(apply_command(b, command(cert.certificate_id), NOW)) == {
            "certificate_withdrawn"
        }
    assert b.certificates[cert.certificate_id] == w.certificate


def test_commands_for_unknown_certificates_or_from_anyone_but_the_secretariat_are_refused():
    b = books()
    cert = issued(b)
    outcome = apply_command(b, suspend("cert-nope"), NOW)
    assert codes(outcome) == {"unknown_certificate"}
    outcome = apply_command(
        b,
        suspend(cert.certificate_id, Actor(organisation_id="org-smelter", role=Role.PRODUCER)),
        NOW,
    )
    assert codes(outcome) == {"not_secretariat"} and outcome.organisation_id == "org-smelter"
    assert b.certificates[cert.certificate_id] == cert


def test_changing_the_scope():
    b = books()
    cert = issued(b)
    [c] = apply_command(b, change_scope(cert.certificate_id, scope("site-a")), NOW).changes
    assert c.change is CertificateChange.SCOPE_CHANGED and c.certificate.scope.site_ids == [
        "site-a"
    ]
    assert apply_command(b, change_scope(cert.certificate_id, scope("site-a")), NOW).changes == []
    assert codes(
        apply_command(b, change_scope(cert.certificate_id, scope("site-a", "site-x")), NOW)
    ) == {"site_not_owned"}
    assert codes(apply_command(b, change_scope(cert.certificate_id, scope("site-q")), NOW)) == {
        "unknown_site"
    }


def test_revisions_increase_by_one_with_every_change():
    b = books()
    cert = issued(b, n_majors=1)
    apply_command(b, suspend(cert.certificate_id), NOW)
    apply_command(b, reinstate(cert.certificate_id), NOW)
    close_nonconformity(b, closure(cert.certificate_id, "NC-0"), NOW)
    revisions = [
        c.certificate.revision
        for c in b.changes
        if c.certificate.certificate_id == cert.certificate_id
    ]
    assert revisions == [1, 2, 3, 4, 5]  # closing the only Major also upgraded it
