"""Claims spend mass: what an on-pack claim does to its owner's CoC credits. Pure: no I/O.

The rule (ASI: "claimed mass is spent, not lent", `../shared/domain.md`, Claims; issue 15 item 1):

    AllocateForClaim   pending claim -> reservation (`allocation_reserved`): free credits
                       held, FIFO over the CoC Documents received (lots), nothing spent yet
    ReleaseAllocation  rejected/timed out/withdrawn while pending -> reservation freed
                       (`allocation_released`); refused once the mass is spent
    DebitClaimMass     approved -> the reservation becomes a `claim_debit` entry per account:
                       the credits leave the balance for good (revocation and expiry give
                       nothing back: products on shelves already carry the claim)
    ReturnClaimMass    withdrawn after approval -> the unused part (debited less reported use)
                       comes back as `claim_return` entries, each referencing the debit it
                       returns; at most once per claim, never more than unused

So no kilogram backs two claims: a lot's `allocated` mass (reserved or spent) is never offered
again, and a debit lowers the balance that later reservations draw on. A refusal for mass names the
claims that hold the owner's mass.

A claim draws on the claimant's own accounts (one per CoC certification scope, or per site), each
reservation, debit and return staying in the account it was taken from, so credits never cross
scopes. Claims draw aluminium credits only (`CLAIM_MATERIAL`) and only the lots of
aluminium; what is reserved is kept out of designations, conversions, expiry and forfeit
(`reservations.spare`). A debit takes the account's oldest aluminium credits through the same
primitive designations use (`Ledger.draw`), and a return gives back exactly the vintages the debit
took (`posting.post(restore=...)`), so a returned kilogram is no younger than it was.

Every operation is all-or-nothing through `Ledger.atomic`; the Ledger owns the tables
(`accounts`, `lots`, `allocations`) and posts the entries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_CEILING, Decimal

from contracts.ledger import DocumentShare, EntryKind, LedgerReason
from services.accounting.domain import periods
from services.accounting.domain.documents import SHARE_QUANTUM
from services.accounting.domain.ledger import Ledger
from services.accounting.domain.outcomes import (
    AllocationDenied,
    CommandDenied,
    EntryPosted,
    Granted,
    Refusal,
    Released,
    reason,
)
from services.accounting.domain.posting import post
from services.accounting.domain.reservations import CLAIM_MATERIAL, claimable_free, is_claim_product
from services.accounting.domain.rules import ZERO, round_down, round_up
from services.accounting.domain.state import (
    DEBITED,
    GRANTED,
    RELEASED,
    Account,
    Allocation,
    Lot,
    clean,
)

HOLDERS_NAMED = 20
"""At most this many claims are named in a refusal for mass (largest holders first)."""


@dataclass(frozen=True)
class Debited:
    allocation: Allocation


@dataclass(frozen=True)
class Returned:
    claim_id: str
    owner: str
    mass: Decimal
    debited: Decimal
    used: Decimal
    entry_ids: tuple[str, ...]


Outcome = Granted | AllocationDenied | Released | CommandDenied | Debited | Returned | EntryPosted


def owner_accounts(books: Ledger, owner: str) -> list[Account]:
    return sorted(
        (a for a in books.accounts.values() if a.organisation_id == owner),
        key=lambda a: a.account_id,
    )


def claimable(account: Account) -> Decimal:
    """What a new reservation may take of an account: its unreserved aluminium credits."""
    return min(max(account.free, ZERO), claimable_free(account.buckets, account.reserved))


def free_credits(books: Ledger, owner: str) -> Decimal:
    return clean(sum((claimable(a) for a in owner_accounts(books, owner)), ZERO))


def held(allocation: Allocation) -> Decimal:
    """Mass a claim holds of its owner's credits: reserved (pending) or spent and not returned."""
    if allocation.status == GRANTED:
        return allocation.mass
    if allocation.status == DEBITED:
        return clean(allocation.mass - allocation.returned)
    return ZERO


def holders(books: Ledger, owner: str) -> list[Allocation]:
    """The owner's claims holding mass, largest first (of the allocations loaded)."""
    live = [a for a in books.allocations.values() if a.owner == owner and held(a) > 0]
    return sorted(live, key=lambda a: (-held(a), a.claim_id))


# ---- reserve -------------------------------------------------------------------------------


def allocate(books: Ledger, claim_id: str, owner: str, mass: Decimal, day: date) -> list[Outcome]:
    """Reserve `mass` of the owner's free credits for a claim; the same claim gets the same
    grant."""
    existing = books.allocations.get(claim_id)
    if existing is not None and existing.status in (GRANTED, DEBITED):
        if existing.owner != owner:
            return [
                AllocationDenied(
                    claim_id,
                    owner,
                    mass,
                    free_credits(books, owner),
                    [
                        reason(
                            LedgerReason.ALLOCATION_CONFLICT,
                            f"claim {claim_id} already holds credits of {existing.owner}",
                            "owner_organisation_id",
                        )
                    ],
                )
            ]
        return [Granted(existing)]
    return books.atomic(lambda out: _allocate(books, claim_id, owner, mass, day, out))


def _refusal_for_mass(
    books: Ledger, claim_id: str, owner: str, mass: Decimal, amount: Decimal, total_free: Decimal
) -> AllocationDenied:
    reasons = [
        reason(
            LedgerReason.INSUFFICIENT_CREDITS,
            f"{amount} kg asked, {total_free} kg of {owner}'s CoC credits are free",
            "mass_kg",
        )
    ]
    holding = holders(books, owner)
    if holding:
        named = holding[:HOLDERS_NAMED]
        listed = ", ".join(
            f"claim {a.claim_id} ({held(a)} kg {'spent' if a.status == DEBITED else 'reserved'})"
            for a in named
        )
        more = f" and {len(holding) - len(named)} more" if len(holding) > len(named) else ""
        reasons.append(
            reason(
                LedgerReason.MASS_ALREADY_CLAIMED,
                f"{owner}'s CoC mass already backs {listed}{more}",
                "mass_kg",
            )
        )
    return AllocationDenied(
        claim_id,
        owner,
        mass,
        total_free,
        reasons,
        held_by=tuple(a.claim_id for a in holding[:HOLDERS_NAMED]),
    )


def claimable_lots(books: Ledger, owner: str, accounts: list[Account]) -> list[Lot]:
    """The owner's CoC Documents (lots) a claim may draw on, FIFO: aluminium ones with mass left,
    in its own accounts, and under a rule set without carry-over only those of the open period."""
    current_periods = {a.account_id: a.period.period_id for a in accounts}
    carries = {a.account_id: a.rules.carry_over for a in accounts}
    return sorted(
        (
            lot
            for lot in books.lots.values()
            if lot.owner == owner
            and lot.remaining > 0
            and lot.account_id in carries
            and lot.material in (None, CLAIM_MATERIAL.value)
            and (carries[lot.account_id] or lot.period_id == current_periods[lot.account_id])
        ),
        key=lambda lot: (lot.received_on, lot.lot_id),
    )


def documented_profile(
    documents: list[DocumentShare], amount: Decimal
) -> tuple[Decimal | None, Decimal | None]:
    """Mass-weighted recycled share (rounded down) and carbon footprint (rounded up) of the
    documents behind a claim; None when part of the mass is not document-backed or a document did
    not state it (a claim never overstates either)."""
    documented = sum((d.mass_kg for d in documents), Decimal(0))
    if documented != amount or not documents:
        return None, None
    recycled = footprint = None
    if all(d.recycled_content_share is not None for d in documents):
        recycled = min(
            round_down(
                sum(d.mass_kg * (d.recycled_content_share or 0) for d in documents) / amount,
                SHARE_QUANTUM,
            ),
            Decimal(1),
        )
    if all(d.carbon_footprint_kg_co2e_per_kg is not None for d in documents):
        total = sum(d.mass_kg * (d.carbon_footprint_kg_co2e_per_kg or 0) for d in documents)
        footprint = (total / amount).quantize(SHARE_QUANTUM, rounding=ROUND_CEILING)
    return recycled, footprint


def _allocate(
    books: Ledger, claim_id: str, owner: str, mass: Decimal, day: date, out: list[Outcome]
) -> None:
    accounts = owner_accounts(books, owner)
    amount = round_up(mass)
    free = {a.account_id: claimable(a) for a in accounts}
    total_free = clean(sum(free.values(), ZERO))
    if amount > total_free:
        raise Refusal(_refusal_for_mass(books, claim_id, owner, mass, amount, total_free))
    reservations: dict[str, Decimal] = {}
    takes: dict[str, Decimal] = {}
    documents: list[DocumentShare] = []
    left = amount
    for lot in claimable_lots(books, owner, accounts):
        if left <= 0:
            break
        part = min(
            left, lot.remaining, free[lot.account_id] - reservations.get(lot.account_id, ZERO)
        )
        if part <= 0:
            continue
        takes[lot.lot_id] = part
        reservations[lot.account_id] = reservations.get(lot.account_id, ZERO) + part
        documents.append(
            DocumentShare(
                document_id=lot.document_id,
                mass_kg=part,
                recycled_content_share=lot.recycled_content_share,
                carbon_footprint_kg_co2e_per_kg=lot.carbon_footprint,
            )
        )
        left -= part
    for account in accounts:
        if left <= 0:
            break
        part = min(left, free[account.account_id] - reservations.get(account.account_id, ZERO))
        if part > 0:
            reservations[account.account_id] = reservations.get(account.account_id, ZERO) + part
            left -= part
    recycled, footprint = documented_profile(documents, amount)
    for lot_id, part in takes.items():
        books.touch("lots", lot_id)
        books.lots[lot_id].allocated += part
    for account_id, part in sorted(reservations.items()):
        account = books.accounts[account_id]
        entry, _ = post(
            books,
            account,
            EntryKind.ALLOCATION_RESERVED,
            booked_on=day,
            claim_id=claim_id,
            reserved=part,
            note=f"{part} kg reserved for claim {claim_id}",
        )
        out.append(EntryPosted(entry))
    books.touch("allocations", claim_id)
    allocation = Allocation(
        claim_id,
        owner,
        amount,
        GRANTED,
        reservations=reservations,
        lot_takes=takes,
        documents=documents,
        recycled_content_share=recycled,
        carbon_footprint=footprint,
    )
    books.allocations[claim_id] = allocation
    out.append(Granted(allocation))


# ---- release a pending claim's reservation ---------------------------------------------------


def release(books: Ledger, claim_id: str, owner: str, day: date) -> list[Outcome]:
    """Free a pending claim's reservation; a spent (debited) allocation is never released."""
    allocation = books.allocations.get(claim_id)
    if allocation is None or allocation.status == RELEASED:
        return [Released(claim_id, owner, ZERO)]
    if allocation.status == DEBITED:
        return [
            CommandDenied(
                [
                    reason(
                        LedgerReason.CLAIM_MASS_SPENT,
                        f"claim {claim_id} was approved and its {allocation.mass} kg spent; only "
                        f"the unused part of a withdrawn "
                        f"claim returns (ReturnClaimMass)",
                        "claim_id",
                    )
                ]
            )
        ]

    def work(out: list[Outcome]) -> None:
        books.touch("allocations", claim_id)
        for lot_id, part in allocation.lot_takes.items():
            lot = books.lots.get(lot_id)
            if lot is not None:
                books.touch("lots", lot_id)
                lot.allocated = clean(lot.allocated - part)
        for account_id, part in sorted(allocation.reservations.items()):
            account = books.accounts[account_id]
            entry, _ = post(
                books,
                account,
                EntryKind.ALLOCATION_RELEASED,
                booked_on=day,
                claim_id=claim_id,
                reserved=-part,
                note=f"{part} kg released from claim {claim_id}",
            )
            out.append(EntryPosted(entry))
        allocation.status = RELEASED
        out.append(Released(claim_id, allocation.owner, allocation.mass))

    return books.atomic(work)


# ---- spend an approved claim's mass ----------------------------------------------------------


def debit(books: Ledger, claim_id: str, owner: str, mass: Decimal, day: date) -> list[Outcome]:
    """The claim was approved: its reservation becomes a `claim_debit` on each account it was held
    in."""
    allocation = books.allocations.get(claim_id)
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
    if allocation.owner != owner:
        return [
            CommandDenied(
                [
                    reason(
                        LedgerReason.ALLOCATION_CONFLICT,
                        f"claim {claim_id} holds credits of {allocation.owner}",
                        "owner_organisation_id",
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
        books.touch("allocations", claim_id)
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
    allocation = books.allocations.get(claim_id)
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
    if allocation.owner != owner:
        return [
            CommandDenied(
                [
                    reason(
                        LedgerReason.ALLOCATION_CONFLICT,
                        f"claim {claim_id} holds credits of {allocation.owner}",
                        "owner_organisation_id",
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
        books.touch("allocations", claim_id)
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
