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

from services.accounting.domain.claims_common import (
    HOLDERS_NAMED,
    Debited,
    Outcome,
    Returned,
    free_credits,
    held,
    holders,
    owner_accounts,
)
from services.accounting.domain.claims_reserve import allocate, refused_for_mass, release
from services.accounting.domain.claims_spend import debit, return_unused

__all__ = [
    "HOLDERS_NAMED",
    "Debited",
    "Outcome",
    "Returned",
    "allocate",
    "debit",
    "free_credits",
    "held",
    "holders",
    "owner_accounts",
    "refused_for_mass",
    "release",
    "return_unused",
]
