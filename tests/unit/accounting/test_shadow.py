"""Shadow accounting: every rule set on the same movements, per period, never authoritative."""

from datetime import date
from decimal import Decimal

from services.accounting.domain import shadow
from services.accounting.domain.rules import CATALOGUE
from tests.unit.accounting.factories import NOW, certificate, ps_certificate, receipt, ship

ORG = "org-smelter"


def movements():
    day = date(2026, 3, 1)
    return [
        ship("200", "100", site="site-b", day=date(2026, 3, 2)),  # site-b never received CoC input
        receipt("1000", "1000", site="site-a", day=day),
        receipt("1000", "0", site="site-b", day=day),
    ]


def test_every_rule_set_runs_on_the_same_movements_and_reports_what_it_would_have_allowed():
    result = shadow.compare(ORG, movements(), [certificate(), ps_certificate()], date(2026, 6, 1), NOW)
    assert set(result) == set(CATALOGUE)
    designated = {r: sum((v.designated for v in views), Decimal(0)) for r, views in result.items()}
    refused = {r: {code for v in views for code in v.refusal_reasons} for r, views in result.items()}
    # pooled over the scope, site-b may ship CoC; site by site it may not (no CoC input there)
    assert designated == {"v2-2022-group-percentage": Decimal(100), "v3-draft-group-credit": Decimal(100),
                          "v3-draft-site-credit": Decimal(0)}
    assert refused["v3-draft-site-credit"] == {"insufficient_credits", "no_coc_input_in_period"}
    site_views = {v.account_id: v for v in result["v3-draft-site-credit"]}
    assert (site_views["site:site-a"].coc_input, site_views["site:site-b"].total_input) == (Decimal(1000),
                                                                                            Decimal(1000))


def test_the_shadow_books_are_in_date_order_and_closed_periods_are_reported():
    later = [receipt("500", "500", day=date(2025, 5, 1)), ship("100", "100", day=date(2025, 6, 1))]
    result = shadow.compare(ORG, list(reversed(later)), [certificate(), ps_certificate()], date(2026, 6, 1), NOW,
                            ["v3-draft-group-credit"])
    [closed, current] = result["v3-draft-group-credit"]
    assert (closed.period_id, closed.closed, closed.designated, closed.closing_balance) == (
        "2025-01-01", True, Decimal(100), Decimal(400))
    assert (current.period_id, current.closed) == ("2026-01-01", False)
