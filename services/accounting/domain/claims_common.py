"""What claims' use of the books shares: what they produce (`Debited`, `Returned`), the owner's
accounts and free credits, and which claims hold its mass. The rule: `claims_mass.py`."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from services.accounting.domain.ledger import Ledger
from services.accounting.domain.outcomes import (
    AllocationDenied,
    CommandDenied,
    EntryPosted,
    Granted,
    Released,
)
from services.accounting.domain.reservations import claimable_free
from services.accounting.domain.rules import ZERO
from services.accounting.domain.state import (
    DEBITED,
    GRANTED,
    Account,
    Allocation,
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
