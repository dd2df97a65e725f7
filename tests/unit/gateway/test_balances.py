"""The gateway's balance projection gives the ledger's numbers whatever order the ledger's events
arrive in: entries reordered and repeated, freezes and thaws before, between and after them."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from hypothesis import example, given
from hypothesis import strategies as st

from contracts.ledger import EntryKind, LedgerEntry
from services.gateway.domain import balances

NOW = datetime(2026, 5, 1, tzinfo=UTC)


def entry(sequence: int, balance: str, reserved: str = "0") -> LedgerEntry:
    return LedgerEntry(
        account_id="site:s1", sequence=sequence, entry_id=uuid.uuid4(), kind=EntryKind.RECEIPT_CREDIT,
        booked_on=date(2026, 5, 1), period_id="2026-Q2", coc_credit_kg=Decimal(1), coc_input_kg=Decimal(1),
        total_input_kg=Decimal(1), coc_output_kg=Decimal(0), total_output_kg=Decimal(0),
        balance_after_kg=Decimal(balance), reserved_change_kg=Decimal(reserved), rule_set_id="v2",
        rule_set_version="1", previous_hash="0" * 64, hash=f"{sequence:064x}")


def test_a_freeze_before_any_entry_leaves_a_record_later_entries_apply_to():
    frozen = balances.with_status(balances.empty("site:s1"), frozen=True, reason="suspended", occurred_at=NOW)
    assert frozen["sequence"] == 0 and frozen["frozen"] is True
    after = balances.with_entry(frozen, entry(1, "10.5"), NOW)
    assert after["sequence"] == 1 and after["balance_kg"] == Decimal("10.5") and after["frozen"] is True


def test_a_record_written_by_the_old_projection_without_a_sequence_still_takes_entries():
    old_freeze = {"_id": "site:s1", "frozen": True, "frozen_reason": "suspended"}
    assert balances.with_entry(old_freeze, entry(1, "3"), NOW)["balance_kg"] == Decimal("3")
    old_balance = {"_id": "site:s1", "sequence": 4, "balance_kg": Decimal("9"), "reserved_kg": Decimal("2")}
    assert balances.with_entry(old_balance, entry(4, "1", "5"), NOW)["reserved_kg"] == Decimal("2")  # applied before
    assert balances.with_entry(old_balance, entry(5, "1", "5"), NOW)["reserved_kg"] == Decimal("7")


CHAIN = [entry(1, "10", "0"), entry(2, "7", "3"), entry(3, "12", "-1.5"), entry(4, "4.25", "0.125")]
STATUS = [(True, NOW + timedelta(minutes=1)), (False, NOW + timedelta(minutes=2)), (True, NOW + timedelta(minutes=3))]


@st.composite
def arrivals(draw: st.DrawFn) -> list[tuple[str, int]]:
    events = [("entry", i) for i in range(len(CHAIN))] + [("status", i) for i in range(draw(st.integers(0, len(STATUS))))]
    repeated = draw(st.lists(st.sampled_from(events), max_size=6)) if events else []
    return draw(st.permutations(events + repeated))


@given(arrivals())
@example([("status", 0), ("entry", 0), ("entry", 1), ("entry", 2), ("entry", 3)])  # freeze first (the reported bug)
@example([("entry", 3), ("entry", 0), ("entry", 2), ("entry", 1), ("entry", 3), ("entry", 1)])  # late and repeated
@example([("status", 1), ("status", 0), ("entry", 0), ("entry", 1), ("entry", 2), ("entry", 3)])  # thaw before freeze
def test_any_order_of_arrival_with_replays_gives_the_ledgers_balance(order):
    balance = balances.empty("site:s1")
    for kind, i in order:
        if kind == "entry":
            balance = balances.with_entry(balance, CHAIN[i], NOW)
        else:
            frozen, at = STATUS[i]
            balance = balances.with_status(balance, frozen=frozen, reason="r", occurred_at=at)
    assert balance["sequence"] == 4 and balance["balance_kg"] == Decimal("4.25")
    assert balance["reserved_kg"] == sum((e.reserved_change_kg for e in CHAIN), Decimal(0))
    assert balance["through"] == 4 and balance["ahead"] == []
    statuses = [STATUS[i] for kind, i in order if kind == "status"]
    if statuses:
        assert balance["frozen"] is max(statuses, key=lambda s: s[1])[0]
    else:
        assert balance["frozen"] is False


# ---- what a balance record keeps (issue 24): every field of the last entry, the status's reason ----


def test_an_empty_record_has_the_fields_every_later_event_reads():
    assert balances.empty("site:s1") == {
        "_id": "site:s1", "sequence": 0, "through": 0, "ahead": [], "reserved_kg": Decimal(0), "frozen": False}


def test_the_record_keeps_what_the_highest_entry_says_and_when_it_was_folded_in():
    later = NOW + timedelta(hours=1)
    b = balances.with_entry(balances.with_entry(balances.empty("site:s1"), entry(2, "7"), NOW), entry(1, "10"), later)
    assert {k: b[k] for k in ("sequence", "balance_kg", "period_id", "site_id", "rule_set_id", "last_entry_kind",
                              "last_entry_hash", "through", "ahead", "updated_at")} == {
        "sequence": 2, "balance_kg": Decimal(7), "period_id": "2026-Q2", "site_id": None, "rule_set_id": "v2",
        "last_entry_kind": "receipt_credit", "last_entry_hash": f"{2:064x}", "through": 2, "ahead": [],
        "updated_at": later}
    on_site = entry(3, "5").model_copy(update={"site_id": "s1"})
    assert balances.with_entry(b, on_site, later)["site_id"] == "s1"


def test_a_freeze_keeps_its_reason_and_of_two_at_the_same_instant_the_one_applied_last_stands():
    frozen = balances.with_status(balances.empty("site:s1"), frozen=True, reason="suspended", occurred_at=NOW)
    assert (frozen["frozen"], frozen["frozen_reason"], frozen["status_at"]) == (True, "suspended", NOW)
    thawed = balances.with_status(frozen, frozen=False, reason="reinstated", occurred_at=NOW)
    assert (thawed["frozen"], thawed["frozen_reason"]) == (False, "reinstated")
    earlier = balances.with_status(thawed, frozen=True, reason="late", occurred_at=NOW - timedelta(seconds=1))
    assert (earlier["frozen"], earlier["frozen_reason"]) == (False, "reinstated")
