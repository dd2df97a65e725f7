"""The certification rules as configurable values. Sources: the Assurance Manual as ASI's public
pages summarise it (full 3 years, provisional 1 year, more than three Majors: no certificate or
revoked (section 6.4), the Corrective Action Plan within one month of the on-site audit,
must-certify members within two years of joining). Values marked (verify) are not from the
normative text."""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, timedelta

from contracts.registry import MembershipClass


@dataclass(frozen=True)
class Rules:
    full_validity_years: int = 3
    provisional_validity_years: int = 1
    max_major_ncs: int = 3
    certify_within_years: int = 2
    must_certify: frozenset[MembershipClass] = field(
        default_factory=lambda: frozenset(
            {MembershipClass.PRODUCTION_AND_TRANSFORMATION, MembershipClass.INDUSTRIAL_USERS}
        )
    )
    number_prefix: str = "ASI"
    # Corrective Action Plans: due within one month of the on-site audit (Assurance Manual).
    cap_due_months: int = 1
    # A Major closed within this many months of being raised (6-12 in practice; verify).
    major_close_within_months: int = 12
    # Surveillance of a full certificate: due by this many months after certification or the last
    # surveillance that counted (verify), counting when completed in the window of
    # `surveillance_window_months` that ends on the due day (verify); once overdue, suspended
    # after `surveillance_grace_days` (verify).
    surveillance_due_months: int = 24
    surveillance_window_months: int = 12
    surveillance_grace_days: int = 60
    # A provisional certificate upgraded to full is valid `full_validity_years` from its original
    # certification date (True) or from the day its last Major was verified closed (False) (verify).
    upgrade_from_original_date: bool = True


def add_years(day: date, years: int) -> date:
    """The same calendar day `years` later; 29 February becomes 28 February."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def last_valid_day(valid_from: date, years: int) -> date:
    return add_years(valid_from, years) - timedelta(days=1)


def add_months(day: date, months: int) -> date:
    """The same day `months` later (or earlier), or the month's last day when it has no such day."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


DEFAULT_RULES = Rules()
"""The rules with every value at its default (the settings' defaults)."""
