"""bench/latency.py: the stages of the slowest events, and the batch handling read from /metrics."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, Histogram, generate_latest

from bench.latency import Batches, parse_batches, slowest_stages


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
    assert stages.intake_s + stages.accounting_s + stages.bench_read_s == pytest.approx(stages.total_s)


def test_events_missing_a_stamp_are_left_out():
    sent = {"a": 0.0, "b": 0.0}
    moved = {"a": 0.1}  # b was rejected by intake: no movement
    booked = {"a": 0.2, "b": 0.3}
    seen = {"a": 0.3, "b": 5.0}
    stages = slowest_stages(sent, moved, booked, seen)
    assert stages is not None and stages.events == 1 and stages.total_s == pytest.approx(0.3)
    assert slowest_stages(sent, {}, booked, seen) is None
