"""bench/growth.py: the flatness ratio and the table of a growth run (issue 20, item 6)."""

from __future__ import annotations

import math

import pytest

from bench.growth import CHAIN_TOPICS, Growth, Window, flatness_of, table


def window(number: int, events: int, seconds: float) -> Window:
    return Window(
        number=number,
        events=events,
        seconds=seconds,
        cpu_ms_per_event={"intake": 0.5, "database": 0.75},
        rss_mb={"broker": 100.0, "database": 900.0},
        records={topic: 1_000 * number for topic in CHAIN_TOPICS},
    )


def test_flatness_is_the_last_two_windows_mean_rate_over_the_first_twos():
    assert flatness_of([800, 1000, 700, 900, 450, 450]) == pytest.approx(0.5)
    assert flatness_of([500, 500, 500, 500]) == pytest.approx(1.0)
    assert flatness_of([400, 400, 500, 600]) == pytest.approx(1.375)


def test_flatness_needs_four_windows():
    assert math.isnan(flatness_of([]))
    assert math.isnan(flatness_of([1.0, 2.0, 3.0]))


def test_a_window_rate_is_its_events_over_its_seconds():
    assert window(1, 100_000, 125.0).rate == pytest.approx(800.0)
    assert math.isnan(window(1, 10, 0.0).rate)


def test_the_table_has_a_row_per_window_with_the_events_so_far_and_the_ratio():
    growth = Growth(
        "apache",
        [window(1, 100, 1.0), window(2, 100, 2.0), window(3, 100, 2.0), window(4, 50, 1.0)],
    )
    lines = table([growth], "python -m bench.growth --events 350 --window 100", ("0.1", "0.2"))
    rows = [line for line in lines if line.startswith("| ") and line[2].isdigit()]
    assert [row.split(" | ")[1] for row in rows] == ["100", "200", "300", "350"]
    assert [row.split(" | ")[2] for row in rows] == ["100", "50", "50", "50"]
    assert (
        "| 4 | 350 | 50 | 4,000 / 4,000 / 4,000 | 100 / 900 | intake 0.50, database 0.75 |" in lines
    )
    # (50 + 50) / 2 over (100 + 50) / 2
    assert any("**0.67**" in line for line in lines)


def test_an_early_stop_is_said_beside_the_ratio():
    growth = Growth(
        "tansu", [window(1, 100, 1.0)], stopped_early="stopped after 1 minutes (--max-minutes)"
    )
    lines = table([growth], "cmd", ("0", "0"))
    assert any(
        "not measured (fewer than four windows). Stopped after 1 minutes" in line for line in lines
    )
