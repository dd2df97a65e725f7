"""The nesting bound is judged on the raw bytes, before any parser, and agrees with the parser."""

from __future__ import annotations

import json

from hypothesis import example, given
from hypothesis import strategies as st

from services.gateway.domain.limits import nesting_depth, nesting_depth_exceeds

TEXT = st.text(alphabet='[]{}"\\a:,', max_size=5)
JSON = st.recursive(st.none() | st.integers() | TEXT,
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=2), max_leaves=10)


def depth_of(value: object) -> int:
    if isinstance(value, list):
        return 1 + max((depth_of(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((depth_of(v) for v in value.values()), default=0)
    return 0


@given(JSON)
@example({"a": "[[[[[[[[", "b\\\"[": ["]]]]", {"c": ["\\\\"]}]})  # brackets, quotes and backslashes in strings
def test_the_depth_read_from_the_bytes_is_the_depth_of_the_parsed_document(value):
    raw = json.dumps(value).encode()
    assert nesting_depth(raw) == depth_of(value)
    assert nesting_depth_exceeds(raw, depth_of(value)) is False
    if depth_of(value) > 0:
        assert nesting_depth_exceeds(raw, depth_of(value) - 1) is True


def test_the_attacks_of_the_report_are_refused_without_parsing():
    assert nesting_depth_exceeds(b"[" * 120_000 + b"]" * 120_000, 32)
    assert nesting_depth_exceeds(b'{"a":' * 20_000, 32)  # never closed: the parser would recurse all the same
    assert nesting_depth_exceeds(b"[" * 50_000, 32)
    assert not nesting_depth_exceeds(b"[]" * 100_000, 32)
    assert not nesting_depth_exceeds(b'"' + b"[" * 1000 + b'"', 32)
