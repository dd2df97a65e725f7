"""Versioned rule sets as data, conservative rounding and accounting periods. Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from enum import StrEnum

from contracts.common import ProcessStep
from contracts.ledger import group_account_id, scope_account_id, site_account_id

QUANTUM = Decimal("0.001")
"""Every mass in the ledger is a whole number of grams."""

ZERO = Decimal("0.000")


class Level(StrEnum):
    SITE = "site"
    GROUP = "group"


class Method(StrEnum):
    PERCENTAGE = "percentage"
    CREDIT = "credit"


class Overshoot(StrEnum):
    """What happens when a closed period's CoC share of outputs exceeds its CoC share of inputs."""

    DEDUCT_NEXT_PERIOD = "deduct_next_period"
    """The excess CoC output counts against the next period's allowance."""
    NON_CONFORMITY = "non_conformity"
    """The excess is reported to the certification body as a non-conformity (an alert event)."""


def _clean(value: Decimal) -> Decimal:
    return ZERO if value.is_zero() else value


def round_down(value: Decimal, quantum: Decimal = QUANTUM) -> Decimal:
    return _clean(value.quantize(quantum, rounding=ROUND_FLOOR))


def round_up(value: Decimal, quantum: Decimal = QUANTUM) -> Decimal:
    return _clean(value.quantize(quantum, rounding=ROUND_CEILING))


@dataclass(frozen=True)
class Rounding:
    """Rounding never favours the producer: what adds credits (or CoC input) rounds down, what
    consumes them (or counts as input the CoC share is diluted by) rounds up."""

    quantum: Decimal = QUANTUM

    def credit(self, value: Decimal) -> Decimal:
        return round_down(value, self.quantum)

    def debit(self, value: Decimal) -> Decimal:
        return round_up(value, self.quantum)


@dataclass(frozen=True)
class RuleSet:
    """One versioned set of mass-balance rules, assigned per organisation (certification scope)."""

    rule_set_id: str
    version: str
    level: Level
    method: Method
    period_months: int
    carry_over: bool
    require_coc_input_in_period: bool
    credits_by_product: bool
    """True: a designation draws only on credits of the shipped product (material and form)."""
    overshoot: Overshoot = Overshoot.NON_CONFORMITY
    """Percentage method: how a period-level overshoot found at close is handled (verify)."""
    credit_lifetime_months: int | None = None
    """Credits expire this many months after the month they were created in, oldest used first
    (None: they live as long as the carry-over rule lets them) (verify)."""
    require_performance_standard: bool = True
    """Designations need a current PS certificate covering the site beside the CoC one (domain.md:
    only an entity certified against both may pass material on as CoC Material)."""
    rounding: Rounding = Rounding()
    origin_steps: frozenset[ProcessStep] = frozenset({ProcessStep.MINING})
    """Steps where CoC Material originates: their output, at a site a current CoC certificate
    covers, is CoC input (bauxite mined at a certified mine is ASI Bauxite)."""
    description: str = ""

    def account_id(self, organisation_id: str, site_id: str, scope_id: str | None = None) -> str:
        """Site level: one account per site. Group level: one pool per CoC certification scope
        (`scope_id`); movements at sites outside every CoC scope land in the organisation's
        unscoped group account, which never earns credits."""
        if self.level is Level.SITE:
            return site_account_id(site_id)
        return (
            scope_account_id(organisation_id, scope_id)
            if scope_id
            else group_account_id(organisation_id)
        )

    def period_containing(self, day: date) -> tuple[date, date]:
        return period_containing(day, self.period_months)


V2_2022_GROUP_PERCENTAGE = RuleSet(
    rule_set_id="v2-2022-group-percentage",
    version="2022.1",
    level=Level.GROUP,
    method=Method.PERCENTAGE,
    period_months=12,
    carry_over=False,
    require_coc_input_in_period=False,
    credits_by_product=False,
    overshoot=Overshoot.NON_CONFORMITY,  # (verify) V2 text on a period-level overshoot
    description="ASI CoC V2 (2022): pooled per certification scope, CoC share of outputs <= CoC "
    "share of inputs per year.",
)
V3_DRAFT_SITE_CREDIT = RuleSet(
    rule_set_id="v3-draft-site-credit",
    version="draft-2025-10",
    level=Level.SITE,
    method=Method.CREDIT,
    period_months=12,
    carry_over=True,
    require_coc_input_in_period=True,
    credits_by_product=True,
    overshoot=Overshoot.DEDUCT_NEXT_PERIOD,  # (verify)
    credit_lifetime_months=12,  # (verify) "at most 12 months, oldest used first"
    description="V3 draft: one account per site, credit method, a site ships CoC only after CoC "
    "input in the period.",
)
V3_DRAFT_GROUP_CREDIT = RuleSet(
    rule_set_id="v3-draft-group-credit",
    version="draft-2025-10",
    level=Level.GROUP,
    method=Method.CREDIT,
    period_months=12,
    carry_over=True,
    require_coc_input_in_period=False,
    credits_by_product=True,
    overshoot=Overshoot.DEDUCT_NEXT_PERIOD,  # (verify)
    credit_lifetime_months=12,  # (verify) "at most 12 months, oldest used first"
    description="V3 draft: pooled per certification scope, credit method (no overdraft).",
)

CATALOGUE: dict[str, RuleSet] = {
    r.rule_set_id: r
    for r in (V2_2022_GROUP_PERCENTAGE, V3_DRAFT_SITE_CREDIT, V3_DRAFT_GROUP_CREDIT)
}
DEFAULT_RULE_SET = V2_2022_GROUP_PERCENTAGE
"""What governs an organisation that was never assigned a rule set: today's scheme (V2-2022)."""


def rule_set(rule_set_id: str) -> RuleSet | None:
    return CATALOGUE.get(rule_set_id)


@dataclass(frozen=True)
class Assignment:
    effective_from: date
    rule_set_id: str


def rule_set_on(assignments: list[Assignment], day: date) -> RuleSet:
    """The rule set in force on `day`: the latest assignment effective by then, else the default."""
    chosen = DEFAULT_RULE_SET
    best: date | None = None
    for assignment in assignments:
        if assignment.effective_from <= day and (best is None or assignment.effective_from >= best):
            chosen = CATALOGUE.get(assignment.rule_set_id, chosen)
            best = assignment.effective_from
    return chosen


def _month_start(index: int) -> date:
    return date(index // 12, index % 12 + 1, 1)


def period_containing(day: date, months: int) -> tuple[date, date]:
    """Calendar-aligned periods of `months` months (12: calendar years; 3: quarters)."""
    index = (day.year * 12 + day.month - 1) // months * months
    return _month_start(index), _month_start(index + months) - timedelta(days=1)


def add_months(day: date, months: int) -> date:
    """The same day `months` later, clamped to the end of a shorter month."""
    index = day.year * 12 + day.month - 1 + months
    first = _month_start(index)
    last = _month_start(index + 1) - timedelta(days=1)
    return first.replace(day=min(day.day, last.day))


def period_id(start: date) -> str:
    return start.isoformat()
