"""The checks every plant event goes through, and the collector of what one evaluation found."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime
from decimal import Decimal

from contracts.common import MassUnit, MaterialCategory, Reason, Role
from contracts.intake import IntakeReason as R
from contracts.registry import Site
from services.intake.domain.keys import site_key
from services.intake.domain.model import Wait
from services.intake.domain.outcomes import PlantEvent
from services.intake.domain.rules import IntakeRules
from services.intake.domain.units import to_kg


class Check:
    """Collects refusals and waits while one event is evaluated. Refusal beats waiting."""

    def __init__(self) -> None:
        self.reasons: list[Reason] = []
        self.waits: list[Wait] = []

    def refuse(self, code: str, message: str, field: str | None = None) -> None:
        self.reasons.append(Reason(code=code, message=message, field=field))

    def wait(self, key: str, code: str, message: str, field: str | None = None) -> None:
        self.waits.append(Wait(key, Reason(code=code, message=message, field=field)))

    @property
    def clear(self) -> bool:
        return not self.reasons and not self.waits


def reporting_site(
    event: PlantEvent, sites: dict[str, Site], rules: IntakeRules, check: Check
) -> Site | None:
    """The actor may report this kind of event (`SENDERS`) about a registered site it owns."""
    if event.actor.role not in rules.senders.get(event.type, frozenset({Role.PRODUCER})):
        check.refuse(
            R.ACTOR_NOT_PRODUCER,
            f"a {event.actor.role.value} may not report {event.type}",
            "actor.role",
        )
    site = sites.get(event.site_id)
    if site is None:
        check.wait(
            site_key(event.site_id),
            R.UNKNOWN_SITE,
            f"site {event.site_id} is not registered",
            "site_id",
        )
    elif site.organisation_id != event.actor.organisation_id:
        check.refuse(
            R.SITE_NOT_OWNED,
            f"site {event.site_id} belongs to {site.organisation_id}, "
            f"not to {event.actor.organisation_id}",
            "site_id",
        )
    return site


def kilograms(
    quantity: Decimal,
    unit: MassUnit,
    field: str,
    rules: IntakeRules,
    check: Check,
    *,
    zero_ok: bool = False,
) -> Decimal:
    """Exact kilograms, positive (or zero where allowed), under the configured line ceiling."""
    kg = to_kg(quantity, unit)
    if kg < 0 or (kg == 0 and not zero_ok):
        check.refuse(
            R.QUANTITY_NOT_POSITIVE, f"{quantity} {unit.value} is {kg} kg once normalised", field
        )
    elif kg > rules.max_quantity_kg:
        check.refuse(
            R.QUANTITY_ABSURD,
            f"{kg} kg is above the ceiling of {rules.max_quantity_kg} kg for one event line",
            field,
        )
    return kg


def not_in_future(day: date, field: str, now: datetime, rules: IntakeRules, check: Check) -> None:
    latest = (now + rules.future_skew).date()
    if day > latest:
        check.refuse(
            R.DATE_IN_FUTURE,
            f"{day.isoformat()} is in the future (latest accepted: {latest})",
            field,
        )


def category_allowed(
    site: Site,
    category: MaterialCategory,
    allowed: Collection[MaterialCategory],
    verb: str,
    field: str,
    check: Check,
) -> None:
    """The activity table (`RECEIVES`, `PRODUCES` in rules.py) says what a site handles."""
    if category not in allowed:
        activities = ", ".join(a.value for a in site.activities)
        check.refuse(
            R.CATEGORY_NOT_ALLOWED, f"a site doing {activities} cannot {verb} {category}", field
        )
