"""An approved claim spends its reservation (`claim_debit`); a withdrawn one gets its unused
part back (`claim_return`), with the vintages the debit took. The rule: `claims_mass.py`."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from contracts.ledger import EntryKind, LedgerReason
from services.accounting.domain import periods
from services.accounting.domain.claims_common import Debited, Outcome, Returned
from services.accounting.domain.ledger import Ledger
from services.accounting.domain.outcomes import (
    CommandDenied,
    EntryPosted,
    Refusal,
    reason,
)
from services.accounting.domain.posting import post
from services.accounting.domain.reservations import is_claim_product
from services.accounting.domain.rules import ZERO, round_down, round_up
from services.accounting.domain.state import (
    DEBITED,
    RELEASED,
    allocation_key,
    clean,
)

# ---- spend an approved claim's mass ----------------------------------------------------------


def debit(books: Ledger, claim_id: str, owner: str, mass: Decimal, day: date) -> list[Outcome]:
    """The claim was approved: its reservation becomes a `claim_debit` on each account it was held
    in."""
    allocation = books.allocations.get(allocation_key(owner, claim_id))
    if allocation is None or allocation.status == RELEASED:
        return [
            CommandDenied(
                [
                    reason(
                        LedgerReason.UNKNOWN_ALLOCATION,
                        f"no mass is reserved for claim {claim_id}",
                        "claim_id",
                    )
                ]
            )
        ]
    if round_up(mass) != allocation.mass:
        return [
            CommandDenied(
                [
                    reason(
                        LedgerReason.DEBIT_MISMATCH,
                        f"{mass} kg to spend, but {allocation.mass} kg are held for claim "
                        f"{claim_id}",
                        "mass_kg",
                    )
                ]
            )
        ]
    if allocation.status == DEBITED:
        return [Debited(allocation)]

    def work(out: list[Outcome]) -> None:
        books.touch("allocations", allocation.key)
        for account_id, part in sorted(allocation.reservations.items()):
            account = books.accounts[account_id]
            products = [k for k in account.buckets if is_claim_product(k)]
            take = books.draw(account, part, products, spare_only=False)
            if (
                clean(sum(take.values(), ZERO)) != part
            ):  # the books' invariants make this unreachable
                raise Refusal(
                    CommandDenied(
                        [
                            reason(
                                LedgerReason.INSUFFICIENT_CREDITS,
                                f"{account_id} holds less than the {part} kg reserved",
                            )
                        ]
                    )
                )
            before = dict(account.layers)
            entry, _ = post(
                books,
                account,
                EntryKind.CLAIM_DEBIT,
                booked_on=day,
                claim_id=claim_id,
                buckets={k: -v for k, v in take.items()},
                reserved=-part,
                note=f"{part} kg spent by approved claim {claim_id}",
            )
            out.append(EntryPosted(entry))
            allocation.debit_entries[account_id] = str(entry.entry_id)
            for layer, value in before.items():  # the vintages taken: what a return gives back
                taken = clean(value - account.layers.get(layer, ZERO))
                if taken > 0:
                    allocation.debit_takes[f"{account_id}#{layer}"] = taken
        allocation.status = DEBITED
        out.append(Debited(allocation))

    return books.atomic(work)


# ---- return a withdrawn claim's unused part --------------------------------------------------


def return_unused(
    books: Ledger, claim_id: str, owner: str, mass: Decimal, used: Decimal, day: date
) -> list[Outcome]:
    """Give back `mass` of a spent claim (at most its debit less `used`, once per claim), LIFO over
    the accounts and documents it was taken from, each entry referencing the debit it returns."""
    allocation = books.allocations.get(allocation_key(owner, claim_id))
    if allocation is None or allocation.status != DEBITED:
        return [
            CommandDenied(
                [
                    reason(
                        LedgerReason.ALLOCATION_NOT_DEBITED,
                        f"claim {claim_id} spent no mass: nothing to return",
                        "claim_id",
                    )
                ]
            )
        ]
    amount = round_down(mass)
    if allocation.returned > 0:
        return [
            CommandDenied(
                [
                    reason(
                        LedgerReason.RETURN_EXCEEDS_UNUSED,
                        f"claim {claim_id} already returned {allocation.returned} kg; "
                        f"a claim's unused part returns once",
                        "claim_id",
                    )
                ]
            )
        ]
    unused = clean(allocation.mass - round_up(used))
    if amount > unused or amount <= 0:
        return [
            CommandDenied(
                [
                    reason(
                        LedgerReason.RETURN_EXCEEDS_UNUSED,
                        f"{mass} kg to return, but claim {claim_id} spent {allocation.mass} kg and "
                        f"{used} kg were used: at most {max(unused, ZERO)} kg may return",
                        "mass_kg",
                    )
                ]
            )
        ]

    def work(out: list[Outcome]) -> None:
        books.touch("allocations", allocation.key)
        entry_ids: list[str] = []
        left = amount
        for account_id in sorted(allocation.debit_entries, reverse=True):
            if left <= 0:
                break
            part = min(left, allocation.reservations[account_id])
            give: dict[str, Decimal] = {}
            layers: dict[str, Decimal] = {}
            rest = part
            prefix = f"{account_id}#"
            for key in sorted(
                (k for k in allocation.debit_takes if k.startswith(prefix)),
                key=lambda k: periods.split_layer(k.removeprefix(prefix))[::-1],
                reverse=True,
            ):
                if rest <= 0:
                    break
                share = min(rest, allocation.debit_takes[key])
                layer = key.removeprefix(prefix)
                layers[layer] = share
                product = periods.split_layer(layer)[0]
                give[product] = give.get(product, ZERO) + share
                rest -= share
            account = books.accounts[account_id]
            entry, _ = post(
                books,
                account,
                EntryKind.CLAIM_RETURN,
                booked_on=day,
                claim_id=claim_id,
                reverses=allocation.debit_entries[account_id],
                buckets=give,
                restore=layers,
                note=f"{part} kg of withdrawn claim {claim_id} returned unused "
                f"({used} kg reported used stays spent)",
            )
            out.append(EntryPosted(entry))
            entry_ids.append(str(entry.entry_id))
            left -= part
        left = amount
        ordered = sorted(
            allocation.lot_takes,
            key=lambda i: (books.lots[i].received_on, i) if i in books.lots else (date.min, i),
            reverse=True,
        )
        for lot_id in ordered:
            if left <= 0:
                break
            part = min(left, allocation.lot_takes[lot_id])
            lot = books.lots.get(lot_id)
            if lot is not None:
                books.touch("lots", lot_id)
                lot.allocated = clean(lot.allocated - part)
            allocation.lot_takes[lot_id] = clean(allocation.lot_takes[lot_id] - part)
            if allocation.lot_takes[lot_id].is_zero():
                del allocation.lot_takes[lot_id]
            left -= part
        allocation.returned = amount
        out.append(Returned(claim_id, owner, amount, allocation.mass, used, tuple(entry_ids)))

    return books.atomic(work)
