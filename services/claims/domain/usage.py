"""What an approved claim spent, what its owner reports used, and what a withdrawal may return.
Pure.

Source: `../shared/domain.md`, Claims: "Claimed mass is spent, not lent. Products carrying an
approved claim are on shelves: the mass behind it never comes back on expiry or revocation. Only the
unused part of a withdrawn claim may return." (issue 15, item 1).

- An approval spends the allocated mass (`approved_kg`, the mass accounting reserved, in grams).
- The brand owner reports usage per period: units that carried the claim. Used mass is units x
  aluminium per unit, exact. A period is reported once (the same figures again change nothing; other
  figures for a reported period are refused, so reordered or repeated reports can never lower the
  used mass, which would raise what a withdrawal returns).
- Usage may never exceed the approved quantity: the claimed units, or the claimed mass when the
  request gave a mass only.
- A withdrawal returns `approved_kg - used_kg`, rounded down to the gram (never in the owner's
  favour), once. Revocation and expiry return nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_FLOOR, Decimal

from contracts.claims import ClaimReason, ClaimRequested, ClaimUsageReported
from contracts.common import Reason

GRAM = Decimal("0.001")
ZERO = Decimal(0)


def period_key(start: date, end: date) -> str:
    return f"{start.isoformat()}/{end.isoformat()}"


@dataclass(frozen=True)
class Usage:
    """Units reported per period (`period_key`) for one claim."""

    request: ClaimRequested
    reported: dict[str, int]

    @property
    def per_unit_kg(self) -> Decimal:
        return Decimal(self.request.product.aluminium_mass_per_unit_kg)

    @property
    def used_units(self) -> int:
        return sum(self.reported.values())

    @property
    def used_kg(self) -> Decimal:
        return self.used_units * self.per_unit_kg

    @property
    def approved_units(self) -> int | None:
        return self.request.product.units

    @property
    def approved_limit_kg(self) -> Decimal:
        """The approved quantity as mass: the claimed units' mass, or the claimed total mass."""
        product = self.request.product
        if product.units is not None:
            return Decimal(product.units * product.aluminium_mass_per_unit_kg)
        if product.total_mass_kg is None:  # the contract requires units or a total mass
            raise ValueError("a claimed product states its units or its total mass")
        return Decimal(product.total_mass_kg)


def report_reasons(usage: Usage, report: ClaimUsageReported) -> list[Reason]:
    """Why a usage report cannot be recorded (empty: record it)."""
    reasons: list[Reason] = []
    if report.period_end < report.period_start:
        reasons.append(
            Reason(
                code=ClaimReason.INVALID_REQUEST,
                field="period_end",
                message=f"the period ends ({report.period_end}) before it starts "
                f"({report.period_start})",
            )
        )
    request = usage.request
    if report.period_start < request.period_start or report.period_end > request.period_end:
        reasons.append(
            Reason(
                code=ClaimReason.INVALID_REQUEST,
                field="period_start",
                message=f"the claim covers {request.period_start}..{request.period_end}; usage for "
                f"{report.period_start}..{report.period_end} falls outside it",
            )
        )
    key = period_key(report.period_start, report.period_end)
    if key in usage.reported and usage.reported[key] != report.units:
        reasons.append(
            Reason(
                code=ClaimReason.USAGE_CONFLICT,
                field="units",
                message=f"{usage.reported[key]} units were already reported for {key}; "
                f"the first report stands",
            )
        )
        return reasons
    if key in usage.reported:
        return reasons
    units = usage.used_units + report.units
    mass = units * usage.per_unit_kg
    if mass > usage.approved_limit_kg:
        approved = (
            f"{usage.approved_units} units"
            if usage.approved_units is not None
            else f"{usage.approved_limit_kg} kg"
        )
        reasons.append(
            Reason(
                code=ClaimReason.USAGE_EXCEEDS_APPROVED,
                field="units",
                message=f"{units} units ({mass} kg) reported in all would exceed the {approved} "
                f"approved",
            )
        )
    return reasons


def returnable_kg(approved_kg: Decimal, used_kg: Decimal) -> Decimal:
    """The unused part a withdrawal returns: never negative, rounded down to the gram."""
    return max(approved_kg - used_kg, ZERO).quantize(GRAM, rounding=ROUND_FLOOR)
