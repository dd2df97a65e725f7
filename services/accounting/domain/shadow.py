"""Shadow accounting: the same movements under every rule set of the catalogue, side by side. Pure:
no I/O.

Never authoritative and never issuing documents: each rule set runs on books of its own, in memory,
whose outcomes are only counted. This is the evidence the scheme's working group is missing when it
weighs site against group accounting (seeds/000; issue 15 item 8).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from contracts.registry import Certificate
from services.accounting.domain.closing import statement
from services.accounting.domain.ledger import (
    DesignationDenied,
    DocumentDue,
    Ledger,
    StatementWritten,
)
from services.accounting.domain.rules import CATALOGUE, ZERO, Assignment
from services.accounting.domain.state import Movement, MovementRecord, movement_day


@dataclass
class PeriodView:
    """What one rule set would have done in one account and period."""

    rule_set_id: str
    account_id: str
    period_id: str
    closed: bool = False
    coc_input: Decimal = ZERO
    total_input: Decimal = ZERO
    coc_output: Decimal = ZERO
    total_output: Decimal = ZERO
    designated: Decimal = ZERO
    designations: int = 0
    refused: Decimal = ZERO
    refusals: int = 0
    refusal_reasons: set[str] = field(default_factory=set)
    closing_balance: Decimal = ZERO
    forfeited: Decimal = ZERO
    expired: Decimal = ZERO
    overshoot: Decimal = ZERO


def chronological(movements: Iterable[Movement]) -> list[Movement]:
    """Business date first, then when each was recorded: the order the shadow books apply them
    in."""
    return sorted(movements, key=lambda m: (movement_day(m), m.occurred_at, str(m.movement_id)))


def run(
    rule_set_id: str,
    organisation_id: str,
    movements: Sequence[Movement],
    certificates: Iterable[Certificate],
    until: date,
    now: datetime,
) -> list[PeriodView]:
    """Apply `movements` (in their order) under one rule set and report every period up to
    `until`."""
    books = Ledger(
        certificates=certificates,
        assignments={organisation_id: [Assignment(date.min, rule_set_id)]},
        keep_movements=False,
    )
    views: dict[tuple[str, str], PeriodView] = {}

    def view(account_id: str, period_id: str) -> PeriodView:
        return views.setdefault(
            (account_id, period_id), PeriodView(rule_set_id, account_id, period_id)
        )

    def take(outcomes: Iterable[object], movement: Movement | None = None) -> None:
        for outcome in outcomes:
            if isinstance(outcome, DocumentDue):  # counted, never issued
                v = view(outcome.account_id, books.accounts[outcome.account_id].period.period_id)
                v.designated += outcome.document.coc_mass_kg
                v.designations += 1
            elif isinstance(outcome, DesignationDenied):
                account = books.accounts.get(outcome.account_id)
                rules = CATALOGUE[rule_set_id]
                period_id = (
                    account.period.period_id
                    if account is not None
                    else rules.period_containing(movement_day(movement))[0].isoformat()
                    if movement
                    else ""
                )
                v = view(outcome.account_id, period_id)
                v.refused += outcome.requested
                v.refusals += 1
                v.refusal_reasons |= {r.code for r in outcome.reasons}
            elif isinstance(outcome, StatementWritten):
                s = outcome.statement
                v = view(s.account_id, s.period_id)
                v.closed = True
                v.coc_input, v.total_input = s.coc_input_kg, s.total_input_kg
                v.coc_output, v.total_output = s.coc_output_kg, s.total_output_kg
                v.closing_balance, v.forfeited = s.closing_balance_kg, s.forfeited_kg
                v.expired, v.overshoot = s.expired_kg, s.percentage_overshoot_kg

    for movement in movements:
        take(books.apply(movement, now), movement)
    take(books.close_due(until, now))
    for account in books.accounts.values():  # the open periods, as they stand
        s = statement(account, account.period.end, now)
        v = view(account.account_id, account.period.period_id)
        v.coc_input, v.total_input = s.coc_input_kg, s.total_input_kg
        v.coc_output, v.total_output = s.coc_output_kg, s.total_output_kg
        v.closing_balance, v.expired, v.overshoot = (
            s.closing_balance_kg,
            s.expired_kg,
            s.percentage_overshoot_kg,
        )
    return sorted(views.values(), key=lambda v: (v.period_id, v.account_id))


def compare(
    organisation_id: str,
    movements: Iterable[Movement],
    certificates: Iterable[Certificate],
    until: date,
    now: datetime,
    rule_set_ids: Iterable[str] | None = None,
) -> dict[str, list[PeriodView]]:
    """Every rule set of the catalogue (or those named) on the same movements, in chronological
    order."""
    ordered = chronological(movements)
    certificates = list(certificates)
    return {
        rule_set_id: run(rule_set_id, organisation_id, ordered, certificates, until, now)
        for rule_set_id in (rule_set_ids or sorted(CATALOGUE))
    }


def sites_of(account_id: str, records: Iterable[MovementRecord]) -> set[str]:
    """The sites whose movements an account booked: what a shadow report of that account replays
    (each rule set then places those movements in its own accounts)."""
    return {e.site_id for r in records for e in r.effects if e.account_id == account_id}


@dataclass(frozen=True)
class ShadowReport:
    """A shadow report of one account: every rule set on the movements of the sites it booked."""

    account_id: str
    organisation_id: str
    until: date
    assigned_rule_set_id: str
    site_ids: tuple[str, ...]
    movements: int
    views: dict[str, list[PeriodView]]


def report(
    account_id: str,
    organisation_id: str,
    records: Sequence[tuple[MovementRecord, Movement]],
    certificates: Iterable[Certificate],
    assigned_rule_set_id: str,
    until: date,
    now: datetime,
) -> ShadowReport:
    """The account's sites (`sites_of`), their movements under every rule set (`compare`)."""
    sites = sites_of(account_id, (record for record, _ in records))
    movements = [m for _, m in records if m.site_id in sites]
    views = compare(organisation_id, movements, certificates, until, now)
    return ShadowReport(
        account_id,
        organisation_id,
        until,
        assigned_rule_set_id,
        tuple(sorted(sites)),
        len(movements),
        views,
    )
