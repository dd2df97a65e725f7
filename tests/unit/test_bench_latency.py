"""bench/latency.py: the stages of the slowest events, and the batch handling read from /metrics."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, Histogram, generate_latest

from bench.answers import pick_allocation_answer, pick_allocation_command
from bench.latency import Batches, parse_batches, slowest_hops, slowest_stages


def test_batch_handling_is_read_per_topic_from_the_exposition():
    registry = CollectorRegistry()
    seconds = Histogram("asi_batch_seconds", "", ["service", "topic"], registry=registry)
    for value in (0.010, 0.030):
        seconds.labels("accounting", "material.movements.v1").observe(value)
    seconds.labels("accounting", "certificates.events.v1").observe(1.0)
    found = parse_batches(generate_latest(registry).decode())
    assert found["material.movements.v1"].count == 2
    assert found["material.movements.v1"].mean_ms == pytest.approx(20.0)
    assert found["certificates.events.v1"] == Batches(1.0, 1.0)
    during = found["material.movements.v1"] - Batches(0.010, 1)
    assert during == Batches(pytest.approx(0.030), 1)


def test_the_stages_are_those_of_the_events_at_or_above_the_quantile():
    # 100 events: 99 quick ones (0.1 s), one slow (2 s) whose time went into accounting.
    sent = {f"e{n}": float(n) for n in range(100)}
    moved = {i: t + 0.05 for i, t in sent.items()}
    booked = {i: t + 0.08 for i, t in moved.items()}
    seen = {i: t + 0.02 for i, t in booked.items()}
    booked["e7"], seen["e7"] = moved["e7"] + 1.9, moved["e7"] + 1.95
    stages = slowest_stages(sent, moved, booked, seen)
    assert stages is not None and stages.events == 1
    assert stages.total_s == pytest.approx(2.0)
    assert stages.intake_s == pytest.approx(0.05)
    assert stages.accounting_s == pytest.approx(1.9)
    assert stages.bench_read_s == pytest.approx(0.05)
    assert stages.intake_s + stages.accounting_s + stages.bench_read_s == pytest.approx(
        stages.total_s
    )


def test_events_missing_a_stamp_are_left_out():
    sent = {"a": 0.0, "b": 0.0}
    moved = {"a": 0.1}  # b was rejected by intake: no movement
    booked = {"a": 0.2, "b": 0.3}
    seen = {"a": 0.3, "b": 5.0}
    stages = slowest_stages(sent, moved, booked, seen)
    assert stages is not None and stages.events == 1 and stages.total_s == pytest.approx(0.3)
    assert slowest_stages(sent, {}, booked, seen) is None


def test_the_hops_of_a_claims_trip_are_those_of_the_slowest_claims_in_order():
    # 200 claims through five stamps (sent, command, answer, decision, read), each hop 0.1 s;
    # claims c3 and c4 lose 0.5 s in accounting's hop (command -> answer).
    sent = {f"c{n}": float(n) for n in range(200)}
    stamps = [sent]
    for _ in range(4):
        stamps.append({i: t + 0.1 for i, t in stamps[-1].items()})
    for slow in ("c3", "c4"):
        for later in stamps[2:]:
            later[slow] += 0.5
    hops = slowest_hops(stamps)
    assert hops is not None and hops.events == 2
    assert hops.total_s == pytest.approx(0.9)
    assert hops.seconds == pytest.approx((0.1, 0.6, 0.1, 0.1))
    assert sum(hops.seconds) == pytest.approx(hops.total_s)


def test_a_claim_missing_a_stamp_is_left_out_and_none_with_every_claim_missing_one():
    sent = {"a": 0.0, "b": 0.0}
    command = {"a": 0.1, "b": 5.0}
    read = {"a": 0.2}  # b never arrived: its trip is not counted, however slow its first hop
    hops = slowest_hops([sent, command, read])
    assert hops is not None and hops.events == 1 and hops.seconds == pytest.approx((0.1, 0.1))
    assert slowest_hops([sent, command, {}]) is None
    assert slowest_hops([sent]) is None


def test_the_claims_stamps_pick_the_allocation_command_and_its_answer_by_claim():
    assert pick_allocation_command({"type": "allocate_for_claim", "claim_id": "c1"}) == (
        "c1",
        "allocate_for_claim",
    )
    assert pick_allocation_command({"type": "release_allocation", "claim_id": "c1"}) is None
    assert pick_allocation_answer({"type": "allocation_granted", "claim_id": "c1"}) == (
        "c1",
        "allocation_granted",
    )
    assert pick_allocation_answer({"type": "allocation_refused", "claim_id": "c2"}) == (
        "c2",
        "allocation_refused",
    )
    assert pick_allocation_answer({"type": "ledger_entry_posted", "movement_id": "m"}) is None
