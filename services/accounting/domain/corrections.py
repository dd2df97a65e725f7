"""Cancellations and corrections: a movement id is booked once; a cancellation or a correction
reverses exactly what the original booked (entry by entry, same vintages), whichever arrives first
(an early one voids the original, which is then never booked)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, NamedTuple

from contracts.ledger import EntryKind, LedgerReason
from contracts.movements import (
    MaterialReceivedRecorded,
    MaterialShippedRecorded,
    MaterialTransformedRecorded,
    MovementCancelled,
)
from services.accounting.domain import recycled, reservations
from services.accounting.domain.closing import bring_to
from services.accounting.domain.designations import ship
from services.accounting.domain.outcomes import (
    EntryPosted,
    MovementDenied,
    Outcome,
    Refusal,
    reason,
)
from services.accounting.domain.posting import post
from services.accounting.domain.receipts import receive
from services.accounting.domain.rules import ZERO
from services.accounting.domain.state import (
    BOOKED,
    REVERSED,
    VOID,
    Account,
    Effect,
    Movement,
    MovementRecord,
    add_step,
    add_to,
    movement_day,
)
from services.accounting.domain.transformations import transform

if TYPE_CHECKING:
    from services.accounting.domain.ledger import Ledger


def cancel(books: Ledger, movement: MovementCancelled, now: datetime, out: list[Outcome]) -> None:
    target_id = str(movement.cancelled_movement_id)
    target = books.movements.get(target_id)
    if target is None:
        books.record(target_id, VOID, by=str(movement.movement_id))
    elif target.status == BOOKED:
        reverse(books, target, movement, movement.movement_id, now, out)
        books.touch("movements", target_id)
        target.status, target.by = REVERSED, str(movement.movement_id)
    books.record(str(movement.movement_id), BOOKED)


def book_replacing(books: Ledger, movement: Movement, now: datetime, out: list[Outcome]) -> None:
    old_id = str(movement.corrects_movement_id) if movement.corrects_movement_id else None
    old = books.movements.get(old_id) if old_id else None
    if old_id is not None and old is None:
        books.record(old_id, VOID, by=str(movement.movement_id))
    if old is not None and old.status == BOOKED:
        old_credit = sum((e.credit for e in old.effects), ZERO)
        if old_credit > 0:  # book the replacement first so no intermediate balance dips
            book(books, movement, now, out)
            reverse(books, old, movement, movement.movement_id, now, out)
        else:
            reverse(books, old, movement, movement.movement_id, now, out)
            book(books, movement, now, out)
        books.touch("movements", old.movement_id)
        old.status, old.by = REVERSED, str(movement.movement_id)
    else:
        book(books, movement, now, out)


def reverse(
    books: Ledger,
    record: MovementRecord,
    cause: Movement,
    cause_id: uuid.UUID,
    now: datetime,
    out: list[Outcome],
) -> None:
    """Undo each entry the movement booked, then void the CoC Document it brought."""
    for effect in record.effects:
        reverse_effect(books, record, effect, cause, cause_id, now, out)
    if record.lot_id:
        void_lot(books, record.lot_id, cause)


def reverse_effect(
    books: Ledger,
    record: MovementRecord,
    effect: Effect,
    cause: Movement,
    cause_id: uuid.UUID,
    now: datetime,
    out: list[Outcome],
) -> None:
    """A `reversal` entry taking back exactly what one entry did (its period's flows only while
    that period is open: closed periods are immutable)."""
    account = books.accounts[effect.account_id]
    day = movement_day(cause)
    bring_to(books, account, day, now, out)
    same_period = effect.period_id == account.period.period_id
    vintage = date.fromisoformat(effect.vintage) if effect.vintage else None
    _refuse_overdraw(account, record, effect, cause)
    books.touch("accounts", account.account_id)
    if same_period:
        _undo_period_tallies(account, effect)
    flows = _flows_back(effect, same_period)
    entry, _ = post(
        books,
        account,
        EntryKind.REVERSAL,
        booked_on=day,
        site_id=effect.site_id or None,
        movement_id=cause_id,
        reverses=effect.entry_id,
        buckets={k: -v for k, v in effect.buckets.items()},
        coc_input=flows.coc_input,
        total_input=flows.total_input,
        coc_output=flows.coc_output,
        total_output=flows.total_output,
        category=effect.category,
        site_input=flows.site_input,
        inflows=flows.inflows,
        note=f"reverses entry {effect.entry_id} of movement {record.movement_id}"
        + ("" if same_period else f" (booked in closed period {effect.period_id})"),
        vintage=vintage,
        prefer=vintage,
    )
    out.append(EntryPosted(entry))


def _refuse_overdraw(
    account: Account, record: MovementRecord, effect: Effect, cause: Movement
) -> None:
    """A reversal that would take back credits already spent is refused."""
    why = reversal_overdraws(account, record.movement_id, effect)
    if why is not None:
        raise Refusal(
            MovementDenied(
                account.account_id,
                cause.movement_id,
                cause.site_id,
                [reason(LedgerReason.REVERSAL_WOULD_OVERDRAW, why)],
            )
        )


def _undo_period_tallies(account: Account, effect: Effect) -> None:
    """The open period's non-CoC input and conversion step counts lose the entry's."""
    if effect.non_coc:
        add_to(account.period.non_coc_inputs, effect.non_coc, -effect.total_input)
    if effect.step_key:
        add_step(account.period, effect.step_key, effect.step, -1)


class _Flows(NamedTuple):
    """The period flows a reversal posts: the entry's negated while its period is open."""

    coc_input: Decimal
    total_input: Decimal
    coc_output: Decimal
    total_output: Decimal
    site_input: Decimal
    inflows: dict[str, dict[str, Decimal]] | None


def _flows_back(effect: Effect, same_period: bool) -> _Flows:
    if not same_period:
        return _Flows(ZERO, ZERO, ZERO, ZERO, ZERO, None)
    return _Flows(
        -effect.coc_input,
        -effect.total_input,
        -effect.coc_output,
        -effect.total_output,
        -effect.site_input,
        recycled.negate(effect.inflows),
    )


def void_lot(books: Ledger, lot_id: str, cause: Movement) -> None:
    """The CoC Document of a reversed receipt backs nothing any more; refused while it backs a
    claim (`lot_allocated_to_claim`: release the claim first)."""
    lot = books.lots.get(lot_id)
    if lot is not None and not lot.void:
        if lot.allocated > 0:
            raise Refusal(
                MovementDenied(
                    books.accounts[lot.account_id].account_id,
                    cause.movement_id,
                    cause.site_id,
                    [
                        reason(
                            LedgerReason.LOT_ALLOCATED,
                            f"CoC Document {lot.document_id} backs claims for {lot.allocated} "
                            f"kg; release them first",
                        )
                    ],
                )
            )
        books.touch("lots", lot.lot_id)
        lot.void = True


def book(books: Ledger, movement: Movement, now: datetime, out: list[Outcome]) -> None:
    if isinstance(movement, MaterialReceivedRecorded):
        receive(books, movement, now, out)
    elif isinstance(movement, MaterialTransformedRecorded):
        transform(books, movement, now, out)
    elif isinstance(movement, MaterialShippedRecorded):
        ship(books, movement, now, out)


def reversal_overdraws(account: Account, movement_id: str, effect: Effect) -> str | None:
    """No overdraft, even to undo (`../shared/domain.md`, Mass balance: "the balance never goes
    below zero at any moment"): a reversal may take back only credits that are still there, still
    free and not reserved for claims. Returns why it may not, or None."""
    for key, delta in effect.buckets.items():
        if delta > 0 and account.buckets.get(key, ZERO) < delta:
            return (
                f"reversing {movement_id} would take back {delta} kg of {key} credits, but only "
                f"{account.buckets.get(key, ZERO)} kg are left (already converted or designated)"
            )
    if effect.credit > 0 and account.free < effect.credit:
        return (
            f"reversing {movement_id} would leave {account.free - effect.credit} kg of free credits"
        )
    if reservations.overdraws(
        account.buckets, account.reserved, {k: -v for k, v in effect.buckets.items()}
    ):
        return (
            f"reversing {movement_id} would take {reservations.CLAIM_MATERIAL.value} credits "
            f"reserved "
            f"for claims ({account.reserved} kg reserved)"
        )
    return None
