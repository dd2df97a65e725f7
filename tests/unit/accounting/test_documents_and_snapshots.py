"""The CoC Document body a designation issues (`domain/documents.py`) and the snapshots the ledger
restores from (`domain/state.py`). Written against the survivors of `make mutation
SERVICE=accounting MODULE="documents state"` (2026-12-03)."""

from __future__ import annotations

from decimal import Decimal

from services.accounting.domain.documents import UNCERTIFIED, coc_document, document_id
from services.accounting.domain.rules import DEFAULT_RULE_SET
from services.accounting.domain.state import Allocation, MovementRecord, snapshot
from tests.unit.accounting.factories import certificate, ship


def test_the_document_names_the_recipient_site_the_footprint_and_the_issuers_certificate():
    shipment = ship("300", "200").model_copy(
        update={
            "customer_site_id": "site-buyer-7",
            "carbon_footprint_kg_co2e_per_kg": Decimal("4.5"),
        }
    )
    cert = certificate()
    document = coc_document(shipment, Decimal("200"), cert, DEFAULT_RULE_SET, None)
    assert (
        document.document_id == document_id(shipment.movement_id) == f"coc-{shipment.movement_id}"
    )
    assert document.recipient_site_id == "site-buyer-7"
    assert document.carbon_footprint_kg_co2e_per_kg == Decimal("4.5")
    assert document.issuer_certificate_number == cert.certificate_number
    shadow = coc_document(shipment, Decimal("200"), None, DEFAULT_RULE_SET, None)
    assert shadow.issuer_certificate_number == UNCERTIFIED


def test_a_snapshot_does_not_change_when_the_books_go_on():
    record = MovementRecord(movement_id="m1", status="booked", effects=[])
    allocation = Allocation(
        claim_id="c1",
        owner="org",
        mass=Decimal("10"),
        status="granted",
        reservations={"a": Decimal("10")},
        lot_takes={"l": Decimal("1")},
        debit_entries={"a": "e1"},
        debit_takes={"a": Decimal("2")},
    )
    kept_record, kept_allocation = snapshot(record), snapshot(allocation)
    record.effects.append("changed")  # type: ignore[arg-type]
    allocation.reservations["b"] = Decimal("1")
    allocation.lot_takes["m"] = Decimal("1")
    allocation.documents.append("changed")  # type: ignore[arg-type]
    allocation.debit_entries["b"] = "e2"
    allocation.debit_takes["b"] = Decimal("3")
    assert kept_record.effects == []
    assert kept_allocation.reservations == {"a": Decimal("10")} and kept_allocation.lot_takes == {
        "l": Decimal("1")
    }
    assert kept_allocation.documents == [] and kept_allocation.debit_entries == {"a": "e1"}
    assert kept_allocation.debit_takes == {"a": Decimal("2")}
    assert snapshot(Decimal("1.5")) == Decimal("1.5") and snapshot("text") == "text"


def test_a_refusal_names_its_outcome_and_a_reasons_message_is_cut_at_the_contracts_limit():
    from services.accounting.domain.outcomes import Refusal, reason

    class Denied:
        pass

    denied = Denied()
    refusal = Refusal(denied)  # type: ignore[arg-type]
    assert str(refusal) == "Denied" and refusal.outcome is denied
    long = reason("too_long", "x" * 2500, "quantity_kg")
    assert len(long.message) == 2000 and long.field == "quantity_kg" and long.code == "too_long"
