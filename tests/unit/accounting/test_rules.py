from datetime import date
from decimal import Decimal

import pytest

from services.accounting.domain.rules import (
    CATALOGUE,
    DEFAULT_RULE_SET,
    Assignment,
    Level,
    Method,
    Rounding,
    period_containing,
    rule_set_on,
)


def test_the_catalogue_holds_the_three_models_as_data():
    v2, site, group = (CATALOGUE[i] for i in ("v2-2022-group-percentage", "v3-draft-site-credit",
                                              "v3-draft-group-credit"))
    assert (v2.level, v2.method, v2.period_months, v2.carry_over) == (Level.GROUP, Method.PERCENTAGE, 12, False)
    assert (site.level, site.method, site.require_coc_input_in_period) == (Level.SITE, Method.CREDIT, True)
    assert (group.level, group.method, group.require_coc_input_in_period) == (Level.GROUP, Method.CREDIT, False)
    assert site.account_id("org", "s1") == "site:s1" and group.account_id("org", "s1") == "group:org"


def test_an_organisation_without_assignment_follows_v2_and_assignments_apply_from_their_date():
    assert DEFAULT_RULE_SET.rule_set_id == "v2-2022-group-percentage"
    assignments = [Assignment(date(2027, 1, 1), "v3-draft-site-credit"), Assignment(date(2026, 7, 1), "v3-draft-group-credit")]
    assert rule_set_on(assignments, date(2026, 6, 30)) is DEFAULT_RULE_SET
    assert rule_set_on(assignments, date(2026, 7, 1)).rule_set_id == "v3-draft-group-credit"
    assert rule_set_on(assignments, date(2027, 3, 1)).rule_set_id == "v3-draft-site-credit"


@pytest.mark.parametrize(("value", "credit", "debit"), [
    ("1.0001", "1.000", "1.001"), ("1.9999", "1.999", "2.000"), ("2", "2.000", "2.000"), ("0.0004", "0.000", "0.001"),
])
def test_rounding_never_favours_the_producer(value, credit, debit):
    rounding = Rounding()
    assert rounding.credit(Decimal(value)) == Decimal(credit)
    assert rounding.debit(Decimal(value)) == Decimal(debit)
    assert str(rounding.credit(Decimal("-0.0001"))) == "-0.001"
    assert str(rounding.debit(Decimal("-0.0001"))) == "0.000"


def test_periods_are_calendar_aligned():
    assert period_containing(date(2026, 5, 17), 12) == (date(2026, 1, 1), date(2026, 12, 31))
    assert period_containing(date(2026, 5, 17), 3) == (date(2026, 4, 1), date(2026, 6, 30))
    assert period_containing(date(2026, 12, 31), 1) == (date(2026, 12, 1), date(2026, 12, 31))
