"""NC figures as the secretariat publishes them, and the registry rebuilt from events."""

from __future__ import annotations

from datetime import date

from contracts.certificates import CertificateChanged, MemberCertificationOverdue
from contracts.registry import Severity
from services.certificates.domain.audits import submit_audit
from services.certificates.domain.commands import apply_command
from services.certificates.domain.figures import add_months, nc_figures, rebuild
from services.certificates.domain.findings import close_nonconformity
from tests.unit.certificates.builders import (
    BODY_ACTOR,
    NOW,
    RULES,
    audit,
    books,
    closure,
    finding,
    suspend,
)


def test_add_months_clamps_to_the_end_of_the_month():
    assert add_months(date(2025, 8, 31), 18) == date(2027, 2, 28)
    assert add_months(date(2025, 1, 15), 12) == date(2026, 1, 15)


def test_nc_figures_by_principle_and_severity_with_shares_closed_within_12_and_18_months():
    b = books()
    raised = date(2024, 1, 10)
    findings = [
        finding("a", principle="PS-2", raised=raised, closed_on=date(2024, 12, 1)),  # within 12
        finding(
            "b", Severity.MINOR, principle="PS-2", raised=raised, closed_on=date(2025, 5, 1)
        ),  # within 18
        finding("c", Severity.MINOR, principle="PS-2", raised=raised),  # open
        finding("d", principle="PS-6", raised=date(2026, 1, 1)),  # too recent for shares
    ]
    b.bodies["cb-audits"] = b.bodies["cb-audits"].model_copy(
        update={"accredited_from": date(2023, 1, 1)}
    )
    cert = (
        submit_audit(
            b, audit(findings=findings[:3] + findings[3:], started=date(2026, 5, 18)), NOW, RULES
        )
        .changes[0]
        .certificate
    )
    figures = nc_figures([cert], date(2026, 6, 1))
    ps2 = figures["by_principle"]["PS-2"]
    assert (ps2["major"], ps2["minor"], ps2["closed"], ps2["open"]) == (1, 2, 2, 1)
    assert ps2["closed_within_12_months"] == "0.3333" and ps2["closed_within_18_months"] == "0.6667"
    ps6 = figures["by_principle"]["PS-6"]
    assert ps6["closed_within_12_months"] is None and ps6["raised_at_least_12_months_ago"] == 0
    assert figures["total"]["total"] == 4
    assert figures["entities_with_provisional_status"] == [
        {"organisation_id": "org-smelter", "certificate_numbers": [cert.certificate_number]}
    ]


def test_rebuilding_from_events_keeps_the_latest_revision_whatever_the_duplicates():
    b = books()
    cert = submit_audit(b, audit(findings=[finding("NC-1")]), NOW, RULES).changes[0].certificate
    apply_command(b, suspend(cert.certificate_id), NOW)
    close_nonconformity(b, closure(cert.certificate_id, "NC-1"), NOW)
    events = [
        CertificateChanged.create(
            actor=BODY_ACTOR, occurred_at=NOW, change=c.change, certificate=c.certificate
        )
        for c in b.changes
    ]
    other = MemberCertificationOverdue.create(
        actor=BODY_ACTOR, occurred_at=NOW, organisation_id="o", reason="r"
    )
    replayed = [*events, other, *events[:1]]
    assert rebuild(replayed) == b.certificates
    assert (
        rebuild(replayed)[cert.certificate_id].revision == 4
    )  # closing its only Major also upgraded it
