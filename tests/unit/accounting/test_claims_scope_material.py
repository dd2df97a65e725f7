"""Claims spend mass on the scope accounts of credits that carry their material: a claim draws the
claimant's aluminium credits, what it reserves is never designated, converted, expired, forfeited or
reversed away, a debit takes the oldest credits and a return gives back the very vintages it took."""

from datetime import date
from decimal import Decimal

from contracts.common import MaterialCategory as Cat
from contracts.common import ProcessStep
from contracts.ledger import EntryKind, LedgerReason
from services.accounting.domain import claims_mass
from services.accounting.domain.ledger import (
    AllocationDenied,
    DesignationDenied,
    DocumentDue,
    EntryPosted,
    Granted,
    MovementDenied,
)
from tests.unit.accounting.factories import (
    NOW,
    cancel,
    certificate,
    group,
    ledger,
    ps_certificate,
    receipt,
    ship,
    transform,
)

GROUP, V2 = "v3-draft-group-credit", "v2-2022-group-percentage"
ORG = "org-smelter"
DAY = date(2026, 6, 1)


def refused(outcomes) -> list[str]:
    return [r.code for o in outcomes if isinstance(o, AllocationDenied | DesignationDenied | MovementDenied)
            for r in o.reasons]


def test_a_claim_draws_only_aluminium_credits_and_only_aluminium_documents():
    books = ledger(GROUP)
    books.apply(receipt("1000", "1000", category=Cat.ALUMINA, form="powder", document="doc-alumina",
                        day=date(2026, 3, 1)), NOW)
    books.apply(receipt("100", "100", document="doc-ingot", day=date(2026, 4, 1)), NOW)
    assert refused(claims_mass.allocate(books, "claim-1", ORG, Decimal(101), DAY)) == [
        LedgerReason.INSUFFICIENT_CREDITS]
    [granted] = [o for o in claims_mass.allocate(books, "claim-1", ORG, Decimal(100), DAY) if isinstance(o, Granted)]
    assert [d.document_id for d in granted.allocation.documents] == ["doc-ingot"]


def test_reserved_aluminium_is_never_designated_even_with_other_materials_in_the_pool():
    books = ledger(GROUP)
    books.apply(receipt("300", "300", day=date(2026, 3, 1)), NOW)
    books.apply(receipt("1000", "1000", category=Cat.ALUMINA, form="powder", day=date(2026, 3, 2)), NOW)
    claims_mass.allocate(books, "claim-1", ORG, Decimal(200), DAY)
    assert refused(books.apply(ship("101", "101", day=DAY), NOW)) == [LedgerReason.INSUFFICIENT_CREDITS]
    assert any(isinstance(o, DocumentDue) for o in books.apply(ship("100", "100", day=DAY), NOW))
    debit = claims_mass.debit(books, "claim-1", ORG, Decimal(200), DAY)
    assert [e.entry.coc_credit_kg for e in debit if isinstance(e, EntryPosted)] == [Decimal(-200)]
    assert books.accounts[group()].buckets == {"alumina|powder": Decimal(1000)}


def test_a_percentage_pool_never_designates_reserved_aluminium():
    books = ledger(V2)
    books.apply(receipt("300", "300", day=date(2026, 3, 1)), NOW)
    claims_mass.allocate(books, "claim-1", ORG, Decimal(250), DAY)
    assert LedgerReason.INSUFFICIENT_CREDITS in refused(books.apply(ship("300", "51", day=DAY), NOW))


def test_a_conversion_never_consumes_reserved_aluminium():
    books = ledger(GROUP)
    books.apply(receipt("300", "300", day=date(2026, 3, 1)), NOW)
    books.apply(receipt("1000", "1000", category=Cat.ALUMINA, form="powder", day=date(2026, 3, 2)), NOW)
    claims_mass.allocate(books, "claim-1", ORG, Decimal(200), DAY)
    books.apply(transform([(Cat.ALUMINIUM, "ingot", "300")], [(Cat.ALUMINIUM, "sheet", "150")], "0.5",
                          step=ProcessStep.ROLLING, day=DAY), NOW)
    account = books.accounts[group()]
    # only the 100 kg not reserved were converted (to 50 kg of sheet): 250 kg of aluminium credits left
    assert account.buckets == {"alumina|powder": Decimal(1000), "aluminium|ingot": Decimal(200),
                               "aluminium|sheet": Decimal(50)}
    assert claims_mass.debit(books, "claim-1", ORG, Decimal(200), DAY)[-1].allocation.status == "debited"


def test_a_receipt_reversal_may_not_take_reserved_aluminium():
    books = ledger(GROUP)
    first = receipt("300", "300", document=None, day=date(2026, 3, 1))
    books.apply(first, NOW)
    books.apply(receipt("500", "500", category=Cat.ALUMINA, form="powder", day=date(2026, 3, 2)), NOW)
    claims_mass.allocate(books, "claim-1", ORG, Decimal(100), DAY)
    assert refused(books.apply(cancel(first.movement_id), NOW)) == [LedgerReason.REVERSAL_WOULD_OVERDRAW]
    assert books.accounts[group()].reserved == Decimal(100)


def test_reserved_credits_outlive_their_lifetime_and_the_debit_takes_the_oldest():
    books = ledger(GROUP)
    books.apply(receipt("300", "300", day=date(2025, 3, 10)), NOW)
    books.apply(receipt("50", "50", day=date(2025, 9, 10)), NOW)
    claims_mass.allocate(books, "claim-1", ORG, Decimal(100), date(2025, 4, 1))
    books.apply(receipt("10", "0", day=date(2026, 3, 2)), NOW)  # March 2025 credits have lived 12 months
    account = books.accounts[group()]
    assert account.layers == {"aluminium|ingot@2025-03-01": Decimal(100), "aluminium|ingot@2025-09-01": Decimal(50)}
    claims_mass.debit(books, "claim-1", ORG, Decimal(100), date(2026, 3, 3))
    assert account.layers == {"aluminium|ingot@2025-09-01": Decimal(50)}


def test_a_return_gives_back_the_vintages_the_debit_took_so_returned_credits_are_no_younger():
    books = ledger(GROUP)
    books.apply(receipt("100", "100", day=date(2025, 11, 10)), NOW)
    books.apply(receipt("100", "100", day=date(2026, 2, 10)), NOW)
    claims_mass.allocate(books, "claim-1", ORG, Decimal(150), DAY)
    claims_mass.debit(books, "claim-1", ORG, Decimal(150), DAY)
    assert books.accounts[group()].layers == {"aluminium|ingot@2026-02-01": Decimal(50)}
    back = claims_mass.return_unused(books, "claim-1", ORG, Decimal(120), Decimal(30), DAY)
    [entry] = [o.entry for o in back if isinstance(o, EntryPosted)]
    assert entry.kind is EntryKind.CLAIM_RETURN and entry.coc_credit_kg == Decimal(120)
    assert books.accounts[group()].layers == {"aluminium|ingot@2025-11-01": Decimal(70),
                                             "aluminium|ingot@2026-02-01": Decimal(100)}
    # the November 2025 credits returned still expire after their 12 months
    books.apply(receipt("10", "0", day=date(2026, 11, 2)), NOW)
    assert books.accounts[group()].layers == {"aluminium|ingot@2026-02-01": Decimal(100)}


def test_a_claim_over_two_scopes_holds_debits_and_returns_in_each_and_credits_never_cross():
    books = ledger(GROUP)
    books.certificates["cert-2"] = certificate(certificate_id="cert-2", sites=("site-c",))
    books.certificates["ps-2"] = ps_certificate(certificate_id="ps-2", sites=("site-c",))
    books.apply(receipt("100", "100", site="site-a", day=date(2026, 3, 1)), NOW)
    books.apply(receipt("100", "100", site="site-c", day=date(2026, 3, 2)), NOW)
    claims_mass.allocate(books, "claim-1", ORG, Decimal(150), DAY)
    debited = claims_mass.debit(books, "claim-1", ORG, Decimal(150), DAY)[-1].allocation
    assert debited.reservations == {group(): Decimal(100), group(scope="cert-2"): Decimal(50)}
    claims_mass.return_unused(books, "claim-1", ORG, Decimal(150), Decimal(0), DAY)
    assert {k: a.balance for k, a in books.accounts.items()} == {group(): Decimal(100),
                                                                 group(scope="cert-2"): Decimal(100)}
    assert {k: a.buckets for k, a in books.accounts.items()} == {group(): {"aluminium|ingot": Decimal(100)},
                                                                 group(scope="cert-2"): {"aluminium|ingot": Decimal(100)}}
