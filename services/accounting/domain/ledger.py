"""The mass-balance books: accounts, entries, designations, periods. Pure: no I/O.

Claims' use of the books (reservations, debits, returns) is in `claims_mass.py`.

A `Ledger` holds the state one batch needs (the adapter loads it, the property tests build it in
memory), applies messages in order and records what changed, so the adapter can write it back
with a few bulk operations. Every operation is all-or-nothing: a refusal leaves no trace but the
refusal itself.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from contracts.common import Classification, Reason
from contracts.ledger import (
    CoCDocument,
    DocumentShare,
    EntryKind,
    LedgerEntry,
    LedgerReason,
    PeriodStatement,
)
from contracts.movements import (
    MaterialReceivedRecorded,
    MaterialShippedRecorded,
    MaterialTransformedRecorded,
    MovementCancelled,
)
from contracts.registry import Certificate
from services.accounting.domain import certification
from services.accounting.domain.chain import GENESIS, entry_hash
from services.accounting.domain.rules import (
    CATALOGUE,
    ZERO,
    Assignment,
    Level,
    Method,
    RuleSet,
    period_id,
    round_down,
    rule_set_on,
)

ENTRY_NAMESPACE = uuid.UUID("0c6f7f4e-5b7a-4b7e-9d6e-3f4b2f0c9a11")
SHARE_QUANTUM = Decimal("0.000001")
RECYCLED_METHOD = "mass-weighted recycled share of the account's CoC input in the period (eligible scrap = 1)"

Movement = MaterialReceivedRecorded | MaterialTransformedRecorded | MaterialShippedRecorded | MovementCancelled


def bucket_key(category: str, product_form: str) -> str:
    """Credits are kept per product (material category and product form) in output-equivalent kg."""
    return f"{category}|{product_form}"


def _clean(value: Decimal) -> Decimal:
    return ZERO if value.is_zero() else value


def _add(buckets: dict[str, Decimal], key: str, delta: Decimal) -> None:
    value = _clean(buckets.get(key, ZERO) + delta)
    if value.is_zero():
        buckets.pop(key, None)
    else:
        buckets[key] = value


# ---- state ----------------------------------------------------------------------------------


@dataclass
class Period:
    period_id: str
    start: date
    end: date
    opening_balance: Decimal = ZERO
    coc_input: Decimal = ZERO
    total_input: Decimal = ZERO
    coc_output: Decimal = ZERO
    total_output: Decimal = ZERO
    inputs_by_category: dict[str, Decimal] = field(default_factory=dict)
    conversion_applied: dict[str, Decimal] = field(default_factory=dict)
    site_coc_input: dict[str, Decimal] = field(default_factory=dict)
    recycled_kg: Decimal = ZERO
    recycled_unknown: bool = False


@dataclass
class Account:
    account_id: str
    organisation_id: str
    level: Level
    site_id: str | None
    rule_set_id: str
    period: Period
    balance: Decimal = ZERO
    reserved: Decimal = ZERO
    buckets: dict[str, Decimal] = field(default_factory=dict)
    sequence: int = 0
    last_hash: str = GENESIS
    version: int = 0
    """Persisted version, for the adapter's optimistic concurrency; the domain never reads it."""

    @property
    def rules(self) -> RuleSet:
        return CATALOGUE[self.rule_set_id]

    @property
    def free(self) -> Decimal:
        return _clean(self.balance - self.reserved)


@dataclass
class Effect:
    """What one entry changed, so a reversal can undo exactly that."""

    account_id: str
    entry_id: str
    period_id: str
    site_id: str
    credit: Decimal = ZERO
    coc_input: Decimal = ZERO
    total_input: Decimal = ZERO
    coc_output: Decimal = ZERO
    total_output: Decimal = ZERO
    category: str | None = None
    site_input: Decimal = ZERO
    recycled: Decimal = ZERO
    buckets: dict[str, Decimal] = field(default_factory=dict)


BOOKED, REFUSED, REVERSED, VOID = "booked", "refused", "reversed", "void"


@dataclass
class MovementRecord:
    """What became of a movement id: booked (with its effects), refused, reversed, or void (a
    cancellation or correction arrived before it, so it is never booked)."""

    movement_id: str
    status: str
    effects: list[Effect] = field(default_factory=list)
    lot_id: str | None = None
    by: str | None = None


@dataclass
class Lot:
    """A CoC Document received by an organisation: what allocations for claims draw on, FIFO."""

    lot_id: str
    owner: str
    account_id: str
    period_id: str
    document_id: str
    received_on: date
    mass: Decimal
    allocated: Decimal = ZERO
    recycled_content_share: Decimal | None = None
    carbon_footprint: Decimal | None = None
    void: bool = False

    @property
    def remaining(self) -> Decimal:
        return ZERO if self.void else _clean(self.mass - self.allocated)


@dataclass
class Allocation:
    claim_id: str
    owner: str
    mass: Decimal
    status: str
    reservations: dict[str, Decimal] = field(default_factory=dict)
    lot_takes: dict[str, Decimal] = field(default_factory=dict)
    documents: list[DocumentShare] = field(default_factory=list)
    recycled_content_share: Decimal | None = None
    carbon_footprint: Decimal | None = None
    debit_entries: dict[str, str] = field(default_factory=dict)
    debit_takes: dict[str, Decimal] = field(default_factory=dict)
    returned: Decimal = ZERO
    """Spending and returning it: `domain/claims_mass.py`."""


GRANTED, RELEASED, DEBITED = "granted", "released", "debited"

# ---- outcomes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class EntryPosted:
    entry: LedgerEntry


@dataclass(frozen=True)
class DocumentDue:
    account_id: str
    document: CoCDocument


@dataclass(frozen=True)
class DesignationDenied:
    account_id: str
    site_id: str
    organisation_id: str
    movement_id: uuid.UUID
    shipment_reference: str
    requested: Decimal
    available: Decimal
    rule_set_id: str
    rule_set_version: str
    reasons: list[Reason]


@dataclass(frozen=True)
class MovementDenied:
    account_id: str
    movement_id: uuid.UUID
    site_id: str
    reasons: list[Reason]


@dataclass(frozen=True)
class StatementWritten:
    statement: PeriodStatement


@dataclass(frozen=True)
class Granted:
    allocation: Allocation


@dataclass(frozen=True)
class AllocationDenied:
    claim_id: str
    owner: str
    requested: Decimal
    available: Decimal
    reasons: list[Reason]
    held_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class Released:
    claim_id: str
    owner: str
    mass: Decimal


@dataclass(frozen=True)
class CommandDenied:
    reasons: list[Reason]


Outcome = (
    EntryPosted | DocumentDue | DesignationDenied | MovementDenied | StatementWritten | Granted | AllocationDenied
    | Released | CommandDenied
)


class _Refusal(Exception):
    def __init__(self, outcome: Outcome) -> None:
        super().__init__(type(outcome).__name__)
        self.outcome = outcome


def _reason(code: str, message: str, field_name: str | None = None) -> Reason:
    return Reason(code=code, message=message[:2000], field=field_name)


# ---- the books ------------------------------------------------------------------------------


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
    ) -> None:
        self.accounts = {a.account_id: a for a in accounts}
        self.movements = {m.movement_id: m for m in movements}
        self.lots = {lot.lot_id: lot for lot in lots}
        self.allocations = {a.claim_id: a for a in allocations}
        self.certificates = {c.certificate_id: c for c in certificates}
        self.assignments = assignments if assignments is not None else {}
        self.check_certificates = check_certificates
        self.loaded = {"movements": set(self.movements), "lots": set(self.lots), "allocations": set(self.allocations)}
        """Keys that exist in storage (the rest are new and can be inserted)."""
        self.entries: list[LedgerEntry] = []
        self.statements: list[PeriodStatement] = []
        self.dirty_accounts: set[str] = set()
        self.dirty_movements: set[str] = set()
        self.dirty_lots: set[str] = set()
        self.dirty_allocations: set[str] = set()
        self._undo: dict[tuple[str, str], Any] | None = None
        self._newly_dirty: list[tuple[str, str]] = []

    # ---- all-or-nothing ---------------------------------------------------------------------

    def _atomic(self, work: Any) -> list[Outcome]:
        out: list[Outcome] = []
        self._undo = {}
        self._newly_dirty = []
        marks = (len(self.entries), len(self.statements))
        try:
            work(out)
        except _Refusal as refusal:
            for (kind, key), saved in self._undo.items():
                table = getattr(self, kind)
                if saved is None:
                    table.pop(key, None)
                else:
                    table[key] = saved
            del self.entries[marks[0]:]
            del self.statements[marks[1]:]
            for kind, key in self._newly_dirty:
                getattr(self, f"dirty_{kind}").discard(key)
            out = [refusal.outcome]
        finally:
            self._undo = None
        return out

    def _touch(self, kind: str, key: str) -> None:
        table = getattr(self, kind)
        if self._undo is not None and (kind, key) not in self._undo:
            current = table.get(key)
            self._undo[(kind, key)] = _snapshot(current) if current is not None else None
        dirty = getattr(self, f"dirty_{kind}")
        if key not in dirty:
            dirty.add(key)
            self._newly_dirty.append((kind, key))

    # ---- accounts and periods ---------------------------------------------------------------

    def rule_set_for(self, organisation_id: str, day: date) -> RuleSet:
        return rule_set_on(self.assignments.get(organisation_id, []), day)

    def route(self, organisation_id: str, site_id: str, day: date) -> str:
        return self.rule_set_for(organisation_id, day).account_id(organisation_id, site_id)

    def _account(self, organisation_id: str, site_id: str, day: date) -> Account:
        rules = self.rule_set_for(organisation_id, day)
        account_id = rules.account_id(organisation_id, site_id)
        account = self.accounts.get(account_id)
        if account is None:
            self._touch("accounts", account_id)
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
            self._touch("accounts", account_id)
        return account

    def _bring_to(self, account: Account, day: date, now: datetime, out: list[Outcome]) -> bool:
        """Close every period that ended before `day`; True when `day` lies before the open period."""
        while day > account.period.end:
            self._close(account, account.period.end, now, out)
        return day < account.period.start

    def _post(
        self,
        account: Account,
        kind: EntryKind,
        *,
        booked_on: date,
        site_id: str | None = None,
        movement_id: uuid.UUID | str | None = None,
        claim_id: str | None = None,
        reverses: str | None = None,
        buckets: dict[str, Decimal] | None = None,
        coc_input: Decimal = ZERO,
        total_input: Decimal = ZERO,
        coc_output: Decimal = ZERO,
        total_output: Decimal = ZERO,
        reserved: Decimal = ZERO,
        category: str | None = None,
        site_input: Decimal = ZERO,
        recycled: Decimal = ZERO,
        recycled_unknown: bool = False,
        note: str | None = None,
    ) -> tuple[LedgerEntry, Effect]:
        self._touch("accounts", account.account_id)
        buckets = {k: v for k, v in (buckets or {}).items() if not v.is_zero()}
        credit = _clean(sum(buckets.values(), ZERO))
        for key, delta in buckets.items():
            _add(account.buckets, key, delta)
        period = account.period
        account.sequence += 1
        account.balance = _clean(account.balance + credit)
        account.reserved = _clean(account.reserved + reserved)
        period.coc_input = _clean(period.coc_input + coc_input)
        period.total_input = _clean(period.total_input + total_input)
        period.coc_output = _clean(period.coc_output + coc_output)
        period.total_output = _clean(period.total_output + total_output)
        if category is not None and not total_input.is_zero():
            _add(period.inputs_by_category, category, total_input)
        if site_id is not None and not site_input.is_zero():
            _add(period.site_coc_input, site_id, site_input)
        period.recycled_kg = _clean(period.recycled_kg + recycled)
        period.recycled_unknown = period.recycled_unknown or recycled_unknown
        rules = account.rules
        entry = LedgerEntry.model_construct(
            account_id=account.account_id,
            sequence=account.sequence,
            entry_id=uuid.uuid5(ENTRY_NAMESPACE, f"{account.account_id}:{account.sequence}"),
            kind=kind,
            site_id=site_id,
            movement_id=uuid.UUID(str(movement_id)) if movement_id is not None else None,
            claim_id=claim_id,
            reverses_entry_id=uuid.UUID(reverses) if reverses else None,
            booked_on=booked_on,
            period_id=period.period_id,
            coc_credit_kg=credit,
            coc_input_kg=coc_input,
            total_input_kg=total_input,
            coc_output_kg=coc_output,
            total_output_kg=total_output,
            balance_after_kg=account.balance,
            reserved_change_kg=reserved,
            credit_buckets_kg=dict(sorted(buckets.items())),
            rule_set_id=rules.rule_set_id,
            rule_set_version=rules.version,
            note=note,
            previous_hash=account.last_hash,
            hash="",
        )
        entry = entry.model_copy(update={"hash": entry_hash(entry)})
        account.last_hash = entry.hash
        self.entries.append(entry)
        effect = Effect(
            account_id=account.account_id, entry_id=str(entry.entry_id), period_id=period.period_id,
            site_id=site_id or "", credit=credit, coc_input=coc_input, total_input=total_input,
            coc_output=coc_output, total_output=total_output, category=category, site_input=site_input,
            recycled=recycled, buckets=buckets,
        )
        return entry, effect

    def statement(self, account: Account, end: date, now: datetime, *, forfeited: Decimal = ZERO,
                  closing: Decimal | None = None) -> PeriodStatement:
        """The statement of the open period as it stands (or as it closes at `end`)."""
        period = account.period
        closing = account.balance if closing is None else closing
        rules = account.rules
        return PeriodStatement(
            account_id=account.account_id,
            period_id=period.period_id,
            period_start=period.start,
            period_end=end,
            rule_set_id=rules.rule_set_id,
            rule_set_version=rules.version,
            opening_balance_kg=period.opening_balance,
            inputs_by_category_kg=dict(sorted(period.inputs_by_category.items())),
            coc_input_kg=period.coc_input,
            total_input_kg=period.total_input,
            coc_output_kg=period.coc_output,
            total_output_kg=period.total_output,
            conversion_applied=dict(sorted(period.conversion_applied.items())),
            closing_balance_kg=closing,
            carried_over_kg=_clean(closing - forfeited),
            forfeited_kg=forfeited,
            last_entry_hash=account.last_hash,
            closed_at=now,
        )

    def _close(self, account: Account, end: date, now: datetime, out: list[Outcome]) -> None:
        self._touch("accounts", account.account_id)
        rules = account.rules
        closing = account.balance
        forfeited = ZERO
        if not rules.carry_over and account.free > 0:
            forfeited = account.free
            take = self._draw(account, forfeited, first=None)
            entry, _ = self._post(
                account, EntryKind.FORFEIT, booked_on=end, buckets={k: -v for k, v in take.items()},
                note=f"{rules.rule_set_id} does not carry credits over: {forfeited} kg forfeited at close "
                     f"(credits reserved for claims are kept)",
            )
            out.append(EntryPosted(entry))
        statement = self.statement(account, end, now, forfeited=forfeited, closing=closing)
        self.statements.append(statement)
        out.append(StatementWritten(statement))
        start = end + timedelta(days=1)
        next_rules = self.rule_set_for(account.organisation_id, start)
        if next_rules.level is not account.level:
            next_rules = rules
        account.rule_set_id = next_rules.rule_set_id
        _, next_end = next_rules.period_containing(start)
        account.period = Period(period_id(start), start, next_end, opening_balance=account.balance)
        if account.balance > 0:
            entry, _ = self._post(
                account, EntryKind.CARRY_OVER, booked_on=start,
                note=f"opening balance {account.balance} kg carried over from period {statement.period_id}",
            )
            out.append(EntryPosted(entry))

    def close_due(self, today: date, now: datetime) -> list[Outcome]:
        """Close every loaded account period whose last day is before `today` (catching up)."""
        out: list[Outcome] = []
        for account in sorted(self.accounts.values(), key=lambda a: a.account_id):
            if account.period.end < today:
                out.extend(self._atomic(lambda o, a=account: self._bring_to(a, today, now, o)))
        return out

    def close_now(self, account_id: str, today: date, now: datetime) -> list[Outcome]:
        """Close the open period at `today` (after closing any period the clock has already ended)."""
        account = self.accounts.get(account_id)
        if account is None:
            return [CommandDenied([_reason(LedgerReason.UNKNOWN_ACCOUNT, f"no account {account_id}", "account_id")])]

        def work(out: list[Outcome]) -> None:
            before = len(out)
            self._bring_to(account, today, now, out)
            if len(out) == before:
                self._close(account, max(today, account.period.start), now, out)

        return self._atomic(work)

    # ---- movements --------------------------------------------------------------------------

    def apply(self, movement: Movement, now: datetime) -> list[Outcome]:
        """Book one movement (idempotent per movement id; order-tolerant for corrections)."""
        movement_id = str(movement.movement_id)
        if movement_id in self.movements:
            return []
        if isinstance(movement, MovementCancelled):
            return self._atomic(lambda out: self._cancel(movement, now, out))
        return self._atomic(lambda out: self._book_replacing(movement, now, out))

    def _record(self, movement_id: str, status: str, **values: Any) -> MovementRecord:
        self._touch("movements", movement_id)
        record = MovementRecord(movement_id, status, **values)
        self.movements[movement_id] = record
        return record

    def _cancel(self, movement: MovementCancelled, now: datetime, out: list[Outcome]) -> None:
        target_id = str(movement.cancelled_movement_id)
        target = self.movements.get(target_id)
        if target is None:
            self._record(target_id, VOID, by=str(movement.movement_id))
        elif target.status == BOOKED:
            self._reverse(target, movement, movement.movement_id, now, out)
            self._touch("movements", target_id)
            target.status, target.by = REVERSED, str(movement.movement_id)
        self._record(str(movement.movement_id), BOOKED)

    def _book_replacing(self, movement: Movement, now: datetime, out: list[Outcome]) -> None:
        old_id = str(movement.corrects_movement_id) if movement.corrects_movement_id else None
        old = self.movements.get(old_id) if old_id else None
        if old_id is not None and old is None:
            self._record(old_id, VOID, by=str(movement.movement_id))
        if old is not None and old.status == BOOKED:
            old_credit = sum((e.credit for e in old.effects), ZERO)
            if old_credit > 0:  # book the replacement first so no intermediate balance dips
                self._book(movement, now, out)
                self._reverse(old, movement, movement.movement_id, now, out)
            else:
                self._reverse(old, movement, movement.movement_id, now, out)
                self._book(movement, now, out)
            self._touch("movements", old.movement_id)
            old.status, old.by = REVERSED, str(movement.movement_id)
        else:
            self._book(movement, now, out)

    def _reverse(self, record: MovementRecord, cause: Movement, cause_id: uuid.UUID, now: datetime,
                 out: list[Outcome]) -> None:
        for effect in record.effects:
            account = self.accounts[effect.account_id]
            day = _movement_day(cause)
            self._bring_to(account, day, now, out)
            same_period = effect.period_id == account.period.period_id
            for key, delta in effect.buckets.items():
                if delta > 0 and account.buckets.get(key, ZERO) < delta:
                    raise _Refusal(MovementDenied(account.account_id, cause.movement_id, cause.site_id, [_reason(
                        LedgerReason.REVERSAL_WOULD_OVERDRAW,
                        f"reversing {record.movement_id} would take back {delta} kg of {key} credits, "
                        f"but only {account.buckets.get(key, ZERO)} kg are left (already converted or designated)")]))
            if effect.credit > 0 and account.free < effect.credit:
                raise _Refusal(MovementDenied(account.account_id, cause.movement_id, cause.site_id, [_reason(
                    LedgerReason.REVERSAL_WOULD_OVERDRAW,
                    f"reversing {record.movement_id} would leave {account.free - effect.credit} kg of free credits")]))
            entry, _ = self._post(
                account, EntryKind.REVERSAL, booked_on=day, site_id=effect.site_id or None, movement_id=cause_id,
                reverses=effect.entry_id, buckets={k: -v for k, v in effect.buckets.items()},
                coc_input=-effect.coc_input if same_period else ZERO,
                total_input=-effect.total_input if same_period else ZERO,
                coc_output=-effect.coc_output if same_period else ZERO,
                total_output=-effect.total_output if same_period else ZERO,
                category=effect.category,
                site_input=-effect.site_input if same_period else ZERO,
                recycled=-effect.recycled if same_period else ZERO,
                note=f"reverses entry {effect.entry_id} of movement {record.movement_id}"
                     + ("" if same_period else f" (booked in closed period {effect.period_id})"),
            )
            out.append(EntryPosted(entry))
        if record.lot_id:
            lot = self.lots.get(record.lot_id)
            if lot is not None and not lot.void:
                if lot.allocated > 0:
                    raise _Refusal(MovementDenied(self.accounts[lot.account_id].account_id, cause.movement_id,
                                                  cause.site_id, [_reason(
                        LedgerReason.LOT_ALLOCATED,
                        f"CoC Document {lot.document_id} backs claims for {lot.allocated} kg; release them first")]))
                self._touch("lots", lot.lot_id)
                lot.void = True

    def _book(self, movement: Movement, now: datetime, out: list[Outcome]) -> None:
        if isinstance(movement, MaterialReceivedRecorded):
            self._receive(movement, now, out)
        elif isinstance(movement, MaterialTransformedRecorded):
            self._transform(movement, now, out)
        elif isinstance(movement, MaterialShippedRecorded):
            self._ship(movement, now, out)

    @staticmethod
    def _late_note(account: Account, day: date) -> str:
        return (f"dated {day.isoformat()}, before the open period {account.period.period_id} "
                f"(closed periods are immutable); booked into the open period")

    def _receive(self, m: MaterialReceivedRecorded, now: datetime, out: list[Outcome]) -> None:
        account = self._account(m.organisation_id, m.site_id, m.received_on)
        late = self._bring_to(account, m.received_on, now, out)
        rounding = account.rules.rounding
        credit = rounding.credit(m.coc_quantity_kg)
        share = m.recycled_content_share
        if share is None and m.classification is Classification.ELIGIBLE_SCRAP:
            share = Decimal(1)
        recycled = rounding.credit(credit * share) if credit > 0 and share is not None else ZERO
        key = bucket_key(m.material_category.value, m.product_form)
        entry, effect = self._post(
            account, EntryKind.RECEIPT_CREDIT, booked_on=m.received_on, site_id=m.site_id,
            movement_id=m.movement_id, buckets={key: credit}, coc_input=credit,
            total_input=rounding.debit(m.quantity_kg), category=m.material_category.value,
            site_input=ZERO if late else credit, recycled=recycled,
            recycled_unknown=credit > 0 and share is None,
            note=self._late_note(account, m.received_on) if late else None,
        )
        out.append(EntryPosted(entry))
        lot_id = None
        if m.classification is Classification.COC_MATERIAL and m.coc_document_id and credit > 0:
            lot_id = f"{m.organisation_id}#{m.movement_id}"
            self._touch("lots", lot_id)
            self.lots[lot_id] = Lot(
                lot_id=lot_id, owner=m.organisation_id, account_id=account.account_id,
                period_id=account.period.period_id, document_id=m.coc_document_id, received_on=m.received_on,
                mass=credit, recycled_content_share=m.recycled_content_share,
                carbon_footprint=m.carbon_footprint_kg_co2e_per_kg,
            )
        self._record(str(m.movement_id), BOOKED, effects=[effect], lot_id=lot_id)

    def _transform(self, m: MaterialTransformedRecorded, now: datetime, out: list[Outcome]) -> None:
        """Credits follow the metal: the credits held in the input products (at most the input mass,
        and never reserved ones) are converted with the step's factor into the output products,
        split by output mass, every split rounded down, and never more than the output mass."""
        account = self._account(m.organisation_id, m.site_id, m.transformed_on)
        late = self._bring_to(account, m.transformed_on, now, out)
        rounding = account.rules.rounding
        if m.process_step in account.rules.origin_steps:
            self._originate(account, m, late, out)
            return
        change: dict[str, Decimal] = {}
        free = account.free
        consumed = ZERO
        for line in m.inputs:
            key = bucket_key(line.material_category.value, line.product_form)
            available = account.buckets.get(key, ZERO) + change.get(key, ZERO)
            take = min(available, rounding.debit(line.quantity_kg), free - consumed)
            if take > 0:
                change[key] = change.get(key, ZERO) - take
                consumed += take
        output_mass = sum((line.quantity_kg for line in m.outputs), Decimal(0))
        produced = min(rounding.credit(consumed * m.conversion_factor), rounding.credit(output_mass))
        for line in m.outputs:
            key = bucket_key(line.material_category.value, line.product_form)
            share = rounding.credit(produced * line.quantity_kg / output_mass)
            change[key] = change.get(key, ZERO) + share
        step = m.process_step.value
        applied = account.period.conversion_applied
        applied[step] = min(applied.get(step, m.conversion_factor), m.conversion_factor)
        entry, effect = self._post(
            account, EntryKind.TRANSFORMATION, booked_on=m.transformed_on, site_id=m.site_id,
            movement_id=m.movement_id, buckets=change,
            note=f"{step} x {m.conversion_factor}: {_clean(consumed)} kg of input credits became "
                 f"{_clean(sum((v for v in change.values() if v > 0), ZERO))} kg of output credits"
                 + (f"; {self._late_note(account, m.transformed_on)}" if late else ""),
        )
        out.append(EntryPosted(entry))
        self._record(str(m.movement_id), BOOKED, effects=[effect])

    def _originate(self, account: Account, m: MaterialTransformedRecorded, late: bool, out: list[Outcome]) -> None:
        """Where CoC Material originates (mining): at a site a current CoC certificate covers, the output
        is CoC input and becomes credits; elsewhere it is recorded as non-CoC input."""
        rounding = account.rules.rounding
        covered = self.coverage(m.organisation_id, m.site_id, m.transformed_on).coverage is certification.Coverage.CURRENT
        buckets = {bucket_key(line.material_category.value, line.product_form): rounding.credit(line.quantity_kg)
                   for line in m.outputs} if covered else {}
        credit = sum(buckets.values(), ZERO)
        total = rounding.debit(sum((line.quantity_kg for line in m.outputs), Decimal(0)))
        entry, effect = self._post(
            account, EntryKind.TRANSFORMATION, booked_on=m.transformed_on, site_id=m.site_id,
            movement_id=m.movement_id, buckets=buckets, coc_input=credit, total_input=total,
            category=m.outputs[0].material_category.value, site_input=ZERO if late else credit,
            note=(f"{m.process_step.value}: {_clean(credit)} kg of CoC Material originated at a certified site"
                  if covered else f"{m.process_step.value} at a site no current CoC certificate covers: non-CoC input")
                 + (f"; {self._late_note(account, m.transformed_on)}" if late else ""),
        )
        out.append(EntryPosted(entry))
        self._record(str(m.movement_id), BOOKED, effects=[effect])

    def _draw(self, account: Account, amount: Decimal, first: str | None) -> dict[str, Decimal]:
        """Which products' credits a debit takes: `first` before the others (sorted)."""
        take: dict[str, Decimal] = {}
        left = amount
        keys = ([first] if first in account.buckets else []) + sorted(k for k in account.buckets if k != first)
        for key in keys:
            if left <= 0:
                break
            part = min(left, account.buckets[key])
            if part > 0:
                take[key] = part
                left -= part
        return take

    def coverage(self, organisation_id: str, site_id: str, day: date) -> certification.SiteCoverage:
        return certification.site_coverage(self.certificates.values(), organisation_id, site_id, day)

    def _ship(self, m: MaterialShippedRecorded, now: datetime, out: list[Outcome]) -> None:
        account = self._account(m.organisation_id, m.site_id, m.shipped_on)
        late = self._bring_to(account, m.shipped_on, now, out)
        rules = account.rules
        rounding = rules.rounding
        total_out = rounding.credit(m.quantity_kg)
        note = self._late_note(account, m.shipped_on) if late else None
        if m.coc_quantity_kg.is_zero():
            entry, effect = self._post(
                account, EntryKind.OUTPUT_RECORDED, booked_on=m.shipped_on, site_id=m.site_id,
                movement_id=m.movement_id, total_output=total_out, note=note,
            )
            out.append(EntryPosted(entry))
            self._record(str(m.movement_id), BOOKED, effects=[effect])
            return
        debit = rounding.debit(m.coc_quantity_kg)
        key = bucket_key(m.material_category.value, m.product_form)
        period = account.period
        reasons: list[Reason] = []
        certificate = None
        if self.check_certificates:
            covered = self.coverage(m.organisation_id, m.site_id, m.shipped_on)
            certificate = covered.certificate
            if covered.coverage is certification.Coverage.LAPSED:
                assert certificate is not None
                reasons.append(_reason(LedgerReason.ACCOUNT_FROZEN,
                                       f"certificate {certificate.certificate_number} covering {m.site_id} is "
                                       f"{certificate.status.value} on {m.shipped_on}"))
            elif covered.coverage is certification.Coverage.NONE:
                reasons.append(_reason(LedgerReason.NOT_CERTIFIED,
                                       f"no CoC certificate of {m.organisation_id} covers site {m.site_id}"))
        available = account.free
        if rules.credits_by_product:
            available = min(available, account.buckets.get(key, ZERO))
        available = max(available, ZERO)
        if debit > m.quantity_kg:
            reasons.append(_reason(LedgerReason.INSUFFICIENT_CREDITS, "CoC mass exceeds the shipped mass",
                                   "coc_quantity_kg"))
        if debit > available:
            what = f"{key} credits" if rules.credits_by_product else "free credits"
            reasons.append(_reason(LedgerReason.INSUFFICIENT_CREDITS,
                                   f"designation of {debit} kg exceeds the {available} kg of {what}"))
        if rules.require_coc_input_in_period and period.site_coc_input.get(m.site_id, ZERO) <= 0:
            reasons.append(_reason(LedgerReason.NO_COC_INPUT_IN_PERIOD,
                                   f"site {m.site_id} received no CoC Material in period {period.period_id}"))
        if rules.method is Method.PERCENTAGE:
            allowed = ZERO
            if period.total_input > 0:
                allowed = round_down(period.coc_input * (period.total_output + total_out) / period.total_input)
            allowed = max(_clean(allowed - period.coc_output), ZERO)
            if debit > allowed:
                reasons.append(_reason(LedgerReason.PERCENTAGE_RULE,
                                       f"CoC share of outputs would exceed the CoC share of inputs "
                                       f"({period.coc_input}/{period.total_input} kg) in period {period.period_id}: "
                                       f"at most {allowed} kg"))
            available = min(available, allowed)
        if reasons:
            raise _Refusal(DesignationDenied(
                account.account_id, m.site_id, m.organisation_id, m.movement_id, m.shipment_reference,
                m.coc_quantity_kg, available, rules.rule_set_id, rules.version, reasons))
        take = self._draw(account, debit, key)
        entry, effect = self._post(
            account, EntryKind.DESIGNATION_DEBIT, booked_on=m.shipped_on, site_id=m.site_id,
            movement_id=m.movement_id, buckets={k: -v for k, v in take.items()}, coc_output=debit,
            total_output=total_out, note=note,
        )
        out.append(EntryPosted(entry))
        recycled = None
        if period.coc_input > 0 and not period.recycled_unknown:
            recycled = min(round_down(period.recycled_kg / period.coc_input, SHARE_QUANTUM), Decimal(1))
        document = CoCDocument(
            document_id=document_id(m.movement_id),
            issuer_organisation_id=m.organisation_id,
            issuer_site_id=m.site_id,
            issuer_certificate_number=certificate.certificate_number if certificate else "uncertified",
            recipient_organisation_id=m.customer_organisation_id,
            recipient_site_id=m.customer_site_id,
            issued_on=m.shipped_on,
            shipment_reference=m.shipment_reference,
            movement_id=m.movement_id,
            material_category=m.material_category,
            product_form=m.product_form,
            coc_mass_kg=debit,
            rule_set_id=rules.rule_set_id,
            rule_set_version=rules.version,
            recycled_content_share=recycled,
            recycled_content_method=RECYCLED_METHOD if recycled is not None else None,
            carbon_footprint_kg_co2e_per_kg=m.carbon_footprint_kg_co2e_per_kg,
        )
        out.append(DocumentDue(account.account_id, document))
        self._record(str(m.movement_id), BOOKED, effects=[effect])


def _snapshot(value: Any) -> Any:
    """A copy deep enough to restore: every mutable container copied, immutable values shared."""
    if isinstance(value, Account):
        period = value.period
        return replace(value, buckets=dict(value.buckets), period=replace(
            period, inputs_by_category=dict(period.inputs_by_category),
            conversion_applied=dict(period.conversion_applied), site_coc_input=dict(period.site_coc_input)))
    if isinstance(value, MovementRecord):
        return replace(value, effects=list(value.effects))
    if isinstance(value, Allocation):
        return replace(value, reservations=dict(value.reservations), lot_takes=dict(value.lot_takes),
                       documents=list(value.documents), debit_entries=dict(value.debit_entries),
                       debit_takes=dict(value.debit_takes))
    return copy.copy(value)


def document_id(movement_id: uuid.UUID | str) -> str:
    return f"coc-{movement_id}"


def _movement_day(movement: Movement) -> date:
    for name in ("received_on", "transformed_on", "shipped_on"):
        value = getattr(movement, name, None)
        if value is not None:
            return value
    return movement.occurred_at.date()

