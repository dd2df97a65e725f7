"""Usage and reconciliation (issue 18 item 6, `domain/reconciliation.py`)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from services.gateway.domain import reconciliation

START, END = date(2026, 1, 1), date(2026, 12, 31)


def claim(claim_id, owner, status="approved", approved=None, used=None, returned=None, at="2026-06-01",
          units=0):
    mass = {}
    if approved is not None:
        mass = {"approved_kg": approved, "used_kg": used, "used_units": units, "returned_kg": returned}
    return {"_id": claim_id, "claimant_organisation_id": owner, "status": status, "mass": mass,
            "approved_at": datetime.fromisoformat(at).replace(tzinfo=UTC) if at else None}


def test_an_approved_claim_shows_approved_against_used():
    mass = reconciliation.claim_mass(claim("c1", "brand", approved="600", used="130", units=10000))
    assert mass.view() == {"approved_kg": "600", "used_kg": "130", "used_units": 10000, "unused_kg": "470",
                           "returned_kg": "0"}


def test_before_any_usage_report_nothing_is_used_and_a_claim_never_approved_shows_nothing():
    assert reconciliation.claim_mass(claim("c1", "brand", approved="600")).view()["unused_kg"] == "600"
    assert reconciliation.claim_mass(claim("c2", "brand", status="rejected")) is None
    assert reconciliation.claim_mass(claim("c3", "brand", status="pending")) is None


def test_a_withdrawn_claim_keeps_its_used_mass_spent_and_returns_the_rest():
    mass = reconciliation.claim_mass(claim("c1", "brand", status="withdrawn", approved="600", used="130",
                                           returned="470"))
    assert (mass.claimed_kg, mass.unused_kg) == (Decimal(130), Decimal(0))


def test_per_owner_received_claimed_used_and_left_for_the_period():
    claims = [
        claim("c1", "brand", approved="600", used="130"),
        claim("c2", "brand", status="withdrawn", approved="200", used="50", returned="150"),
        claim("c3", "brand", approved="999", at="2025-12-31"),  # approved before the period
        claim("c4", "brand", status="rejected"),
        claim("c5", "other", approved="100"),
    ]
    receipts = [("brand", Decimal(1000), date(2026, 5, 1)), ("brand", Decimal(-100), date(2026, 5, 2)),
                ("brand", Decimal(700), date(2025, 12, 1)), ("producer", Decimal(5000), date(2026, 5, 1))]
    rows = {r.organisation_id: r.view() for r in reconciliation.reconcile(START, END, receipts, claims)}
    assert rows["brand"] == {"organisation_id": "brand", "received_kg": "900", "claimed_kg": "650",
                             "used_kg": "180", "unused_kg": "470", "left_kg": "250", "claim_ids": ["c1", "c2"]}
    assert rows["other"]["received_kg"] == "0" and rows["other"]["left_kg"] == "-100"
    assert "producer" not in rows  # brand owners are the claimants


def test_the_approval_day_falls_back_to_the_last_decision():
    doc = {"decided_at": "2026-03-04T10:00:00+00:00"}
    assert reconciliation.approved_on(doc) == date(2026, 3, 4)


# ---- both sides of the period's first and last day (issue 24) ----

def test_claims_and_receipts_on_the_periods_first_and_last_day_count_and_the_days_outside_do_not():
    claims = [
        claim("c-first", "brand", approved="1", at="2026-01-01"),
        claim("c-last", "brand", approved="2", at="2026-12-31"),
        claim("c-before", "brand", approved="4", at="2025-12-31"),
        claim("c-after", "brand", approved="8", at="2027-01-01"),
        {**claim("key-1", "brand", approved="16", at="2026-06-01"), "claim_id": "own-1"},
        {"_id": "no-owner", "status": "approved", "mass": {"approved_kg": "32"}},
        claim("c-next", "brand", approved="64", at="2026-06-02"),  # after a claim without owner: still counted
    ]
    receipts = [("brand", Decimal(1), date(2026, 1, 1)), ("brand", Decimal(2), date(2026, 12, 31)),
                ("brand", Decimal(4), date(2025, 12, 31)), ("brand", Decimal(8), date(2027, 1, 1))]
    [row] = reconciliation.reconcile(START, END, receipts, claims)
    assert (row.received_kg, row.claimed_kg) == (Decimal(3), Decimal(83))
    assert row.claim_ids == ["c-first", "c-last", "own-1", "c-next"]


def test_a_claim_without_a_usage_report_has_used_no_units_and_one_not_approved_has_no_mass():
    assert reconciliation.claim_mass(claim("c1", "brand", approved="600")).used_units == 0
    assert reconciliation.claim_mass({"status": "pending", "mass": {"approved_kg": "600"}}) is None
    assert reconciliation.approved_on({"approved_at": "2026-03-04T23:00:00+00:00"}) == date(2026, 3, 4)
