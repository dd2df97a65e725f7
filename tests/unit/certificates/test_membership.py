"""Membership at risk: the secretariat extends a must-certify member's deadline or records its
forfeiture."""

from __future__ import annotations

from datetime import date

from contracts.registry import Member, MembershipClass
from services.certificates.domain.membership import Standing, extension_reasons, forfeiture_reasons
from tests.unit.certificates.builders import RULES

ORG = "org-mill"


def member(klass: MembershipClass = MembershipClass.PRODUCTION_AND_TRANSFORMATION) -> Member:
    return Member(
        organisation_id=ORG, name="Mill", membership_class=klass, joined_on=date(2024, 6, 1)
    )


def codes(reasons) -> dict[str, str | None]:
    return {r.code: r.field for r in reasons}


def test_an_extension_must_move_the_deadline_later():
    standing = Standing(due_on=date(2026, 6, 1), flagged=True)
    assert extension_reasons(member(), ORG, standing, date(2026, 6, 2), RULES) == []
    assert codes(extension_reasons(member(), ORG, standing, date(2026, 6, 1), RULES)) == {
        "dates_out_of_order": "until"
    }


def test_only_members_of_must_certify_classes_that_have_not_forfeited_can_be_extended():
    later = date(2027, 1, 1)
    assert codes(extension_reasons(None, ORG, Standing(), later, RULES)) == {
        "unknown_member": "organisation_id"
    }
    assert codes(
        extension_reasons(member(MembershipClass.CIVIL_SOCIETY), ORG, Standing(), later, RULES)
    ) == {"member_not_of_a_must_certify_class": "organisation_id"}
    assert codes(
        extension_reasons(member(), ORG, Standing(forfeited_on=date(2026, 7, 1)), later, RULES)
    ) == {"membership_forfeited": "organisation_id"}


def test_a_forfeiture_needs_a_member_flagged_at_risk_and_happens_once():
    assert (
        forfeiture_reasons(member(), ORG, Standing(due_on=date(2026, 6, 1), flagged=True), RULES)
        == []
    )
    assert codes(forfeiture_reasons(member(), ORG, Standing(due_on=date(2026, 6, 1)), RULES)) == {
        "membership_not_at_risk": "organisation_id"
    }
    assert codes(
        forfeiture_reasons(
            member(), ORG, Standing(flagged=True, forfeited_on=date(2026, 7, 1)), RULES
        )
    ) == {"membership_forfeited": "organisation_id"}
    assert codes(
        forfeiture_reasons(
            member(MembershipClass.GENERAL_SUPPORTERS), ORG, Standing(flagged=True), RULES
        )
    ) == {"member_not_of_a_must_certify_class": "organisation_id"}
