"""A claimant whose membership is at risk (MemberCertificationOverdue) or forfeited makes no new
claim."""

from __future__ import annotations

from dataclasses import replace

from contracts.claims import ClaimReason
from services.claims.domain import checks
from services.claims.domain.membership import AT_RISK, FORFEITED
from services.claims.domain.rule_sets import wording_rules
from tests.unit.claims.builders import BRAND, TODAY, registry, request

RULES = wording_rules()


def reasons(standing: dict[str, str]) -> dict[str, str | None]:
    result = checks.static_checks(request(), replace(registry(), standing=standing), RULES, TODAY)
    return {r.code: r.field for r in result.reasons}


def test_a_member_at_risk_is_refused_with_its_own_reason_and_field():
    assert reasons({BRAND: AT_RISK}) == {ClaimReason.MEMBERSHIP_AT_RISK: "claimant_organisation_id"}


def test_a_member_that_forfeited_is_no_member():
    assert reasons({BRAND: FORFEITED}) == {ClaimReason.NOT_A_MEMBER: "claimant_organisation_id"}


def test_other_members_standing_does_not_matter():
    assert reasons({"someone-else": AT_RISK}) == {}
