"""The mass-balance books one batch works on: accounts, movements, lots and allocations by id,
with what changed, so the store can write it back in a few bulk operations. Pure: no I/O.

`Ledger.apply` books a movement and `close_due` / `close_now` close periods; the rules themselves
live one concern per module (the service README indexes them): `receipts`, `transformations`,
`designations`, `corrections`, `closing`, `posting`; claims' use of the books is `claims_mass`.
Every operation is all-or-nothing (`atomic`): a refusal leaves no trace but the refusal itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime
from decimal import Decimal
from functools import partial
from typing import Any

from contracts.ledger import LedgerEntry, LedgerReason, PeriodStatement
from contracts.movements import MovementCancelled
from contracts.registry import Certificate
from services.accounting.domain import certification, periods, reservations, scope
from services.accounting.domain.closing import bring_to, close
from services.accounting.domain.corrections import book_replacing, cancel
from services.accounting.domain.outcomes import (
    ALERT_DD_FAILED,
    ALERT_OVERSHOOT,
    AlertDue,
    AllocationDenied,
    CommandDenied,
    DesignationDenied,
    DocumentDue,
    EntryPosted,
    Granted,
    MovementDenied,
    Outcome,
    Refusal,
    Released,
    StatementWritten,
    reason,
)
from services.accounting.domain.rules import (
    ZERO,
    Assignment,
    Level,
    RuleSet,
    period_id,
    rule_set_on,
)
from services.accounting.domain.state import (
    BOOKED,
    DEBITED,
    GRANTED,
    REFUSED,
    RELEASED,
    REVERSED,
    VOID,
    Account,
    Allocation,
    Certificates,
    Effect,
    Lot,
    Movement,
    MovementRecord,
    Period,
    snapshot,
)

__all__ = [  # what callers import from here: the books and what applying to them produces
    "ALERT_DD_FAILED",
    "ALERT_OVERSHOOT",
    "BOOKED",
    "DEBITED",
    "GRANTED",
    "REFUSED",
    "RELEASED",
    "REVERSED",
    "VOID",
    "Account",
    "AlertDue",
    "Allocation",
    "AllocationDenied",
    "CommandDenied",
    "DesignationDenied",
    "DocumentDue",
    "Effect",
    "EntryPosted",
    "Granted",
    "Ledger",
    "Lot",
    "MovementDenied",
    "MovementRecord",
    "Outcome",
    "Period",
    "Released",
    "StatementWritten",
]


class Ledger:
    """The books one batch works on. Missing accounts are opened on first use."""

    def __init__(
        self,
        *,
        accounts: Iterable[Account] = (),
        movements: Iterable[MovementRecord] = (),
        lots: Iterable[Lot] = (),
        allocations: Iterable[Allocation] = (),
        certificates: Iterable[Certificate] = (),
        assignments: dict[str, list[Assignment]] | None = None,
        check_certificates: bool = True,
        keep_movements: bool = True,
    ) -> None:
        self.accounts = {a.account_id: a for a in accounts}
        self.movements = {m.movement_id: m for m in movements}
        self.lots = {lot.lot_id: lot for lot in lots}
        self.allocations = {a.key: a for a in allocations}
        self.certificates = {c.certificate_id: c for c in certificates}
        self.assignments = assignments if assignments is not None else {}
        self.check_certificates = check_certificates
        self.keep_movements = keep_movements
        """Keep each movement's JSON on its record (what shadow accounting replays)."""
        self.loaded = {
            "movements": set(self.movements),
            "lots": set(self.lots),
            "allocations": set(self.allocations),
        }
        """Keys that exist in storage (the rest are new and can be inserted)."""
        self.entries: list[LedgerEntry] = []
        self.statements: list[PeriodStatement] = []
        self.dirty_accounts: set[str] = set()
        self.dirty_movements: set[str] = set()
        self.dirty_lots: set[str] = set()
        self.dirty_allocations: set[str] = set()
        self._undo: dict[tuple[str, str], Any] | None = None
        self._newly_dirty: list[tuple[str, str]] = []

    @property
    def certificates(self) -> Certificates:
        return self._certificates

    @certificates.setter
    def certificates(self, value: dict[str, Certificate]) -> None:
        self._certificates = Certificates(value)

    def know_allocations(self, allocations: Iterable[Allocation]) -> None:
        """Add stored allocations read after the books were made; one the books already hold (the
        batch may have changed it) is kept as it is."""
        for allocation in allocations:
            if allocation.key not in self.allocations:
                self.allocations[allocation.key] = allocation
                self.loaded["allocations"].add(allocation.key)

    # ---- all-or-nothing ---------------------------------------------------------------------

    def atomic(self, work: Callable[[list[Any]], object]) -> list[Any]:
        """Run `work(out)`: it appends outcomes, or raises `Refusal`, which undoes every change it
        made and answers with the refusal alone."""
        out: list[Any] = []
        self._undo = {}
        self._newly_dirty = []
        marks = (len(self.entries), len(self.statements))
        try:
            work(out)
        except Refusal as refusal:
            for (kind, key), saved in self._undo.items():
                table = getattr(self, kind)
                if saved is None:
                    table.pop(key, None)
                else:
                    table[key] = saved
            del self.entries[marks[0] :]
            del self.statements[marks[1] :]
            for kind, key in self._newly_dirty:
                getattr(self, f"dirty_{kind}").discard(key)
            out = [refusal.outcome]
        finally:
            self._undo = None
        return out

    def touch(self, kind: str, key: str) -> None:
        table = getattr(self, kind)
        if self._undo is not None and (kind, key) not in self._undo:
            current = table.get(key)
            self._undo[(kind, key)] = snapshot(current) if current is not None else None
        dirty = getattr(self, f"dirty_{kind}")
        if key not in dirty:
            dirty.add(key)
            self._newly_dirty.append((kind, key))

    # ---- accounts and periods ---------------------------------------------------------------

    def rule_set_for(self, organisation_id: str, day: date) -> RuleSet:
        return rule_set_on(self.assignments.get(organisation_id, []), day)

    def place(self, organisation_id: str, site_id: str, day: date) -> scope.Placement:
        """The account of the site's certification scope (or the site), and the CoC coverage on
        `day`."""
        rules = self.rule_set_for(organisation_id, day)  # the account id follows its level alone
        return self.certificates.remembered(
            ("place", rules.level, organisation_id, site_id, day),
            lambda: scope.place(
                rules, self.certificates.of(organisation_id), organisation_id, site_id, day
            ),
        )

    def account_at(self, organisation_id: str, site_id: str, day: date) -> Account:
        return self.open(
            self.place(organisation_id, site_id, day).account_id, organisation_id, site_id, day
        )

    def open(self, account_id: str, organisation_id: str, site_id: str, day: date) -> Account:
        rules = self.rule_set_for(organisation_id, day)
        account = self.accounts.get(account_id)
        if account is None:
            self.touch("accounts", account_id)
            start, end = rules.period_containing(day)
            account = Account(
                account_id=account_id,
                organisation_id=organisation_id,
                level=rules.level,
                site_id=site_id if rules.level is Level.SITE else None,
                rule_set_id=rules.rule_set_id,
                period=Period(period_id(start), start, end),
            )
            self.accounts[account_id] = account
        else:
            self.touch("accounts", account_id)
        return account

    def close_due(self, today: date, now: datetime) -> list[Outcome]:
        """Close every loaded account period whose last day is before `today` (catching up)."""
        out: list[Outcome] = []
        for account in sorted(self.accounts.values(), key=lambda a: a.account_id):
            if account.period.end < today:
                out.extend(self.atomic(partial(bring_to, self, account, today, now)))
        return out

    def close_now(self, account_id: str, today: date, now: datetime) -> list[Outcome]:
        """Close the open period at `today` (after closing any period the clock has already
        ended)."""
        account = self.accounts.get(account_id)
        if account is None:
            return [
                CommandDenied(
                    [reason(LedgerReason.UNKNOWN_ACCOUNT, f"no account {account_id}", "account_id")]
                )
            ]

        def work(out: list[Outcome]) -> None:
            before = len(out)
            bring_to(self, account, today, now, out)
            if len(out) == before:
                close(self, account, max(today, account.period.start), now, out)

        return self.atomic(work)

    # ---- movements --------------------------------------------------------------------------

    def apply(self, movement: Movement, now: datetime, raw: bytes | None = None) -> list[Outcome]:
        """Book one movement (idempotent per movement id; order-tolerant for corrections)."""
        movement_id = str(movement.movement_id)
        if movement_id in self.movements:
            return []
        if isinstance(movement, MovementCancelled):
            outcomes = self.atomic(lambda out: cancel(self, movement, now, out))
        else:
            outcomes = self.atomic(lambda out: book_replacing(self, movement, now, out))
        record = self.movements.get(movement_id)
        if record is None and any(isinstance(o, DesignationDenied) for o in outcomes):
            record = self.record(
                movement_id, REFUSED
            )  # kept, so shadow accounting sees what was asked
        if record is not None and self.keep_movements:
            self.touch("movements", movement_id)
            record.organisation_id = movement.organisation_id
            record.movement = raw.decode() if raw is not None else movement.model_dump_json()
        return outcomes

    def record(self, movement_id: str, status: str, **values: Any) -> MovementRecord:
        self.touch("movements", movement_id)
        record = MovementRecord(movement_id, status, **values)
        self.movements[movement_id] = record
        return record

    @staticmethod
    def draw(
        account: Account,
        amount: Decimal,
        products: Iterable[str] | None = None,
        *,
        spare_only: bool = True,
    ) -> dict[str, Decimal]:
        """Which products' credits a debit takes: the oldest credits of the allowed products first,
        never the credits reserved for claims (`reservations.spare`) unless it is a claim's own
        debit (`spare_only=False`)."""
        allowed = list(account.buckets if products is None else products)
        limit = (
            reservations.spare(account.buckets, account.reserved, allowed)
            if spare_only
            else dict(account.buckets)
        )
        take: dict[str, Decimal] = {}
        left = amount
        for key, value in periods.draw_order(account.layers, allowed):
            if left <= 0:
                break
            part = min(left, value, limit.get(key, ZERO) - take.get(key, ZERO))
            if part > 0:
                take[key] = take.get(key, ZERO) + part
                left -= part
        return take

    def coverage(self, organisation_id: str, site_id: str, day: date) -> certification.SiteCoverage:
        return self.certificates.remembered(
            ("coverage", organisation_id, site_id, day),
            lambda: certification.site_coverage(
                self.certificates.of(organisation_id), organisation_id, site_id, day
            ),
        )
