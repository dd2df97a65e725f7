"""A pending claim reserves its owner's free aluminium credits, FIFO over its CoC Documents;
a release frees them. The rule: `claims_mass.py`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_CEILING, Decimal

from contracts.ledger import DocumentShare, EntryKind, LedgerReason
from services.accounting.domain.claims_common import (
    HOLDERS_NAMED,
    Outcome,
    claimable,
    free_credits,
    held,
    holders,
    owner_accounts,
)
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
from services.accounting.domain.reservations import CLAIM_MATERIAL
from services.accounting.domain.rules import ZERO, round_down, round_up
from services.accounting.domain.state import (
    DEBITED,
    GRANTED,
    RELEASED,
    Account,
    Allocation,
    Lot,
    allocation_key,
    clean,
)

# ---- reserve -------------------------------------------------------------------------------


def allocate(books: Ledger, claim_id: str, owner: str, mass: Decimal, day: date) -> list[Outcome]:
    """Reserve `mass` of the owner's free credits for a claim; the same claim gets the same
    grant."""
    existing = books.allocations.get(allocation_key(owner, claim_id))
    if existing is not None and existing.status in (GRANTED, DEBITED):
        return [Granted(existing)]
    return books.atomic(lambda out: _allocate(books, claim_id, owner, mass, day, out))


def refused_for_mass(books: Ledger, claim_id: str, owner: str, mass: Decimal) -> bool:
    """Whether `allocate` would refuse this claim for want of free credits (the refusal names
    the claims holding the owner's mass, which the books must then hold)."""
    existing = books.allocations.get(allocation_key(owner, claim_id))
    if existing is not None and existing.status in (GRANTED, DEBITED):
        return False
    return round_up(mass) > free_credits(books, owner)


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


@dataclass(frozen=True)
class Profile:
    """What the CoC Documents behind a claim state, mass-weighted: the recycled share with its pre-
    and post-consumer split (each None when not known) and the carbon footprint."""

    recycled: Decimal | None = None
    pre_consumer: Decimal | None = None
    post_consumer: Decimal | None = None
    footprint: Decimal | None = None


def documented_profile(documents: list[DocumentShare], amount: Decimal) -> Profile:
    """Mass-weighted recycled share and its split (each rounded down; with the split known, the
    share is their sum) and carbon footprint (rounded up) of the documents behind a claim; None when
    part of the mass is not document-backed or a document did not state it (a claim never
    overstates either)."""
    documented = sum((d.mass_kg for d in documents), Decimal(0))
    if documented != amount or not documents:
        return Profile()

    pre = _weighted_share(documents, amount, lambda d: d.recycled_pre_consumer_share)
    post = _weighted_share(documents, amount, lambda d: d.recycled_post_consumer_share)
    if pre is not None and post is not None:
        return Profile(pre + post, pre, post, _weighted_footprint(documents, amount))
    recycled = _weighted_share(documents, amount, lambda d: d.recycled_content_share)
    return Profile(recycled, None, None, _weighted_footprint(documents, amount))


def _weighted_share(
    documents: list[DocumentShare],
    amount: Decimal,
    share: Callable[[DocumentShare], Decimal | None],
) -> Decimal | None:
    """A share weighted by the documents' mass, rounded down (at most 1); None when a document did
    not state it."""
    if any(share(d) is None for d in documents):
        return None
    total = sum(d.mass_kg * (share(d) or 0) for d in documents)
    return min(round_down(total / amount, SHARE_QUANTUM), Decimal(1))


def _weighted_footprint(documents: list[DocumentShare], amount: Decimal) -> Decimal | None:
    """The carbon footprint weighted by the documents' mass, rounded up; None when a document did
    not state it."""
    if not all(d.carbon_footprint_kg_co2e_per_kg is not None for d in documents):
        return None
    total = sum(d.mass_kg * (d.carbon_footprint_kg_co2e_per_kg or 0) for d in documents)
    footprint: Decimal = (total / amount).quantize(SHARE_QUANTUM, rounding=ROUND_CEILING)
    return footprint


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
                recycled_pre_consumer_share=lot.recycled_pre_consumer_share,
                recycled_post_consumer_share=lot.recycled_post_consumer_share,
                carbon_footprint_kg_co2e_per_kg=lot.carbon_footprint,
            )
        )
        left -= part
    _reserve_unbacked(accounts, free, reservations, left)
    profile = documented_profile(documents, amount)
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
    books.touch("allocations", allocation_key(owner, claim_id))
    allocation = Allocation(
        claim_id,
        owner,
        amount,
        GRANTED,
        reservations=reservations,
        lot_takes=takes,
        documents=documents,
        recycled_content_share=profile.recycled,
        carbon_footprint=profile.footprint,
        recycled_pre_consumer_share=profile.pre_consumer,
        recycled_post_consumer_share=profile.post_consumer,
    )
    books.allocations[allocation.key] = allocation
    out.append(Granted(allocation))


# ---- release a pending claim's reservation ---------------------------------------------------


def release(books: Ledger, claim_id: str, owner: str, day: date) -> list[Outcome]:
    """Free a pending claim's reservation; a spent (debited) allocation is never released."""
    allocation = books.allocations.get(allocation_key(owner, claim_id))
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
        books.touch("allocations", allocation.key)
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


def _reserve_unbacked(
    accounts: list[Account],
    free: dict[str, Decimal],
    reservations: dict[str, Decimal],
    left: Decimal,
) -> None:
    """What the lots did not cover is reserved from the accounts' free credits, in their order
    (`reservations` gains it)."""
    for account in accounts:
        if left <= 0:
            break
        part = min(left, free[account.account_id] - reservations.get(account.account_id, ZERO))
        if part > 0:
            reservations[account.account_id] = reservations.get(account.account_id, ZERO) + part
            left -= part
