"""The certification rules as configurable values (several are marked "verify" in the domain notes)."""

from __future__ import annotations

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
        default_factory=lambda: frozenset({MembershipClass.PRODUCTION_AND_TRANSFORMATION,
                                           MembershipClass.INDUSTRIAL_USERS})
    )
    number_prefix: str = "ASI"


def add_years(day: date, years: int) -> date:
    """The same calendar day `years` later; 29 February becomes 28 February."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def last_valid_day(valid_from: date, years: int) -> date:
    return add_years(valid_from, years) - timedelta(days=1)
