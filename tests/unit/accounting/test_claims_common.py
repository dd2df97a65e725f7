"""What claims' use of the books shares (`domain/claims_common.py`): the mass a claim holds in each
state and which claims hold any. Written against the survivors of `make mutation SERVICE=accounting
MODULE=claims_common` (2026-12-03)."""

from __future__ import annotations

from decimal import Decimal

from services.accounting.domain.claims_common import free_credits, held, holders
from services.accounting.domain.state import DEBITED, GRANTED, RELEASED, Allocation
from tests.unit.accounting.factories import ORG, ledger

D = Decimal


def allocation(
    claim_id: str, status: str, mass: str, returned: str = "0", owner: str = ORG
) -> Allocation:
    return Allocation(
        claim_id=claim_id, owner=owner, mass=D(mass), status=status, returned=D(returned)
    )


def test_a_claim_holds_its_reservation_while_granted_and_what_it_did_not_return_once_debited():
    assert held(allocation("c1", GRANTED, "100")) == D("100")
    assert held(allocation("c1", DEBITED, "100", returned="30")) == D("70")
    assert held(allocation("c1", DEBITED, "100", returned="100")) == 0
    assert held(allocation("c1", RELEASED, "100")) == 0


def test_holders_are_the_owners_claims_holding_any_mass_largest_first():
    books = ledger()
    claims = [
        allocation("small", DEBITED, "10", returned="9.5"),
        allocation("big", GRANTED, "40"),
        allocation("returned", DEBITED, "10", returned="10"),
        allocation("released", RELEASED, "10"),
        allocation("theirs", GRANTED, "99", owner="someone-else"),
    ]
    books.allocations.update({a.key: a for a in claims})
    assert [a.claim_id for a in holders(books, ORG)] == ["big", "small"]


def test_an_owner_without_accounts_has_no_free_credits():
    free = free_credits(ledger(), "nobody")
    assert free == 0 and isinstance(free, Decimal)
