"""`make mutation EXAMPLES=N` (tests/conftest.py, devstack/mutation.py): property tests draw at most
N examples per mutant, their pinned examples still run, and a test asking for fewer keeps its
count."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from devstack import mutation
from tests.conftest import cap_examples


def test_a_property_test_draws_at_most_the_cap_and_still_runs_its_pinned_examples():
    drawn: list[int] = []

    @settings(max_examples=200, derandomize=True, database=None)
    @given(st.integers())
    @example(10**9)
    def prop(n: int) -> None:
        drawn.append(n)

    cap_examples(prop, 7)
    prop()
    assert prop._hypothesis_internal_use_settings.max_examples == 7  # type: ignore[attr-defined]
    assert 10**9 in drawn
    assert len(drawn) <= 7 + 1


def test_a_test_asking_for_fewer_examples_keeps_its_count_and_other_settings():
    @settings(max_examples=3, deadline=None)
    @given(st.integers())
    def prop(n: int) -> None:
        pass

    cap_examples(prop, 10)
    kept = prop._hypothesis_internal_use_settings  # type: ignore[attr-defined]
    assert kept.max_examples == 3 and kept.deadline is None


def test_an_example_test_is_left_alone():
    def plain() -> None:
        pass

    cap_examples(plain, 5)
    assert not hasattr(plain, "_hypothesis_internal_use_settings")


def test_the_driver_refuses_a_negative_cap():
    with pytest.raises(SystemExit) as refused:
        mutation.main(["claims", "--examples=-1"])
    assert refused.value.code == 2
