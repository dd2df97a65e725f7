"""The edges of the certification rules (issue 24): each refusal's reason code and the field it
names, every reason of an input kept together, and both sides of every date and count boundary."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from contracts.audits import AuditOutcomeSubmitted, AuditType
from contracts.certificates import CertificateChange, CertificateChanged, MemberCertificationOverdue
from contracts.common import Activity, Actor, ProcessStep, Role, Standard
from contracts.registry import (
    CertificateScope,
    CertificateStatus,
    CertificationBody,
    ConversionFactor,
    ScopeLevel,
    Severity,
    Site,
)
from services.certificates.domain.audits import submit_audit
from services.certificates.domain.books import audit_digest, certificate_id_for
from services.certificates.domain.cap import clock_due as cap_clock_due
from services.certificates.domain.clock import clock_due, due_changes
from services.certificates.domain.commands import apply_command
from services.certificates.domain.figures import nc_figures, rebuild
from services.certificates.domain.findings import close_nonconformity, corrective_action_plan
from services.certificates.domain.registry import (
    Refused,
    Registered,
    Unchanged,
    register_certification_body,
    register_member,
    register_site,
)
from services.certificates.domain.surveillance import clock_due as surveillance_clock_due
from services.certificates.domain.surveillance import due_changes as surveillance_due_changes
from services.certificates.domain.surveillance import revocation
from tests.unit.certificates.builders import (
    BODY,
    BODY_ACTOR,
    NOW,
    ORG,
    OTHER_BODY,
    OTHER_BODY_ACTOR,
    RULES,
    SECRETARIAT,
    audit,
    books,
    cap_approved,
    cap_submitted,
    change_scope,
    closure,
    finding,
    majors,
    reinstate,
    scope,
    suspend,
    withdraw,
)

TODAY = NOW.date()


def refusals(outcome) -> list[tuple[str, str | None]]:
    assert outcome.refused is not None, "expected a refusal"
    return sorted((r.code, r.field) for r in outcome.refused)


def issued(b, audit_id: str = "AUD-1", findings=None):
    [change] = submit_audit(b, audit(audit_id, findings=findings), NOW, RULES).changes
    return change.certificate


def surveillance(cid: str, findings, *, completed: date = date(2026, 5, 26), **kw):
    kw.setdefault("actor", OTHER_BODY_ACTOR)
    kw.setdefault("body", OTHER_BODY)
    return audit(
        kw.pop("audit_id", "SURV-1"),
        audit_type=AuditType.SURVEILLANCE,
        certificate_id=cid,
        findings=findings,
        started=kw.pop("started", completed),
        completed=completed,
        **kw,
    )


# ---- the sender: the certification body itself, in its own name ----


@pytest.mark.parametrize(
    "actor",
    [
        OTHER_BODY_ACTOR,  # a certification body, but another one
        Actor(organisation_id=BODY, role=Role.PRODUCER),  # the body's organisation, not as a body
        SECRETARIAT,
    ],
)
def test_only_the_body_itself_submits_its_audits(actor):
    outcome = submit_audit(books(), audit(actor=actor), NOW, RULES)
    assert refusals(outcome) == [("not_certification_body", "actor")]


@pytest.mark.parametrize(
    "actor",
    [OTHER_BODY_ACTOR, Actor(organisation_id=BODY, role=Role.PRODUCER)],
)
def test_only_the_body_itself_closes_a_finding(actor):
    b = books()
    cert = issued(b, findings=majors(1))
    message = closure(cert.certificate_id, "NC-0").model_copy(update={"actor": actor})
    assert refusals(close_nonconformity(b, message, NOW)) == [("not_certification_body", "actor")]


# ---- accreditation on every day of the audit, and on the closing day ----


def _accredited(b, accredited_from: date, accredited_until: date) -> None:
    b.bodies[BODY] = CertificationBody(
        certification_body_id=BODY,
        name="Audits Ltd",
        accredited_from=accredited_from,
        accredited_until=accredited_until,
    )


@pytest.mark.parametrize(
    ("accredited_from", "accredited_until", "ok"),
    [
        (date(2026, 5, 18), date(2026, 5, 20), True),  # from the first to the last audit day
        (date(2026, 5, 19), date(2026, 5, 20), False),  # not on the first day
        (date(2026, 5, 18), date(2026, 5, 19), False),  # not on the last day
    ],
)
def test_the_body_is_accredited_on_every_day_of_the_audit(accredited_from, accredited_until, ok):
    b = books()
    _accredited(b, accredited_from, accredited_until)
    outcome = submit_audit(
        b, audit(started=date(2026, 5, 18), completed=date(2026, 5, 20)), NOW, RULES
    )
    if ok:
        assert outcome.refused is None and len(outcome.changes) == 1
    else:
        assert refusals(outcome) == [("not_accredited", "certification_body_id")]


@pytest.mark.parametrize(
    ("accredited_until", "ok"),
    [(date(2026, 5, 30), True), (date(2026, 5, 29), False)],
)
def test_the_body_is_accredited_on_the_closing_day(accredited_until, ok):
    b = books()
    cert = issued(b, findings=majors(1))
    _accredited(b, date(2025, 1, 1), accredited_until)
    outcome = close_nonconformity(b, closure(cert.certificate_id, "NC-0", date(2026, 5, 30)), NOW)
    if ok:
        assert outcome.refused is None
        assert outcome.changes[0].change is CertificateChange.FINDING_CLOSED
    else:
        assert refusals(outcome) == [("not_accredited", "certification_body_id")]


def test_an_unknown_body_is_refused_on_the_body_id():
    message = audit(
        actor=Actor(organisation_id="cb-nobody", role=Role.CERTIFICATION_BODY), body="cb-nobody"
    )
    outcome = submit_audit(books(), message, NOW, RULES)
    assert refusals(outcome) == [("unknown_certification_body", "certification_body_id")]


# ---- every reason of a surveillance or re-certification audit is kept ----


@pytest.mark.parametrize("audit_type", [AuditType.SURVEILLANCE, AuditType.RECERTIFICATION])
def test_every_reason_of_a_later_audit_is_reported_not_only_the_certificates(audit_type):
    b = books()
    cert = issued(b)
    message = audit(
        "AUD-2",
        audit_type=audit_type,
        certificate_id=cert.certificate_id,
        organisation_id="org-unknown",
        started=date(2026, 5, 25),
        completed=date(2026, 5, 24),  # before it started
        actor=OTHER_BODY_ACTOR,  # submits in BODY's name
    )
    assert refusals(submit_audit(b, message, NOW, RULES)) == sorted(
        [
            ("dates_out_of_order", "audit_completed_on"),
            ("not_certification_body", "actor"),
            ("unknown_member", "organisation_id"),
            ("site_not_owned", "scope.site_ids"),
            ("certificate_of_other_member", "certificate_id"),
        ]
    )


def test_a_later_audit_naming_no_certificate_is_refused_on_the_certificate_id():
    message = audit("AUD-2", audit_type=AuditType.SURVEILLANCE, certificate_id=None)
    assert refusals(submit_audit(books(), message, NOW, RULES)) == [
        ("certificate_id_required", "certificate_id")
    ]


# ---- dates of the audit ----


@pytest.mark.parametrize(
    ("completed", "expected"),
    [(TODAY, []), (TODAY + timedelta(days=1), [("date_in_future", "audit_completed_on")])],
)
def test_an_audit_completed_today_is_taken_tomorrow_is_the_future(completed, expected):
    message = audit(started=completed, completed=completed)
    outcome = submit_audit(books(), message, NOW, RULES)
    assert (refusals(outcome) if expected else []) == expected
    if not expected:
        assert outcome.changes[0].certificate.valid_from == completed


def test_an_audit_completed_on_the_day_it_started_is_in_order():
    outcome = submit_audit(books(), audit(started=TODAY, completed=TODAY), NOW, RULES)
    assert outcome.refused is None


@pytest.mark.parametrize(
    ("completed", "too_old"),
    [(date(2023, 6, 2), False), (date(2023, 6, 1), True)],
)
def test_a_certificate_that_would_already_have_expired_is_not_issued(completed, too_old):
    # Valid to the day before the same date three years later: an audit completed on 2023-06-02
    # gives a certificate valid through today (2026-06-01), one of 2023-06-01 ended yesterday.
    message = audit(started=completed, completed=completed)
    b = books()
    _accredited(b, date(2020, 1, 1), date(2030, 1, 1))
    outcome = submit_audit(b, message, NOW, RULES)
    if too_old:
        assert refusals(outcome) == [("audit_too_old", "audit_completed_on")]
    else:
        assert outcome.refused is None


# ---- findings of an audit ----


def test_finding_dates_and_sites_are_refused_on_the_finding_field():
    bad = [
        finding("NC-1", raised=date(2026, 5, 20), due_in_days=-1),
        finding("NC-2", closed_on=date(2026, 5, 19)),
        finding("NC-3", site_id="site-b"),
        finding("NC-3", Severity.MINOR),
    ]
    outcome = submit_audit(books(), audit(findings=bad), NOW, RULES)
    assert refusals(outcome) == sorted(
        [
            ("dates_out_of_order", "findings[0].due_on"),
            ("dates_out_of_order", "findings[1].closed_on"),
            ("finding_site_outside_scope", "findings[2].site_id"),
            ("duplicate_finding_id", "findings"),
        ]
    )


def test_a_finding_due_and_closed_on_the_day_it_was_raised_is_in_order():
    ok = [finding("NC-1", Severity.MINOR, due_in_days=0, closed_on=date(2026, 5, 20))]
    assert submit_audit(books(), audit(findings=ok), NOW, RULES).refused is None


# ---- the scope ----


def test_scope_sites_and_activities_are_refused_on_the_scope_fields():
    outcome = submit_audit(
        books(), audit(audit_scope=scope("site-a", "site-x", "site-z")), NOW, RULES
    )
    assert refusals(outcome) == [
        ("site_not_owned", "scope.site_ids"),
        ("unknown_site", "scope.site_ids"),
    ]
    outcome = submit_audit(
        books(), audit(audit_scope=scope("site-a", activities=(Activity.ROLLING,))), NOW, RULES
    )
    assert refusals(outcome) == [("activity_not_at_sites", "scope.activities")]


# ---- the secretariat changes a scope ----


def test_only_the_secretariat_changes_a_scope_even_a_valid_one():
    b = books()
    cert = issued(b)
    command = change_scope(cert.certificate_id, scope("site-a", "site-b")).model_copy(
        update={"actor": BODY_ACTOR}
    )
    outcome = apply_command(b, command, NOW)
    assert refusals(outcome) == [("not_secretariat", "actor.role")]
    assert b.certificates[cert.certificate_id] == cert


def test_the_secretariat_changes_a_scope_to_sites_of_the_member():
    b = books()
    cert = issued(b)
    outcome = apply_command(b, change_scope(cert.certificate_id, scope("site-a", "site-b")), NOW)
    [change] = outcome.changes
    assert change.change is CertificateChange.SCOPE_CHANGED
    assert change.certificate.scope.site_ids == ["site-a", "site-b"]
    bad = apply_command(b, change_scope(cert.certificate_id, scope("site-x")), NOW)
    assert refusals(bad) == [("site_not_owned", "scope.site_ids")]


# ---- surveillance: downgrade keeps the new Majors; more than three withdraw ----


def test_a_downgrade_to_provisional_keeps_the_new_major_findings():
    b = books()
    cert = issued(b)
    message = surveillance(cert.certificate_id, [finding("S-1"), finding("S-2", Severity.MINOR)])
    [changed] = submit_audit(b, message, NOW, RULES).changes
    assert changed.change is CertificateChange.DOWNGRADED_TO_PROVISIONAL
    assert [(f.finding_id, f.audit_id) for f in changed.certificate.findings] == [
        ("S-1", "SURV-1"),
        ("S-2", "SURV-1"),
    ]
    assert changed.certificate.provisional is True
    assert changed.certificate.status is CertificateStatus.PROVISIONAL
    assert changed.certificate.valid_until == date(2027, 5, 25)
    assert [p.audit_id for p in changed.certificate.corrective_action_plans] == ["SURV-1"]


@pytest.mark.parametrize(("raised", "revoked"), [(3, False), (4, True)])
def test_more_than_three_majors_revoke_exactly_three_do_not(raised, revoked):
    message = surveillance("cert-x", [])
    assert (revocation(message, raised, RULES) is not None) is revoked


# ---- the registry: who is who ----


def _site(org: str = ORG, factors: tuple[ProcessStep, ...] = ()) -> Site:
    return Site(
        site_id="site-new",
        organisation_id=org,
        name="New",
        country="NO",
        activities=[Activity.CASTING],
        conversion_factors=[ConversionFactor(process_step=s, factor="0.97") for s in factors],
    )


def test_a_site_of_a_member_is_registered_once_then_unchanged():
    b = books()
    site = _site()
    assert register_site(site, b.members[ORG], None) == Registered(site)
    assert register_site(site, b.members[ORG], site) == Unchanged()
    moved = site.model_copy(update={"name": "Renamed"})
    assert register_site(moved, b.members[ORG], site) == Registered(moved)


def test_a_site_is_refused_with_every_reason_on_its_field():
    b = books()
    twice = (ProcessStep.REMELTING, ProcessStep.REMELTING)
    outcome = register_site(_site("org-unknown", twice), None, _site())
    assert isinstance(outcome, Refused)
    assert [(r.code, r.field, r.message) for r in outcome.reasons] == [
        ("unknown_member", "site.organisation_id", "organisation org-unknown is not a member"),
        ("site_owned_by_other_member", "site.site_id", f"site site-new belongs to {ORG}"),
        ("duplicate_conversion_factor", "site.conversion_factors", "one factor per process step"),
    ]
    one_each = (ProcessStep.REMELTING, ProcessStep.CASTING)
    assert isinstance(register_site(_site(factors=one_each), b.members[ORG], None), Registered)


@pytest.mark.parametrize(
    ("accredited_until", "ok"),
    [(date(2026, 1, 1), True), (date(2025, 12, 31), False)],
)
def test_a_body_accredited_for_a_single_day_is_registered_ending_before_it_starts_is_not(
    accredited_until, ok
):
    body = CertificationBody(
        certification_body_id="cb-new",
        name="New Audits",
        accredited_from=date(2026, 1, 1),
        accredited_until=accredited_until,
    )
    outcome = register_certification_body(body, None)
    if ok:
        assert outcome == Registered(body)
        assert register_certification_body(body, body) == Unchanged()
    else:
        assert isinstance(outcome, Refused)
        assert [(r.code, r.field, r.message) for r in outcome.reasons] == [
            (
                "dates_out_of_order",
                "certification_body.accredited_until",
                "accreditation ends before it starts",
            )
        ]


def test_a_member_is_registered_once_then_unchanged():
    member = books().members[ORG]
    assert register_member(member, None) == Registered(member)
    assert register_member(member, member) == Unchanged()


# ---- lifecycle commands: each refusal's code, field and message, on the member's partition ----


def _with_status(b, cert, status: CertificateStatus, provisional: bool = False):
    changed = cert.model_copy(update={"status": status, "provisional": provisional})
    b.certificates[cert.certificate_id] = changed
    return changed


def _refused_in_full(outcome) -> list[tuple[str, str | None, str]]:
    assert outcome.refused is not None, "expected a refusal"
    assert outcome.organisation_id == ORG
    return [(r.code, r.field, r.message) for r in outcome.refused]


@pytest.mark.parametrize(
    ("command", "status", "expected"),
    [
        (suspend, CertificateStatus.SUSPENDED, ("certificate_suspended", "cannot suspend")),
        (suspend, CertificateStatus.EXPIRED, ("certificate_expired", "cannot suspend")),
        (withdraw, CertificateStatus.EXPIRED, ("certificate_expired", "cannot withdraw")),
        (reinstate, CertificateStatus.SUPERSEDED, ("certificate_superseded", "cannot reinstate")),
        (
            lambda cid: change_scope(cid, scope("site-a", "site-b")),
            CertificateStatus.EXPIRED,
            ("certificate_expired", "cannot change the scope of"),
        ),
    ],
)
def test_a_command_on_a_certificate_in_the_wrong_state_says_which_and_why(
    command, status, expected
):
    b = books()
    cert = _with_status(b, issued(b), status)
    code, action = expected
    number = cert.certificate_number
    assert _refused_in_full(apply_command(b, command(cert.certificate_id), NOW)) == [
        (code, "certificate_id", f"{action} {number}: it is {status.value}")
    ]


def test_reinstating_a_certificate_that_is_not_suspended_is_refused_on_its_id():
    b = books()
    cert = issued(b)
    assert _refused_in_full(apply_command(b, reinstate(cert.certificate_id), NOW)) == [
        ("not_suspended", "certificate_id", f"{cert.certificate_number} is not suspended")
    ]


def test_a_command_on_a_withdrawn_certificate_names_it():
    b = books()
    cert = _with_status(b, issued(b), CertificateStatus.WITHDRAWN)
    assert _refused_in_full(apply_command(b, suspend(cert.certificate_id), NOW)) == [
        ("certificate_withdrawn", "certificate_id", f"{cert.certificate_number} is withdrawn")
    ]


def test_a_command_on_an_unknown_certificate_is_refused_on_the_senders_partition():
    outcome = apply_command(books(), suspend("cert-nope", actor=BODY_ACTOR), NOW)
    assert outcome.organisation_id == BODY
    assert [(r.code, r.field) for r in outcome.refused] == [
        ("not_secretariat", "actor.role"),
        ("unknown_certificate", "certificate_id"),
    ]
    assert outcome.refused[0].message == "only the ASI secretariat changes certificates"


@pytest.mark.parametrize(
    ("provisional", "status"),
    [(True, CertificateStatus.PROVISIONAL), (False, CertificateStatus.ACTIVE)],
)
def test_a_reinstated_certificate_returns_to_provisional_or_active_with_the_reason(
    provisional, status
):
    b = books()
    cert = _with_status(b, issued(b), CertificateStatus.SUSPENDED, provisional)
    [change] = apply_command(b, reinstate(cert.certificate_id), NOW).changes
    assert (change.change, change.certificate.status) == (CertificateChange.REINSTATED, status)
    assert (change.reason, change.certificate.status_reason) == ("paid", "paid")
    assert (change.occurred_at, change.certificate.updated_at) == (NOW, NOW)


# ---- closing a finding ----


def test_closing_a_finding_is_refused_with_the_field_of_each_reason():
    b = books()
    cert = issued(b, findings=majors(1))
    cid = cert.certificate_id
    unknown = close_nonconformity(b, closure(cid, "NC-9"), NOW)
    assert _refused_in_full(unknown) == [
        ("unknown_finding", "finding_id", f"{cert.certificate_number} has no finding NC-9")
    ]
    early = close_nonconformity(b, closure(cid, "NC-0", date(2026, 5, 19)), NOW)
    assert [(r.code, r.field) for r in _refused_in_full_list(early)] == [
        ("dates_out_of_order", "closed_on")
    ]
    future = close_nonconformity(b, closure(cid, "NC-0", TODAY + timedelta(days=1)), NOW)
    assert [(r.code, r.field) for r in _refused_in_full_list(future)] == [
        ("date_in_future", "closed_on")
    ]
    missing = close_nonconformity(b, closure("cert-nope", "NC-0"), NOW)
    assert [(r.code, r.field) for r in _refused_in_full_list(missing)] == [
        ("unknown_certificate", "certificate_id")
    ]


def _refused_in_full_list(outcome):
    assert outcome.refused is not None and outcome.organisation_id == ORG
    return outcome.refused


def test_a_finding_closed_on_the_day_it_was_raised_is_closed_once():
    b = books()
    cert = issued(b, findings=majors(1))
    message = closure(cert.certificate_id, "NC-0", date(2026, 5, 20))
    changes = close_nonconformity(b, message, NOW).changes
    assert changes[0].change is CertificateChange.FINDING_CLOSED
    assert changes[0].reason == "finding NC-0 closed on 2026-05-20: corrective action verified"
    [closed] = changes[0].certificate.findings
    assert (closed.closed_on, closed.closed_by) == (date(2026, 5, 20), BODY)
    again = close_nonconformity(b, message, NOW)
    assert [(r.code, r.field) for r in _refused_in_full_list(again)] == [
        ("finding_already_closed", "finding_id")
    ]


def test_closing_a_finding_of_another_members_certificate_is_refused_on_the_certificate():
    b = books()
    cert = issued(b, findings=majors(1))
    b.certificates[cert.certificate_id] = cert.model_copy(update={"organisation_id": "org-other"})
    outcome = close_nonconformity(b, closure(cert.certificate_id, "NC-0"), NOW)
    assert [(r.code, r.field, r.message) for r in _refused_in_full_list(outcome)] == [
        (
            "certificate_of_other_member",
            "certificate_id",
            f"{cert.certificate_number} belongs to org-other",
        )
    ]


# ---- a surveillance audit lists known findings only to close them ----


def test_every_known_finding_listed_again_is_refused_not_only_those_before_a_new_one():
    b = books()
    cert = issued(b, findings=[finding("NC-0", Severity.MINOR), finding("NC-1", Severity.MINOR)])
    b.certificates[cert.certificate_id] = cert.model_copy(
        update={
            "findings": [
                cert.findings[0],
                cert.findings[1].model_copy(update={"closed_on": date(2026, 5, 21)}),
            ]
        }
    )
    listed = [
        finding("S-NEW", Severity.MINOR),
        finding("NC-0", Severity.MINOR),
        finding("NC-1", Severity.MINOR, closed_on=date(2026, 5, 22)),
    ]
    outcome = submit_audit(b, surveillance(cert.certificate_id, listed), NOW, RULES)
    assert [(r.code, r.field) for r in outcome.refused] == [
        ("duplicate_finding_id", "findings[1].finding_id"),
        ("finding_already_closed", "findings[2].closed_on"),
    ]


def test_a_later_audit_of_another_standard_is_refused_on_the_standard():
    b = books()
    cert = issued(b)
    message = surveillance(cert.certificate_id, [], standard=Standard.CHAIN_OF_CUSTODY)
    assert [(r.code, r.field) for r in submit_audit(b, message, NOW, RULES).refused] == [
        ("standard_mismatch", "standard")
    ]


def test_an_unaccredited_body_is_told_the_days_it_is_not_accredited():
    b = books()
    _accredited(b, date(2026, 5, 19), date(2026, 12, 31))
    outcome = submit_audit(
        b, audit(started=date(2026, 5, 18), completed=date(2026, 5, 20)), NOW, RULES
    )
    [refusal] = outcome.refused
    assert refusal.message == (
        f"{BODY} is accredited 2026-05-19 to 2026-12-31, not on 2026-05-18 to 2026-05-20"
    )


# ---- Corrective Action Plans: each refusal on its field, both sides of every date ----


def _plan_refusals(outcome) -> list[tuple[str, str | None, str]]:
    assert outcome.refused is not None and outcome.organisation_id == ORG
    return [(r.code, r.field, r.message) for r in outcome.refused]


def test_a_plan_is_refused_for_every_bad_action_with_its_index_not_only_the_first():
    b = books()
    cert = issued(b, findings=[finding("NC-0"), finding("NC-1"), finding("NC-2", Severity.MINOR)])
    cid = cert.certificate_id
    dues = {
        "NC-X": date(2026, 6, 1),  # no such open finding
        "NC-0": date(2026, 5, 19),  # due the day before it was raised
        "NC-1": date(2027, 5, 21),  # a Major due more than 12 months after it was raised
    }
    message = cap_submitted(cid, dues, submitted_on=date(2026, 5, 19))
    outcome = corrective_action_plan(b, message, NOW, RULES)
    assert _plan_refusals(outcome) == [
        ("unknown_finding", "actions[0].finding_id", "audit AUD-1 left no open finding NC-X"),
        ("dates_out_of_order", "actions[1].due_on", "NC-0 due before it was raised"),
        (
            "corrective_action_plan_due_too_late",
            "actions[2].due_on",
            "Major NC-1 must be closed by 2027-05-20",
        ),
        ("corrective_action_plan_finding_missing", "actions", "no action for NC-2"),
        ("dates_out_of_order", "submitted_on", "submitted before the audit ended"),
    ]


def test_a_plan_with_two_actions_for_one_finding_is_refused_on_the_actions():
    b = books()
    cert = issued(b, findings=[finding("NC-0")])
    message = cap_submitted(cert.certificate_id, {"NC-0": date(2026, 6, 1)})
    twice = message.model_copy(update={"actions": [*message.actions, *message.actions]})
    assert _plan_refusals(corrective_action_plan(b, twice, NOW, RULES)) == [
        ("duplicate_finding_id", "actions", "one action per finding")
    ]


def test_a_plan_on_the_edges_of_its_dates_is_taken():
    b = books()
    cert = issued(b, findings=[finding("NC-0"), finding("NC-1", Severity.MINOR)])
    dues = {"NC-0": date(2027, 5, 20), "NC-1": date(2026, 5, 20)}  # the last day; the raising day
    message = cap_submitted(cert.certificate_id, dues, submitted_on=date(2026, 5, 20))
    [change] = corrective_action_plan(b, message, NOW, RULES).changes
    assert change.change is CertificateChange.CAP_SUBMITTED
    assert change.reason == "corrective action plan for audit AUD-1 submitted on 2026-05-20"
    [plan] = change.certificate.corrective_action_plans
    assert plan.submitted_on == date(2026, 5, 20)


@pytest.mark.parametrize(
    ("approved_on", "ok"), [(date(2026, 5, 28), True), (date(2026, 5, 27), False)]
)
def test_a_plan_is_approved_on_or_after_the_day_it_was_submitted(approved_on, ok):
    b = books()
    cert = issued(b, findings=[finding("NC-0")])
    cid = cert.certificate_id
    submitted = cap_submitted(cid, {"NC-0": date(2026, 6, 1)}, submitted_on=date(2026, 5, 28))
    corrective_action_plan(b, submitted, NOW, RULES)
    outcome = corrective_action_plan(b, cap_approved(cid, approved_on=approved_on), NOW, RULES)
    if ok:
        [change] = outcome.changes
        assert change.change is CertificateChange.CAP_APPROVED
        assert change.audit_id == "AUD-1"
        assert change.reason == ("corrective action plan for audit AUD-1 approved on 2026-05-28")
        [nc] = change.certificate.findings
        assert nc.due_on == date(2026, 6, 1)
    else:
        assert _plan_refusals(outcome) == [
            ("dates_out_of_order", "approved_on", "approved before it was submitted (2026-05-28)")
        ]


# ---- issue and re-certification: the reasons recorded, open findings carried ----


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (0, "initial audit AUD-1: no Major NC, full for 3 year(s)"),
        (2, "initial audit AUD-1: 2 Major NC(s), provisional for 1 year(s)"),
    ],
)
def test_an_issued_certificate_says_why_it_is_full_or_provisional(n, expected):
    [change] = submit_audit(books(), audit(findings=majors(n)), NOW, RULES).changes
    assert (change.reason, change.certificate.status_reason) == (expected, expected)
    assert (change.audit_id, change.occurred_at) == ("AUD-1", NOW)


def _recertify(b, old, findings=None):
    message = audit(
        "AUD-R",
        audit_type=AuditType.RECERTIFICATION,
        certificate_id=old.certificate_id,
        findings=findings,
    )
    return submit_audit(b, message, NOW, RULES).changes


@pytest.mark.parametrize(
    ("severity", "provisional", "why"),
    [
        (Severity.MINOR, False, "no Major NC, full for 3 year(s)"),
        (Severity.MAJOR, True, "0 Major NC(s), provisional for 1 year(s)"),
    ],
)
def test_a_recertification_carries_open_findings_and_an_open_major_keeps_it_provisional(
    severity, provisional, why
):
    b = books()
    old = issued(b, findings=[finding("NC-0", severity), finding("NC-1", Severity.MAJOR)])
    closed = old.findings[1].model_copy(update={"closed_on": date(2026, 5, 25)})
    old = old.model_copy(update={"findings": [old.findings[0], closed]})
    b.certificates[old.certificate_id] = old
    new, superseded = _recertify(b, old)
    number = old.certificate_number
    reason = f"re-certification audit AUD-R: {why}; 1 open finding(s) carried from {number}"
    assert (new.change, new.reason, new.certificate.status_reason) == (
        CertificateChange.ISSUED,
        reason,
        reason,
    )
    assert new.certificate.provisional is provisional
    assert [f.finding_id for f in new.certificate.findings] == ["NC-0"]
    assert new.certificate.supersedes_certificate_id == old.certificate_id
    gone = f"superseded by {new.certificate.certificate_number} after re-certification audit AUD-R"
    assert (superseded.change, superseded.reason, superseded.audit_id) == (
        CertificateChange.SUPERSEDED,
        gone,
        "AUD-R",
    )
    assert (superseded.occurred_at, superseded.certificate.updated_at) == (NOW, NOW)
    assert superseded.certificate.status_reason == gone
    assert superseded.certificate.superseded_by_certificate_id == new.certificate.certificate_id


def test_a_recertification_with_nothing_open_carries_nothing_and_says_so():
    b = books()
    old = issued(b)
    new, _ = _recertify(b, old)
    assert (
        new.certificate.status_reason
        == "re-certification audit AUD-R: no Major NC, full for 3 year(s)"
    )
    assert new.certificate.findings == []


def test_the_same_audit_id_with_other_content_is_refused_on_the_audit_id():
    b = books()
    issued(b)
    outcome = submit_audit(b, audit(findings=majors(1)), NOW, RULES)
    assert _refused_in_full(outcome) == [
        (
            "duplicate_audit_id",
            "audit_id",
            "audit AUD-1 was already submitted with different content",
        )
    ]
    assert (
        submit_audit(b, audit(), NOW, RULES)
        == submit_audit(books(), audit(), NOW, RULES).__class__()
    )


def test_four_majors_are_refused_on_the_findings_on_the_members_partition():
    outcome = submit_audit(books(), audit(findings=majors(4)), NOW, RULES)
    assert _refused_in_full(outcome) == [
        (
            "too_many_major_ncs",
            "findings",
            "4 Major non-conformances: more than 3 in one audit, no certificate is issued",
        )
    ]


# ---- surveillance: what each change says ----


def test_four_majors_in_a_surveillance_audit_withdraw_the_certificate_and_say_why():
    b = books()
    cert = issued(b)
    message = surveillance(cert.certificate_id, [finding(f"S-{i}") for i in range(4)])
    [change] = submit_audit(b, message, NOW, RULES).changes
    why = (
        "surveillance audit SURV-1: 4 Major NCs, more than 3 in one audit: "
        "certification revoked (Assurance Manual 6.4)"
    )
    assert (change.change, change.reason, change.certificate.status_reason) == (
        CertificateChange.WITHDRAWN,
        why,
        why,
    )
    assert (change.occurred_at, change.certificate.updated_at, change.audit_id) == (
        NOW,
        NOW,
        "SURV-1",
    )
    assert len(change.certificate.findings) == 4


def test_a_downgrade_says_why_and_clears_the_surveillance_due_within_its_provisional_year():
    b = books()
    cert = issued(b)
    assert cert.surveillance_due_on is not None
    b.certificates[cert.certificate_id] = cert.model_copy(update={"surveillance_overdue": True})
    message = surveillance(cert.certificate_id, [finding("S-1"), finding("S-2")])
    [change] = submit_audit(b, message, NOW, RULES).changes
    why = "surveillance audit SURV-1: 2 new Major NC(s), provisional until 2027-05-25"
    assert (change.reason, change.certificate.status_reason) == (why, why)
    assert change.certificate.surveillance_due_on is None
    assert change.certificate.surveillance_overdue is False
    assert (change.occurred_at, change.certificate.updated_at) == (NOW, NOW)


def test_a_passed_surveillance_says_what_it_closed_and_who_verified_it():
    b = books()
    cert = issued(b, findings=[finding("NC-0", Severity.MINOR)])
    listed = [
        finding("NC-0", Severity.MINOR, closed_on=date(2026, 5, 26)),
        finding("S-1", Severity.MINOR, closed_on=date(2026, 5, 26)),
    ]
    [change] = submit_audit(b, surveillance(cert.certificate_id, listed), NOW, RULES).changes
    assert change.change is CertificateChange.SURVEILLANCE_PASSED
    assert change.reason == "surveillance audit SURV-1: 0 new open finding(s), 2 closed"
    assert [(f.finding_id, f.closed_by, f.audit_id) for f in change.certificate.findings] == [
        ("NC-0", OTHER_BODY, "AUD-1"),
        ("S-1", OTHER_BODY, "SURV-1"),
    ]
    opened = surveillance(cert.certificate_id, [finding("S-2", Severity.MINOR)], audit_id="SURV-2")
    [added] = submit_audit(b, opened, NOW, RULES).changes
    assert [(f.finding_id, f.closed_by) for f in added.certificate.findings][-1] == ("S-2", None)


def test_a_surveillance_by_the_auditing_body_closing_the_last_major_upgrades_to_full():
    b = books()
    cert = issued(b, findings=majors(1))
    listed = [finding("NC-0", closed_on=date(2026, 5, 26))]
    message = surveillance(cert.certificate_id, listed, actor=BODY_ACTOR, body=BODY)
    passed, upgraded = submit_audit(b, message, NOW, RULES).changes
    assert passed.change is CertificateChange.SURVEILLANCE_PASSED
    assert (upgraded.change, upgraded.audit_id, upgraded.occurred_at) == (
        CertificateChange.UPGRADED_TO_FULL,
        "SURV-1",
        NOW,
    )
    assert "last on 2026-05-26" in upgraded.reason
    assert upgraded.certificate.status is CertificateStatus.ACTIVE


# ---- the scope and state a surveillance or re-certification audit needs ----


def test_a_site_named_twice_is_refused_on_the_scope_sites():
    outcome = submit_audit(books(), audit(audit_scope=scope("site-a", "site-a")), NOW, RULES)
    assert _refused_in_full(outcome) == [
        ("duplicate_site", "scope.site_ids", "a site is named twice in the scope")
    ]


def test_a_surveillance_audit_outside_the_certificates_scope_is_refused_on_the_sites():
    b = books()
    cert = issued(b)
    message = surveillance(cert.certificate_id, [], audit_scope=scope("site-a", "site-b"))
    assert _refused_in_full(submit_audit(b, message, NOW, RULES)) == [
        (
            "scope_mismatch",
            "scope.site_ids",
            f"sites site-b are not covered by {cert.certificate_number}",
        )
    ]


@pytest.mark.parametrize(
    ("completed", "ok"), [(date(2026, 5, 20), True), (date(2026, 5, 19), False)]
)
def test_a_surveillance_audit_completed_on_the_first_valid_day_counts_the_day_before_not(
    completed, ok
):
    b = books()
    cert = issued(b)  # valid from 2026-05-20
    outcome = submit_audit(
        b, surveillance(cert.certificate_id, [], completed=completed), NOW, RULES
    )
    if ok:
        assert outcome.changes[0].change is CertificateChange.SURVEILLANCE_PASSED
    else:
        assert _refused_in_full(outcome) == [
            (
                "dates_out_of_order",
                "audit_completed_on",
                "the surveillance audit is completed before the certificate was valid",
            )
        ]


@pytest.mark.parametrize(
    ("audit_type", "status", "allowed", "action"),
    [
        (AuditType.SURVEILLANCE, CertificateStatus.SUSPENDED, True, "audit"),
        (AuditType.SURVEILLANCE, CertificateStatus.EXPIRED, False, "audit"),
        (AuditType.RECERTIFICATION, CertificateStatus.EXPIRED, True, "re-certify"),
        (AuditType.RECERTIFICATION, CertificateStatus.SUSPENDED, False, "re-certify"),
    ],
)
def test_which_states_a_later_audit_may_name(audit_type, status, allowed, action):
    b = books()
    cert = _with_status(b, issued(b), status)
    message = audit(
        "AUD-2",
        audit_type=audit_type,
        certificate_id=cert.certificate_id,
        completed=date(2026, 5, 26),
        started=date(2026, 5, 26),
    )
    outcome = submit_audit(b, message, NOW, RULES)
    if allowed:
        assert outcome.refused is None and outcome.changes
    else:
        code = f"certificate_{status.value}"
        number = cert.certificate_number
        assert _refused_in_full(outcome) == [
            (code, "certificate_id", f"cannot {action} {number}: it is {status.value}")
        ]


def test_a_later_audit_naming_an_unknown_certificate_says_so_on_the_certificate_id():
    message = audit("AUD-2", audit_type=AuditType.RECERTIFICATION, certificate_id="cert-nope")
    assert _refused_in_full(submit_audit(books(), message, NOW, RULES)) == [
        ("unknown_certificate", "certificate_id", "certificate cert-nope does not exist")
    ]
    missing = audit("AUD-3", audit_type=AuditType.SURVEILLANCE, certificate_id=None)
    assert _refused_in_full(submit_audit(books(), missing, NOW, RULES)) == [
        (
            "certificate_id_required",
            "certificate_id",
            "a surveillance audit names the certificate it concerns",
        )
    ]


# ---- when the clock next has something to do ----


def test_the_clock_is_next_due_at_the_earliest_unsubmitted_plan_of_a_live_certificate():
    b = books()
    cert = issued(b, findings=majors(1))
    [plan] = cert.corrective_action_plans
    assert cap_clock_due(cert) == plan.submit_by == date(2026, 6, 20)
    submitted = cert.model_copy(
        update={
            "corrective_action_plans": [plan.model_copy(update={"submitted_on": date(2026, 6, 1)})]
        }
    )
    assert cap_clock_due(submitted) is None
    flagged = cert.model_copy(
        update={"corrective_action_plans": [plan.model_copy(update={"overdue": True})]}
    )
    assert cap_clock_due(flagged) is None
    withdrawn = cert.model_copy(update={"status": CertificateStatus.WITHDRAWN})
    assert cap_clock_due(withdrawn) is None


def test_the_surveillance_clock_is_due_on_the_due_day_then_at_the_end_of_grace():
    b = books()
    cert = issued(b)
    due = cert.surveillance_due_on
    assert due is not None
    assert surveillance_clock_due(cert, RULES) == due
    overdue = cert.model_copy(update={"surveillance_overdue": True})
    assert surveillance_clock_due(overdue, RULES) == due + timedelta(
        days=RULES.surveillance_grace_days
    )
    suspended = overdue.model_copy(update={"status": CertificateStatus.SUSPENDED})
    assert surveillance_clock_due(suspended, RULES) is None
    assert (
        surveillance_clock_due(suspended.model_copy(update={"surveillance_overdue": False}), RULES)
        == due
    )
    expired = cert.model_copy(update={"status": CertificateStatus.EXPIRED})
    assert surveillance_clock_due(expired, RULES) is None
    assert (
        surveillance_clock_due(cert.model_copy(update={"surveillance_due_on": None}), RULES) is None
    )
    assert clock_due(cert, RULES) == due


# ---- the clock's changes: what each says, in date order ----


def test_the_clock_flags_plans_in_due_order_then_expires_saying_why():
    b = books()
    cert = issued(b, findings=[finding("NC-0", Severity.MINOR)])
    first = cert.corrective_action_plans[0]
    later = first.model_copy(update={"audit_id": "AUD-0", "submit_by": date(2026, 6, 25)})
    cert = cert.model_copy(
        update={
            "corrective_action_plans": [later, first],
            "valid_until": date(2027, 5, 19),
            "surveillance_due_on": None,
        }
    )
    now = datetime(2027, 5, 21, 12, tzinfo=UTC)  # the day after the last valid day
    changes = due_changes(cert, now, RULES)
    assert [(c.change, c.audit_id, c.reason) for c in changes][:2] == [
        (
            CertificateChange.CAP_OVERDUE,
            "AUD-1",
            "no corrective action plan for audit AUD-1 by 2026-06-20",
        ),
        (
            CertificateChange.CAP_OVERDUE,
            "AUD-0",
            "no corrective action plan for audit AUD-0 by 2026-06-25",
        ),
    ]
    assert changes[0].certificate.updated_at == now
    expired = changes[-1]
    assert (expired.change, expired.reason, expired.certificate.status_reason) == (
        CertificateChange.EXPIRED,
        "validity ended on 2027-05-19",
        "validity ended on 2027-05-19",
    )
    assert expired.certificate.updated_at == now
    assert due_changes(cert, datetime(2026, 6, 20, 23, tzinfo=UTC), RULES) == []


# ---- NC figures: both sides of "as of" and of each window ----


def test_nc_figures_count_on_the_as_of_day_and_close_within_a_window_on_its_last_day():
    b = books()
    cert = issued(b)
    as_of = date(2026, 1, 10)
    findings = [
        # raised 12 months before as_of, closed on the window's last day: matured, within 12
        finding("a", Severity.MINOR, raised=date(2025, 1, 10), closed_on=date(2026, 1, 10)),
        # raised a day later: not yet matured for 12 months
        finding("b", Severity.MINOR, raised=date(2025, 1, 11), closed_on=date(2026, 1, 11)),
        # raised on as_of: counted, open on as_of
        finding("c", Severity.MINOR, raised=as_of),
        # raised the day after as_of: not counted
        finding("d", Severity.MINOR, raised=date(2026, 1, 11)),
        finding("e", Severity.MINOR, raised=date(2026, 1, 9)),
    ]
    figures = nc_figures([cert.model_copy(update={"findings": findings})], as_of)["total"]
    assert (figures["total"], figures["closed"], figures["open"]) == (4, 1, 3)
    assert figures["raised_at_least_12_months_ago"] == 1
    assert figures["closed_within_12_months"] == "1.0000"


def test_a_finding_carried_to_a_new_certificate_counts_once_as_the_current_one_has_it():
    b = books()
    cert = issued(b)
    raised = date(2025, 1, 10)
    carried_open = finding("a", Severity.MINOR, raised=raised).model_copy(update={"audit_id": "X"})
    carried_closed = carried_open.model_copy(update={"closed_on": date(2025, 6, 1)})
    old = cert.model_copy(
        update={"status": CertificateStatus.SUPERSEDED, "findings": [carried_open]}
    )
    new = cert.model_copy(update={"certificate_id": "cert-new", "findings": [carried_closed]})
    for order in ([old, new], [new, old]):
        figures = nc_figures(order, date(2026, 6, 1))["total"]
        assert (figures["total"], figures["closed"]) == (1, 1)


def test_a_certificate_id_is_derived_from_its_audit_in_one_fixed_form():
    cid = certificate_id_for("AUD-1")
    assert cid == certificate_id_for("AUD-1") != certificate_id_for("AUD-2")
    assert cid.startswith("cert-") and len(cid) == len("cert-") + 20
    int(cid.removeprefix("cert-"), 16)


def test_an_audits_digest_is_pinned_because_stored_digests_are_compared_with_later_ones():
    """Each taken audit's digest is stored with it and compared, when the same audit id comes again,
    with the digest the running release computes: the canonical form (the content without the
    envelope, keys sorted, no spaces, SHA-256) must not change between releases, or a redelivered
    audit reads as other content. If this value changes on purpose, migrate the stored digests."""
    content = {
        "audit_id": "AUD-1",
        "certification_body_id": "cb-audits",
        "organisation_id": "org-smelter",
        "audit_type": AuditType.INITIAL,
        "standard": Standard.PERFORMANCE_STANDARD,
        "standard_version": "V3-2022",
        "audit_started_on": date(2026, 5, 18),
        "audit_completed_on": date(2026, 5, 20),
        "scope": CertificateScope(level=ScopeLevel.FACILITY, site_ids=["site-a"]),
        "findings": [],
    }
    first = AuditOutcomeSubmitted.create(actor=BODY_ACTOR, occurred_at=NOW, **content)
    again = AuditOutcomeSubmitted.create(
        actor=OTHER_BODY_ACTOR, occurred_at=NOW + timedelta(days=1), **content
    )
    pinned = "d449aea712591967e86a9347590eabec3139c7d5fb93eca7ae0f4b2698b70390"
    assert audit_digest(first) == audit_digest(again) == pinned


def test_every_taken_audit_is_kept_with_its_digest_outcome_and_certificate():
    b = books()
    first = audit()
    cert = issued(b)
    refused = audit("AUD-9", findings=majors(4))
    submit_audit(b, refused, NOW, RULES)
    watched = surveillance(cert.certificate_id, [])
    submit_audit(b, watched, NOW, RULES)
    assert [(r.audit.audit_id, r.digest, r.outcome, r.certificate_id) for r in b.new_audits] == [
        ("AUD-1", audit_digest(first), "issued", cert.certificate_id),
        ("AUD-9", audit_digest(refused), "refused", None),
        ("SURV-1", audit_digest(watched), "surveillance", cert.certificate_id),
    ]


def test_an_initial_audit_naming_a_certificate_is_refused_on_the_certificate_id():
    message = audit(certificate_id="cert-any")
    assert _refused_in_full(submit_audit(books(), message, NOW, RULES)) == [
        (
            "certificate_id_not_expected",
            "certificate_id",
            "an initial audit issues a new certificate: leave certificate_id empty",
        )
    ]


def test_a_plan_covers_the_open_findings_of_its_own_audit_only():
    b = books()
    cert = issued(b, findings=[finding("NC-0"), finding("NC-1", closed_on=date(2026, 5, 20))])
    submit_audit(b, surveillance(cert.certificate_id, [finding("S-1", Severity.MINOR)]), NOW, RULES)
    message = cap_submitted(cert.certificate_id, {"NC-0": date(2026, 6, 1)})
    [change] = corrective_action_plan(b, message, NOW, RULES).changes
    assert change.change is CertificateChange.CAP_SUBMITTED
    approved = corrective_action_plan(b, cap_approved(cert.certificate_id), NOW, RULES)
    [nc0, nc1, s1] = approved.changes[0].certificate.findings
    assert (nc0.due_on, nc1.due_on, s1.due_on) == (
        date(2026, 6, 1),
        cert.findings[1].due_on,
        date(2026, 11, 16),
    )


def test_a_late_plan_says_how_many_days_late():
    b = books()
    cert = issued(b, findings=[finding("NC-0")])
    message = cap_submitted(cert.certificate_id, {"NC-0": date(2026, 7, 1)}, submitted_on=TODAY)
    b.certificates[cert.certificate_id] = cert.model_copy(
        update={
            "corrective_action_plans": [
                cert.corrective_action_plans[0].model_copy(update={"submit_by": date(2026, 5, 29)})
            ]
        }
    )
    [change] = corrective_action_plan(b, message, NOW, RULES).changes
    assert change.reason == (
        "corrective action plan for audit AUD-1 submitted on 2026-06-01, 3 day(s) late"
    )
    assert change.audit_id == "AUD-1"


def test_a_missed_surveillance_suspends_after_grace_saying_why():
    b = books()
    cert = issued(b).model_copy(update={"surveillance_due_on": date(2026, 3, 1)})
    changes = surveillance_due_changes(cert, TODAY, RULES, NOW)
    flagged, suspended = changes
    assert (flagged.reason, flagged.certificate.updated_at) == (
        "surveillance audit was due by 2026-03-01",
        NOW,
    )
    why = "surveillance audit was due by 2026-03-01; not done within 60 days of grace"
    assert (suspended.reason, suspended.certificate.status_reason) == (why, why)
    assert suspended.certificate.status is CertificateStatus.SUSPENDED
    assert suspended.certificate.updated_at == NOW
    ending = cert.model_copy(update={"valid_until": date(2026, 4, 30)})
    assert [c.change for c in surveillance_due_changes(ending, TODAY, RULES, NOW)] == [
        CertificateChange.SURVEILLANCE_OVERDUE
    ]


def test_a_major_due_on_the_last_valid_day_is_flagged_overdue():
    b = books()
    cert = issued(b, findings=majors(1))
    due = cert.valid_until
    cert = cert.model_copy(
        update={"findings": [cert.findings[0].model_copy(update={"due_on": due})]}
    )
    after = datetime.combine(due + timedelta(days=2), datetime.min.time(), UTC)
    [flagged] = [c for c in due_changes(cert, after, RULES) if c.change.name == "FINDING_OVERDUE"]
    assert flagged.certificate.updated_at == after


def test_rebuilding_skips_other_events_wherever_they_are():
    b = books()
    cert = issued(b)
    other = MemberCertificationOverdue.create(
        actor=BODY_ACTOR, occurred_at=NOW, organisation_id="o", reason="r"
    )
    changed = CertificateChanged.create(
        actor=BODY_ACTOR, occurred_at=NOW, change=CertificateChange.ISSUED, certificate=cert
    )
    assert rebuild([other, changed]) == {cert.certificate_id: cert}


@pytest.mark.parametrize("approval", [False, True])
def test_a_plan_dated_in_the_future_is_refused_on_its_own_date_field(approval):
    b = books()
    cert = issued(b, findings=[finding("NC-0")])
    tomorrow = TODAY + timedelta(days=1)
    if approval:
        message = cap_approved(cert.certificate_id, approved_on=tomorrow)
    else:
        message = cap_submitted(
            cert.certificate_id, {"NC-0": date(2026, 7, 1)}, submitted_on=tomorrow
        )
    field = "approved_on" if approval else "submitted_on"
    outcome = corrective_action_plan(b, message, NOW, RULES)
    assert [(code, name) for code, name, _ in _plan_refusals(outcome)] == [
        ("date_in_future", field)
    ]


@pytest.mark.parametrize(
    ("completed", "too_old"), [(date(2025, 6, 2), False), (date(2025, 6, 1), True)]
)
def test_a_provisional_certificate_that_would_already_have_expired_is_not_issued(
    completed, too_old
):
    b = books()
    outcome = submit_audit(
        b, audit(findings=majors(1), started=completed, completed=completed), NOW, RULES
    )
    if too_old:
        assert [(r.code, r.field) for r in outcome.refused] == [
            ("audit_too_old", "audit_completed_on")
        ]
    else:
        assert outcome.changes[0].certificate.valid_until == TODAY
