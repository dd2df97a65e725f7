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

from contracts.common import Classification, DueDiligenceStatus, Reason
from contracts.ledger import (
    CoCDocument,
    DocumentShare,
    EntryKind,
    LedgerEntry,
    LedgerReason,
    PeriodStatement,
    TransformationSummary,
)
from contracts.movements import (
    MaterialReceivedRecorded,
    MaterialShippedRecorded,
    MaterialTransformedRecorded,
    MovementCancelled,
)
from contracts.registry import Certificate
from services.accounting.domain import certification, conversion, periods, reservations, scope
from services.accounting.domain.chain import GENESIS, entry_hash
from services.accounting.domain.conversion import bucket_key
from services.accounting.domain.rules import (
    CATALOGUE,
    ZERO,
    Assignment,
    Level,
    Method,
    Overshoot,
    RuleSet,
    period_id,
    round_down,
    rule_set_on,
)

ENTRY_NAMESPACE = uuid.UUID("0c6f7f4e-5b7a-4b7e-9d6e-3f4b2f0c9a11")
SHARE_QUANTUM = Decimal("0.000001")
RECYCLED_METHOD = "mass-weighted recycled share of the account's CoC input in the period (eligible scrap = 1)"

Movement = MaterialReceivedRecorded | MaterialTransformedRecorded | MaterialShippedRecorded | MovementCancelled


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
    deducted: Decimal = ZERO
    """CoC output an earlier period's percentage overshoot charges against this one."""
    non_coc_inputs: dict[str, Decimal] = field(default_factory=dict)
    """Input recorded without credit, by why: outside every current CoC scope, or due diligence failed."""
    expired: Decimal = ZERO
    transformations: dict[str, dict[str, Decimal]] = field(default_factory=dict)
    """Per `<step>|<factor>`: input, CoC input, product and scrap mass, credits created."""


NOT_COVERED, DD_FAILED = "site_not_coc_certified", "due_diligence_failed"
STEP_FIELDS = ("input_kg", "coc_input_kg", "output_kg", "scrap_kg", "credits_created_kg")


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
    layers: dict[str, Decimal] = field(default_factory=dict)
    """The credits by product and vintage (`<product>@<first day of the month they were created>`),
    summing per product to `buckets`: what expires, oldest first."""
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
    vintage: str | None = None
    """Vintage of the credits the entry added, or the oldest it took (what a reversal gives back)."""
    non_coc: str | None = None
    step_key: str | None = None
    step: dict[str, Decimal] = field(default_factory=dict)


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
    organisation_id: str | None = None
    movement: str | None = None
    """The movement's contract JSON (booked or refused), for shadow accounting."""


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
    material: str | None = None
    """The material of the credits the document brought (`conversion.Material`); only lots of the claim
    material back claims (`reservations.CLAIM_MATERIAL`). None on lots stored before credits carried it."""

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


@dataclass(frozen=True)
class AlertDue:
    """Something the certification body must hear of: a receipt that failed due diligence, a period's
    percentage overshoot recorded as a non-conformity."""

    kind: str
    account_id: str
    organisation_id: str
    mass: Decimal
    period_id: str
    message: str
    site_id: str | None = None
    movement_id: uuid.UUID | None = None


ALERT_DD_FAILED, ALERT_OVERSHOOT = "due_diligence_failed", "percentage_overshoot"

Outcome = (
    EntryPosted | DocumentDue | DesignationDenied | MovementDenied | StatementWritten | Granted | AllocationDenied
    | Released | CommandDenied | AlertDue
)


class _Refusal(Exception):
    def __init__(self, outcome: Outcome) -> None:
        super().__init__(type(outcome).__name__)
        self.outcome = outcome


def _reason(code: str, message: str, field_name: str | None = None) -> Reason:
    return Reason(code=code, message=message[:2000], field=field_name)


# ---- the books ------------------------------------------------------------------------------


class Certificates(dict[str, Certificate]):
    """The certificate projection by id, indexed by organisation on first use (every movement asks)."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._by_org: dict[str, list[Certificate]] | None = None

    def __setitem__(self, key: str, value: Certificate) -> None:
        super().__setitem__(key, value)
        self._by_org = None

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        self._by_org = None

    def of(self, organisation_id: str) -> list[Certificate]:
        if self._by_org is None:
            self._by_org = {}
            for certificate in self.values():
                self._by_org.setdefault(certificate.organisation_id, []).append(certificate)
        return self._by_org.get(organisation_id, [])


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
        self.allocations = {a.claim_id: a for a in allocations}
        self.certificates = {c.certificate_id: c for c in certificates}  # type: ignore[assignment]
        self.assignments = assignments if assignments is not None else {}
        self.check_certificates = check_certificates
        self.keep_movements = keep_movements
        """Keep each movement's JSON on its record (what shadow accounting replays)."""
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

    @property
    def certificates(self) -> Certificates:
        return self._certificates

    @certificates.setter
    def certificates(self, value: dict[str, Certificate]) -> None:
        self._certificates = Certificates(value)

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

    def place(self, organisation_id: str, site_id: str, day: date) -> scope.Placement:
        """The account of the site's certification scope (or the site), and the CoC coverage on `day`."""
        return scope.place(self.rule_set_for(organisation_id, day), self.certificates.of(organisation_id), organisation_id,
                           site_id, day)

    def route(self, organisation_id: str, site_id: str, day: date) -> str:
        return self.place(organisation_id, site_id, day).account_id

    def _account(self, organisation_id: str, site_id: str, day: date) -> Account:
        return self._open(self.place(organisation_id, site_id, day).account_id, organisation_id, site_id, day)

    def _open(self, account_id: str, organisation_id: str, site_id: str, day: date) -> Account:
        rules = self.rule_set_for(organisation_id, day)
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
        """Close every period that ended before `day` and expire credits whose lifetime ended by then;
        True when `day` lies before the open period."""
        while day > account.period.end:
            self._expire(account, account.period.end, out)
            self._close(account, account.period.end, now, out)
        self._expire(account, max(day, account.period.start), out)
        return day < account.period.start

    def _expire(self, account: Account, day: date, out: list[Outcome]) -> None:
        """Credits past the rule set's lifetime expire, oldest first, with an entry that says why
        (credits reserved for claims are kept for them)."""
        rules = account.rules
        due = periods.expiring(account.layers, rules, day)
        if not due:
            return
        left = account.free
        take: dict[str, Decimal] = {}
        vintages: list[str] = []
        for product, vintage, value in reservations.expirable(due, account.reserved):
            part = min(value, left)
            if part <= 0:
                break
            take[product] = take.get(product, ZERO) + part
            left -= part
            vintages.append(f"{part} kg of {product} from {vintage.strftime('%Y-%m')}")
        if not take:
            return
        expired = sum(take.values(), ZERO)
        entry, _ = self._post(
            account, EntryKind.CREDIT_EXPIRED, booked_on=day, buckets={k: -v for k, v in take.items()},
            note=f"{rules.rule_set_id}: credits live {rules.credit_lifetime_months} months, oldest used first: "
                 f"{expired} kg expired ({'; '.join(vintages)})",
        )
        account.period.expired = _clean(account.period.expired + expired)
        out.append(EntryPosted(entry))

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
        vintage: date | None = None,
        prefer: date | None = None,
        restore: dict[str, Decimal] | None = None,
    ) -> tuple[LedgerEntry, Effect]:
        """Append one entry. Credits added get `vintage` (default: the month of `booked_on`), or, when
        `restore` names layers (`<product>@<vintage>`: kg, summing per product to what is added), go back
        to those vintages (credits given back keep their age); credits taken come from the `prefer`red
        vintage first, then oldest first."""
        self._touch("accounts", account.account_id)
        buckets = {k: v for k, v in (buckets or {}).items() if not v.is_zero()}
        credit = _clean(sum(buckets.values(), ZERO))
        added_vintage: date | None = None
        taken_vintage: date | None = None
        for key, delta in (sorted(buckets.items(), key=lambda kv: kv[1]) if len(buckets) > 1 else buckets.items()):
            _add(account.buckets, key, delta)
            if delta > 0 and restore is not None:
                for layer, amount in restore.items():
                    product, layer_vintage = periods.split_layer(layer)
                    if product == key:
                        periods.add(account.layers, key, layer_vintage, amount)
            elif delta > 0:
                added_vintage = added_vintage or (vintage or booked_on).replace(day=1)
                periods.add(account.layers, key, added_vintage, delta)
            else:
                first = periods.take(account.layers, key, -delta, prefer)
                if first is not None and (taken_vintage is None or first < taken_vintage):
                    taken_vintage = first
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
            vintage=(added_vintage or taken_vintage or booked_on).isoformat() if buckets else None,
        )
        return entry, effect

    @staticmethod
    def overshoot(account: Account) -> Decimal:
        """Percentage method: CoC output of the open period (with what an earlier overshoot charges to it)
        beyond what the whole period's inputs allow. Zero under the credit method (no overdraft there)."""
        period = account.period
        if account.rules.method is not Method.PERCENTAGE:
            return ZERO
        return periods.overshoot(period.coc_input, period.total_input, period.coc_output + period.deducted,
                                 period.total_output)

    def statement(self, account: Account, end: date, now: datetime, *, forfeited: Decimal = ZERO,
                  closing: Decimal | None = None) -> PeriodStatement:
        """The statement of the open period as it stands (or as it closes at `end`)."""
        period = account.period
        closing = account.balance if closing is None else closing
        rules = account.rules
        excess = self.overshoot(account)
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
            non_coc_inputs_kg=dict(sorted(period.non_coc_inputs.items())),
            expired_kg=period.expired,
            overshoot_brought_in_kg=period.deducted,
            percentage_overshoot_kg=excess,
            overshoot_handling=rules.overshoot.value if excess > 0 else None,
            transformations=[
                TransformationSummary(process_step=key.partition("|")[0],
                                      conversion_factor=Decimal(key.partition("|")[2]), **values)
                for key, values in sorted(period.transformations.items())
            ],
        )

    def _close(self, account: Account, end: date, now: datetime, out: list[Outcome]) -> None:
        self._touch("accounts", account.account_id)
        rules = account.rules
        closing = account.balance
        forfeited = ZERO
        if not rules.carry_over and account.free > 0:
            take = self._draw(account, account.free)
            forfeited = _clean(sum(take.values(), ZERO))
        if forfeited > 0:
            entry, _ = self._post(
                account, EntryKind.FORFEIT, booked_on=end, buckets={k: -v for k, v in take.items()},
                note=f"{rules.rule_set_id} does not carry credits over: {forfeited} kg forfeited at close "
                     f"(credits reserved for claims are kept)",
            )
            out.append(EntryPosted(entry))
        statement = self.statement(account, end, now, forfeited=forfeited, closing=closing)
        self.statements.append(statement)
        out.append(StatementWritten(statement))
        excess = statement.percentage_overshoot_kg or ZERO
        if excess > 0 and rules.overshoot is Overshoot.NON_CONFORMITY:
            out.append(AlertDue(
                ALERT_OVERSHOOT, account.account_id, account.organisation_id, excess, statement.period_id,
                f"CoC share of outputs exceeded the CoC share of inputs over period {statement.period_id}: "
                f"{statement.coc_output_kg + statement.overshoot_brought_in_kg} kg CoC of {statement.total_output_kg} "
                f"kg out, {statement.coc_input_kg} kg CoC of {statement.total_input_kg} kg in; {excess} kg too much "
                f"({rules.rule_set_id}: recorded as a non-conformity for the certification body)"))
        start = end + timedelta(days=1)
        next_rules = self.rule_set_for(account.organisation_id, start)
        if next_rules.level is not account.level:
            next_rules = rules
        account.rule_set_id = next_rules.rule_set_id
        _, next_end = next_rules.period_containing(start)
        carried = excess if excess > 0 and rules.overshoot is Overshoot.DEDUCT_NEXT_PERIOD else ZERO
        account.period = Period(period_id(start), start, next_end, opening_balance=account.balance, deducted=carried)
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

    def apply(self, movement: Movement, now: datetime, raw: bytes | None = None) -> list[Outcome]:
        """Book one movement (idempotent per movement id; order-tolerant for corrections)."""
        movement_id = str(movement.movement_id)
        if movement_id in self.movements:
            return []
        if isinstance(movement, MovementCancelled):
            outcomes = self._atomic(lambda out: self._cancel(movement, now, out))
        else:
            outcomes = self._atomic(lambda out: self._book_replacing(movement, now, out))
        record = self.movements.get(movement_id)
        if record is None and any(isinstance(o, DesignationDenied) for o in outcomes):
            record = self._record(movement_id, REFUSED)  # kept, so shadow accounting sees what was asked
        if record is not None and self.keep_movements:
            self._touch("movements", movement_id)
            record.organisation_id = movement.organisation_id
            record.movement = raw.decode() if raw is not None else movement.model_dump_json()
        return outcomes

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
            vintage = date.fromisoformat(effect.vintage) if effect.vintage else None
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
            if reservations.overdraws(account.buckets, account.reserved, {k: -v for k, v in effect.buckets.items()}):
                raise _Refusal(MovementDenied(account.account_id, cause.movement_id, cause.site_id, [_reason(
                    LedgerReason.REVERSAL_WOULD_OVERDRAW,
                    f"reversing {record.movement_id} would take {reservations.CLAIM_MATERIAL.value} credits reserved "
                    f"for claims ({account.reserved} kg reserved)")]))
            self._touch("accounts", account.account_id)
            if same_period and effect.non_coc:
                _add(account.period.non_coc_inputs, effect.non_coc, -effect.total_input)
            if same_period and effect.step_key:
                _add_step(account.period, effect.step_key, effect.step, -1)
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
                vintage=vintage, prefer=vintage,
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
        """Anyone may receive CoC Material; it earns credits only at a site a current CoC certificate
        covers on the day, and only when its due diligence did not fail. Otherwise it is recorded as
        non-CoC input with the reason: counted in the period's totals, never credited."""
        placement = self.place(m.organisation_id, m.site_id, m.received_on)
        account = self._open(placement.account_id, m.organisation_id, m.site_id, m.received_on)
        late = self._bring_to(account, m.received_on, now, out)
        rounding = account.rules.rounding
        credit = rounding.credit(m.coc_quantity_kg)
        total = rounding.debit(m.quantity_kg)
        non_coc: str | None = None
        why: str | None = None
        if m.due_diligence_status is DueDiligenceStatus.FAILED:
            non_coc = DD_FAILED
            why = (f"due diligence failed ({m.due_diligence_reference or 'no reference'}): {total} kg recorded as "
                   f"non-CoC input, never CoC output; the certification body is alerted")
        elif credit > 0 and not placement.credits_allowed and self.check_certificates:
            non_coc = NOT_COVERED
            certificate = placement.coverage.certificate
            why = (f"no current CoC certificate covers site {m.site_id} on {m.received_on}"
                   + (f" ({certificate.certificate_number} is {certificate.status.value})" if certificate else "")
                   + f": {credit} kg of CoC input recorded as non-CoC input, no credit")
        if non_coc is not None:
            credit = ZERO
            _add(account.period.non_coc_inputs, non_coc, total)
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
            note="; ".join(n for n in (why, self._late_note(account, m.received_on) if late else None) if n) or None,
        )
        effect.non_coc = non_coc
        out.append(EntryPosted(entry))
        if non_coc == DD_FAILED:
            out.append(AlertDue(ALERT_DD_FAILED, account.account_id, m.organisation_id, total,
                                account.period.period_id, why or "", site_id=m.site_id, movement_id=m.movement_id))
        lot_id = None
        if m.classification is Classification.COC_MATERIAL and m.coc_document_id and credit > 0:
            lot_id = f"{m.organisation_id}#{m.movement_id}"
            self._touch("lots", lot_id)
            self.lots[lot_id] = Lot(
                lot_id=lot_id, owner=m.organisation_id, account_id=account.account_id,
                period_id=account.period.period_id, document_id=m.coc_document_id, received_on=m.received_on,
                mass=credit, recycled_content_share=m.recycled_content_share,
                carbon_footprint=m.carbon_footprint_kg_co2e_per_kg,
                material=conversion.material_of(m.material_category).value,
            )
        self._record(str(m.movement_id), BOOKED, effects=[effect], lot_id=lot_id)

    def _transform(self, m: MaterialTransformedRecorded, now: datetime, out: list[Outcome]) -> None:
        """Credits follow the metal, once (`conversion.convert`): the input products' credits times the
        step's factor become credits of the product outputs; process scrap gets none. The new credits
        keep the vintage of the oldest credits converted (a conversion never makes credits younger)."""
        account = self._account(m.organisation_id, m.site_id, m.transformed_on)
        late = self._bring_to(account, m.transformed_on, now, out)
        rules = account.rules
        if m.process_step in rules.origin_steps:
            self._originate(account, m, late, out)
            return
        spare = reservations.spare(account.buckets, account.reserved,
                                   (bucket_key(line.material_category, line.product_form) for line in m.inputs))
        step = conversion.convert(m.inputs, m.outputs, m.conversion_factor, spare, account.free, rules.rounding)
        vintage = periods.oldest(account.layers, step.taken)
        applied = account.period.conversion_applied
        name = m.process_step.value
        applied[name] = min(applied.get(name, m.conversion_factor), m.conversion_factor)
        masses = {"input_kg": step.input_kg, "coc_input_kg": step.coc_input_kg, "output_kg": step.product_kg,
                  "scrap_kg": step.scrap_kg, "credits_created_kg": step.created}
        step_key = f"{name}|{m.conversion_factor.normalize():f}"
        _add_step(account.period, step_key, masses, 1)
        entry, effect = self._post(
            account, EntryKind.TRANSFORMATION, booked_on=m.transformed_on, site_id=m.site_id,
            movement_id=m.movement_id, buckets=step.change(), vintage=vintage,
            note=f"{name} x {m.conversion_factor}: {step.input_kg} kg in ({_clean(step.coc_input_kg)} kg of it "
                 f"CoC credits), {step.product_kg} kg of product and {step.scrap_kg} kg of process scrap out; "
                 f"{_clean(step.coc_input_kg)} x {m.conversion_factor} = {_clean(step.created)} kg of product credits "
                 f"(scrap carries none)" + (f"; {self._late_note(account, m.transformed_on)}" if late else ""),
        )
        effect.step_key, effect.step = step_key, masses
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

    @staticmethod
    def _draw(account: Account, amount: Decimal, products: Iterable[str] | None = None, *,
              spare_only: bool = True) -> dict[str, Decimal]:
        """Which products' credits a debit takes: the oldest credits of the allowed products first, never
        the credits reserved for claims (`reservations.spare`) unless it is a claim's own debit
        (`spare_only=False`)."""
        allowed = list(account.buckets if products is None else products)
        limit = (reservations.spare(account.buckets, account.reserved, allowed) if spare_only
                 else dict(account.buckets))
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
        return certification.site_coverage(self.certificates.of(organisation_id), organisation_id, site_id, day)

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
        key = bucket_key(m.material_category, m.product_form)
        period = account.period
        reasons: list[Reason] = []
        certificate = None
        if self.check_certificates:
            certificate, blockers = scope.may_designate(self.certificates.of(m.organisation_id), m.organisation_id, m.site_id,
                                                        m.shipped_on, rules)
            reasons.extend(blockers)
        usable = conversion.usable_for(account.buckets, m.material_category, m.product_form, rules.credits_by_product)
        spare = reservations.spare(account.buckets, account.reserved, usable)
        available = min(account.free, sum((spare.get(k, ZERO) for k in usable), ZERO))
        available = max(available, ZERO)
        if debit > m.quantity_kg:
            reasons.append(_reason(LedgerReason.INSUFFICIENT_CREDITS, "CoC mass exceeds the shipped mass",
                                   "coc_quantity_kg"))
        if debit > available:
            what = (f"{key} credits" if rules.credits_by_product
                    else f"free {conversion.material_of(m.material_category).value} credits")
            others = _clean(account.free - available) if account.free > available else ZERO
            reasons.append(_reason(LedgerReason.INSUFFICIENT_CREDITS,
                                   f"designation of {debit} kg exceeds the {available} kg of {what}"
                                   + (f" (credits of other products or materials, {others} kg, become usable only "
                                      f"through a reported transformation with its factor)" if others > 0 else "")
                                   + (f"; {account.reserved} kg of {reservations.CLAIM_MATERIAL.value} credits are "
                                      f"reserved for claims" if account.reserved > 0
                                      and any(reservations.is_claim_product(k) for k in usable) else "")))
        if rules.require_coc_input_in_period and period.site_coc_input.get(m.site_id, ZERO) <= 0:
            reasons.append(_reason(LedgerReason.NO_COC_INPUT_IN_PERIOD,
                                   f"site {m.site_id} received no CoC Material in period {period.period_id}"))
        if rules.method is Method.PERCENTAGE:
            allowed = periods.allowed_coc_output(period.coc_input, period.total_input, period.total_output + total_out)
            allowed = max(_clean(allowed - period.coc_output - period.deducted), ZERO)
            if debit > allowed:
                reasons.append(_reason(LedgerReason.PERCENTAGE_RULE,
                                       f"CoC share of outputs would exceed the CoC share of inputs "
                                       f"({period.coc_input}/{period.total_input} kg) in period {period.period_id}: "
                                       f"at most {allowed} kg"
                                       + (f" ({period.deducted} kg charged by an earlier period's overshoot)"
                                          if period.deducted > 0 else "")))
            available = min(available, allowed)
        if reasons:
            raise _Refusal(DesignationDenied(
                account.account_id, m.site_id, m.organisation_id, m.movement_id, m.shipment_reference,
                m.coc_quantity_kg, available, rules.rule_set_id, rules.version, reasons))
        take = self._draw(account, debit, usable)
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


def _add_step(period: Period, key: str, masses: dict[str, Decimal], sign: int) -> None:
    totals = period.transformations.setdefault(key, dict.fromkeys(STEP_FIELDS, ZERO))
    for name, value in masses.items():
        totals[name] = _clean(totals.get(name, ZERO) + sign * value)
    if all(v.is_zero() for v in totals.values()):
        del period.transformations[key]


def _snapshot(value: Any) -> Any:
    """A copy deep enough to restore: every mutable container copied, immutable values shared."""
    if isinstance(value, Account):  # copy.copy and a few dicts: much cheaper than dataclasses.replace
        account, period = copy.copy(value), copy.copy(value.period)
        account.buckets, account.layers, account.period = dict(value.buckets), dict(value.layers), period
        period.inputs_by_category = dict(period.inputs_by_category)
        period.conversion_applied = dict(period.conversion_applied)
        period.site_coc_input = dict(period.site_coc_input)
        period.non_coc_inputs = dict(period.non_coc_inputs)
        period.transformations = {k: dict(v) for k, v in period.transformations.items()}
        return account
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

