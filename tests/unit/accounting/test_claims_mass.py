"""Claims spend mass: reservation, debit on approval, release of a pending claim, return of the unused part."""

from datetime import date
from decimal import Decimal

from contracts.ledger import EntryKind, LedgerReason
from services.accounting.domain import claims_mass
from services.accounting.domain.claims_mass import Debited, Returned
from services.accounting.domain.ledger import AllocationDenied, CommandDenied, EntryPosted, Granted, Released
from tests.unit.accounting.factories import NOW, cancel, group, ledger, receipt

GROUP = "v3-draft-group-credit"
DAY = date(2026, 6, 1)
BRAND_ACCOUNT = group("brand")


def brand_books():
    books = ledger(GROUP, org="brand")
    books.apply(receipt("300", "300", org="brand", document="doc-1", day=date(2026, 3, 1)), NOW)
    books.apply(receipt("300", "300", org="brand", document="doc-2", day=date(2026, 4, 1)), NOW)
    return books


def entries(outcomes):
    return [o.entry for o in outcomes if isinstance(o, EntryPosted)]


def refusal(outcomes):
    [denied] = [o for o in outcomes if isinstance(o, CommandDenied | AllocationDenied)]
    return [(r.code, r.field) for r in denied.reasons]


def approved(books, claim_id="claim-1", kg="400"):
    claims_mass.allocate(books, claim_id, "brand", Decimal(kg), DAY)
    return claims_mass.debit(books, claim_id, "brand", Decimal(kg), DAY)


def test_approval_spends_the_reservation_with_a_claim_debit_entry_referencing_the_claim():
    books = brand_books()
    outcomes = approved(books)
    [entry] = entries(outcomes)
    assert (entry.kind, entry.claim_id, entry.coc_credit_kg, entry.reserved_change_kg) == (
        EntryKind.CLAIM_DEBIT, "claim-1", Decimal(-400), Decimal(-400))
    account = books.accounts[BRAND_ACCOUNT]
    assert (account.balance, account.reserved, account.free) == (Decimal(200), 0, Decimal(200))
    assert isinstance(outcomes[-1], Debited) and outcomes[-1].allocation.debit_entries == {
        BRAND_ACCOUNT: str(entry.entry_id)}


def test_a_debit_is_idempotent_per_claim():
    books = brand_books()
    approved(books)
    again = claims_mass.debit(books, "claim-1", "brand", Decimal(400), DAY)
    assert [type(o) for o in again] == [Debited] and books.accounts[BRAND_ACCOUNT].balance == Decimal(200)


def test_a_debit_without_a_reservation_or_of_another_mass_is_refused_with_its_field():
    books = brand_books()
    assert refusal(claims_mass.debit(books, "claim-9", "brand", Decimal(1), DAY)) == [
        (LedgerReason.UNKNOWN_ALLOCATION, "claim_id")]
    claims_mass.allocate(books, "claim-1", "brand", Decimal(400), DAY)
    assert refusal(claims_mass.debit(books, "claim-1", "brand", Decimal(401), DAY)) == [
        (LedgerReason.DEBIT_MISMATCH, "mass_kg")]
    # A claim id is its owner's: another owner's claim-1 holds nothing, and cannot spend brand's.
    assert refusal(claims_mass.debit(books, "claim-1", "other", Decimal(400), DAY)) == [
        (LedgerReason.UNKNOWN_ALLOCATION, "claim_id")]
    assert books.accounts[BRAND_ACCOUNT].reserved == Decimal(400)


def test_two_owners_claims_of_the_same_id_hold_their_own_allocations():
    books = brand_books()
    [granted] = [o for o in claims_mass.allocate(books, "claim-1", "brand", Decimal(400), DAY) if isinstance(o, Granted)]
    other = claims_mass.allocate(books, "claim-1", "other", Decimal(50), DAY)
    [denied] = [o for o in other if isinstance(o, AllocationDenied)]
    assert (denied.owner, denied.claim_id) == ("other", "claim-1")
    assert [r.code for r in denied.reasons] == [LedgerReason.INSUFFICIENT_CREDITS]  # its own (empty) credits
    assert claims_mass.release(books, "claim-1", "other", DAY) == [Released("claim-1", "other", Decimal(0))]
    assert books.allocations["brand|claim-1"] is granted.allocation and granted.allocation.status == "granted"
    assert books.accounts[BRAND_ACCOUNT].reserved == Decimal(400)


def test_spent_mass_is_never_released_so_it_cannot_back_the_next_claim():
    books = brand_books()
    approved(books)
    assert refusal(claims_mass.release(books, "claim-1", "brand", DAY)) == [(LedgerReason.CLAIM_MASS_SPENT, "claim_id")]
    second = claims_mass.allocate(books, "claim-2", "brand", Decimal(400), DAY)
    assert refusal(second) == [(LedgerReason.INSUFFICIENT_CREDITS, "mass_kg"),
                               (LedgerReason.MASS_ALREADY_CLAIMED, "mass_kg")]
    assert second[0].held_by == ("claim-1",) and "claim claim-1 (400.000 kg spent)" in second[0].reasons[1].message


def test_a_pending_claims_reservation_is_released_and_the_mass_backs_the_next_claim():
    books = brand_books()
    claims_mass.allocate(books, "claim-1", "brand", Decimal(400), DAY)
    assert claims_mass.release(books, "claim-1", "brand", DAY)[-1] == Released("claim-1", "brand", Decimal(400))
    assert isinstance(claims_mass.allocate(books, "claim-2", "brand", Decimal(600), DAY)[-1], Granted)


def test_a_withdrawal_returns_the_unused_part_as_an_entry_referencing_the_debit():
    books = brand_books()
    [debit_entry] = entries(approved(books))
    outcomes = claims_mass.return_unused(books, "claim-1", "brand", Decimal(150), Decimal(250), DAY)
    [entry] = entries(outcomes)
    assert (entry.kind, entry.claim_id, entry.coc_credit_kg, entry.reverses_entry_id) == (
        EntryKind.CLAIM_RETURN, "claim-1", Decimal(150), debit_entry.entry_id)
    assert outcomes[-1] == Returned("claim-1", "brand", Decimal(150), Decimal(400), Decimal(250),
                                    (str(entry.entry_id),))
    assert books.accounts[BRAND_ACCOUNT].free == Decimal(350)
    # The documents come back last-in first-out: doc-2's 100 kg first, then 50 kg of doc-1.
    assert {lot.document_id: lot.allocated for lot in books.lots.values()} == {"doc-1": Decimal(250),
                                                                               "doc-2": Decimal(0)}


def test_a_return_never_exceeds_the_unused_part_and_happens_once():
    books = brand_books()
    approved(books)
    assert refusal(claims_mass.return_unused(books, "claim-1", "brand", Decimal("150.001"), Decimal(250), DAY)) == [
        (LedgerReason.RETURN_EXCEEDS_UNUSED, "mass_kg")]
    claims_mass.return_unused(books, "claim-1", "brand", Decimal(100), Decimal(250), DAY)
    assert refusal(claims_mass.return_unused(books, "claim-1", "brand", Decimal(50), Decimal(250), DAY)) == [
        (LedgerReason.RETURN_EXCEEDS_UNUSED, "claim_id")]
    assert books.accounts[BRAND_ACCOUNT].balance == Decimal(300)


def test_nothing_returns_for_a_claim_that_spent_nothing():
    books = brand_books()
    claims_mass.allocate(books, "claim-1", "brand", Decimal(400), DAY)
    assert refusal(claims_mass.return_unused(books, "claim-1", "brand", Decimal(100), Decimal(0), DAY)) == [
        (LedgerReason.ALLOCATION_NOT_DEBITED, "claim_id")]
    assert books.accounts[BRAND_ACCOUNT].balance == Decimal(600)


def test_a_receipt_whose_document_backs_a_spent_claim_cannot_be_cancelled():
    books = ledger(GROUP, org="brand")
    original = receipt("300", "300", org="brand", document="doc-1", day=date(2026, 3, 1))
    books.apply(original, NOW)
    books.apply(receipt("300", "300", org="brand", document="doc-2", day=date(2026, 4, 1)), NOW)
    approved(books, kg="100")
    [denied] = books.apply(cancel(original.movement_id, org="brand"), NOW)
    assert [r.code for r in denied.reasons] == [LedgerReason.LOT_ALLOCATED]
