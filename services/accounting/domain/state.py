"""The state a batch of accounting works on: accounts with their open period, what became of each
movement id, the CoC Documents received (lots) and the allocations for claims. Plain data; the
rules that change it are in the modules named in the service README."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar, cast

from contracts.ledger import DocumentShare
from contracts.movements import (
    MaterialReceivedRecorded,
    MaterialShippedRecorded,
    MaterialTransformedRecorded,
    MovementCancelled,
)
from contracts.registry import Certificate
from services.accounting.domain.chain import GENESIS
from services.accounting.domain.rules import CATALOGUE, ZERO, Level, RuleSet

T = TypeVar("T")

Movement = (
    MaterialReceivedRecorded
    | MaterialTransformedRecorded
    | MaterialShippedRecorded
    | MovementCancelled
)


def clean(value: Decimal) -> Decimal:
    return ZERO if value.is_zero() else value


def add_to(buckets: dict[str, Decimal], key: str, delta: Decimal) -> None:
    value = clean(buckets.get(key, ZERO) + delta)
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
    recycled: dict[str, dict[str, Decimal]] = field(default_factory=dict)
    """Per product: the credits it received in the period and their composition (pre-consumer,
    post-consumer, unknown): `recycled.py`."""
    deducted: Decimal = ZERO
    """CoC output an earlier period's percentage overshoot charges against this one."""
    non_coc_inputs: dict[str, Decimal] = field(default_factory=dict)
    """Input recorded without credit, by why: outside every current CoC scope, or due diligence
    failed."""
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
        return clean(self.balance - self.reserved)


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
    buckets: dict[str, Decimal] = field(default_factory=dict)
    vintage: str | None = None
    """Vintage of the credits the entry added, or the oldest it took (what a reversal gives
    back)."""
    non_coc: str | None = None
    step_key: str | None = None
    step: dict[str, Decimal] = field(default_factory=dict)
    inflows: dict[str, dict[str, Decimal]] = field(default_factory=dict)
    """The credit inflows by composition the entry added to its period (`recycled.py`)."""


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
    recycled_pre_consumer_share: Decimal | None = None
    recycled_post_consumer_share: Decimal | None = None
    material: str | None = None
    """The material of the credits the document brought (`conversion.Material`); only lots of the
    claim material back claims (`reservations.CLAIM_MATERIAL`). None on lots stored before credits
    carried
    it."""

    @property
    def remaining(self) -> Decimal:
        return ZERO if self.void else clean(self.mass - self.allocated)


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
    recycled_pre_consumer_share: Decimal | None = None
    recycled_post_consumer_share: Decimal | None = None
    debit_entries: dict[str, str] = field(default_factory=dict)
    debit_takes: dict[str, Decimal] = field(default_factory=dict)
    returned: Decimal = ZERO
    """Spending and returning it: `domain/claims_mass.py`."""

    @property
    def key(self) -> str:
        return allocation_key(self.owner, self.claim_id)


def allocation_key(owner: str, claim_id: str) -> str:
    """A claim id is its owner's own (issue 23): two owners' claims of the same id hold their own
    allocations. `|` is not allowed in an identifier, so the key is unambiguous."""
    return f"{owner}|{claim_id}"


GRANTED, RELEASED, DEBITED = "granted", "released", "debited"


class Certificates(dict[str, Certificate]):
    """The certificate projection by id, indexed by organisation on first use (every movement
    asks)."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._by_org: dict[str, list[Certificate]] | None = None
        self._answers: dict[tuple[Any, ...], Any] = {}

    def __setitem__(self, key: str, value: Certificate) -> None:
        super().__setitem__(key, value)
        self._by_org, self._answers = None, {}

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        self._by_org, self._answers = None, {}

    def remembered(self, key: tuple[Any, ...], answer: Callable[[], T]) -> T:
        """`answer()`, computed once per `key` while the certificates stay the same: which
        certificate covers a site on a day is asked by the handler and again by the domain for
        every movement, and batches hold many movements of one site and day."""
        if key not in self._answers:
            self._answers[key] = answer()
        return cast(T, self._answers[key])

    def of(self, organisation_id: str) -> list[Certificate]:
        if self._by_org is None:
            self._by_org = {}
            for certificate in self.values():
                self._by_org.setdefault(certificate.organisation_id, []).append(certificate)
        return self._by_org.get(organisation_id, [])


def add_step(period: Period, key: str, masses: dict[str, Decimal], sign: int) -> None:
    totals = period.transformations.setdefault(key, dict.fromkeys(STEP_FIELDS, ZERO))
    for name, value in masses.items():
        totals[name] = clean(totals.get(name, ZERO) + sign * value)
    if all(v.is_zero() for v in totals.values()):
        del period.transformations[key]


def _shallow(value: T) -> T:
    """What `copy.copy` makes of a plain dataclass (a new object sharing the field values),
    without its `__reduce_ex__` round: every movement snapshots its account (`Ledger.touch`)."""
    new = object.__new__(type(value))
    new.__dict__.update(value.__dict__)
    return new


def snapshot(value: Any) -> Any:
    """A copy deep enough to restore: every mutable container copied, immutable values shared."""
    if isinstance(value, Account):  # shallow copies and a few dicts: cheaper than replace()
        account, period = _shallow(value), _shallow(value.period)
        account.buckets, account.layers, account.period = (
            dict(value.buckets),
            dict(value.layers),
            period,
        )
        period.inputs_by_category = dict(period.inputs_by_category)
        period.conversion_applied = dict(period.conversion_applied)
        period.site_coc_input = dict(period.site_coc_input)
        period.non_coc_inputs = dict(period.non_coc_inputs)
        period.transformations = {k: dict(v) for k, v in period.transformations.items()}
        period.recycled = {k: dict(v) for k, v in period.recycled.items()}
        return account
    if isinstance(value, MovementRecord):
        return replace(value, effects=list(value.effects))
    if isinstance(value, Allocation):
        return replace(
            value,
            reservations=dict(value.reservations),
            lot_takes=dict(value.lot_takes),
            documents=list(value.documents),
            debit_entries=dict(value.debit_entries),
            debit_takes=dict(value.debit_takes),
        )
    return copy.copy(value)


def movement_day(movement: Movement) -> date:
    """The business day of a movement (a cancellation's is when it was recorded)."""
    if isinstance(movement, MaterialReceivedRecorded):
        return movement.received_on
    if isinstance(movement, MaterialTransformedRecorded):
        return movement.transformed_on
    if isinstance(movement, MaterialShippedRecorded):
        return movement.shipped_on
    return movement.occurred_at.date()
