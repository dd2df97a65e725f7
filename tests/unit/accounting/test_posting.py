"""Credits keep their age through corrections (`posting.move_credits`, `corrections`): a reversal
takes back or gives back exactly the vintages the reversed entry added or took, and undoes the
period's input by category. Survivors of `make mutation SERVICE=accounting MODULE=posting`."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from tests.unit.accounting.factories import NOW, cancel, group, ledger, receipt, ship

APRIL, MAY = date(2026, 4, 10), date(2026, 5, 1)
INGOT = "aluminium|ingot"


def layers(books) -> dict[str, Decimal]:
    return books.accounts[group()].layers


def test_cancelling_a_receipt_takes_back_its_own_vintage_not_the_oldest() -> None:
    books = ledger()
    books.apply(receipt("100", day=APRIL, document="doc-april"), NOW)
    may = receipt("30", day=MAY, document="doc-may")
    books.apply(may, NOW)
    assert layers(books) == {
        f"{INGOT}@2026-04-01": Decimal(100),
        f"{INGOT}@2026-05-01": Decimal(30),
    }
    books.apply(cancel(may.movement_id), NOW)
    assert layers(books) == {f"{INGOT}@2026-04-01": Decimal(100)}


def test_cancelling_a_designation_gives_its_credits_back_to_the_vintage_they_came_from() -> None:
    books = ledger()
    books.apply(receipt("100", day=APRIL, document="doc-april"), NOW)
    shipment = ship("30", "30", day=MAY)
    books.apply(shipment, NOW)
    assert layers(books) == {f"{INGOT}@2026-04-01": Decimal(70)}
    books.apply(cancel(shipment.movement_id), NOW)
    assert layers(books) == {f"{INGOT}@2026-04-01": Decimal(100)}


def test_a_designation_takes_the_oldest_credits_first() -> None:
    books = ledger()
    books.apply(receipt("20", day=APRIL, document="doc-april"), NOW)
    books.apply(receipt("50", day=MAY, document="doc-may"), NOW)
    books.apply(ship("30", "30", day=MAY), NOW)
    assert layers(books) == {f"{INGOT}@2026-05-01": Decimal(40)}


def test_cancelling_a_receipt_removes_its_input_from_the_period_by_category() -> None:
    books = ledger()
    books.apply(receipt("100", day=APRIL, document="doc-april"), NOW)
    may = receipt("30", day=MAY, document="doc-may")
    books.apply(may, NOW)
    assert books.accounts[group()].period.inputs_by_category == {"aluminium": Decimal(130)}
    books.apply(cancel(may.movement_id), NOW)
    assert books.accounts[group()].period.inputs_by_category == {"aluminium": Decimal(100)}
