"""Bounds on what a request may make the gateway parse: checked on the raw bytes, before any parser
runs, so a deeply nested document is refused with a clear reason instead of exhausting the parser's
recursion (a RecursionError, a stalled event loop, a 500). Every step runs at C speed over a body
already bounded in size: no parser, no recursion, no Python loop per byte."""

from __future__ import annotations

from array import array
from itertools import accumulate

_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def _outside_strings(raw: bytes) -> bytes:
    """The text with every JSON string removed (escaped backslashes and quotes first)."""
    return b"".join(raw.replace(b"\\\\", b"").replace(b'\\"', b"").split(b'"')[::2])


_PASSES = 4


def _depth(outside: bytes) -> int:
    brackets = outside.translate(_STEPS, _NOT_BRACKETS)
    removed = 0
    for _ in range(_PASSES):  # each pass takes away every innermost pair: one level less, far fewer bytes
        shorter = brackets.replace(b"\x01\xff", b"")
        if len(shorter) == len(brackets):
            break
        brackets, removed = shorter, removed + 1
    steps = array("b")
    steps.frombytes(brackets)
    return removed + max(accumulate(steps), default=0)


def nesting_depth(raw: bytes) -> int:
    """How deep the JSON text nests arrays and objects; brackets inside strings do not count, and an
    unclosed bracket counts as open."""
    return _depth(_outside_strings(raw))


def nesting_depth_exceeds(raw: bytes, max_depth: int) -> bool:
    if raw.count(b"[") + raw.count(b"{") <= max_depth:
        return False
    outside = _outside_strings(raw)
    if b"[" * (max_depth + 1) in outside or b"{" * (max_depth + 1) in outside:  # the usual attack, one search
        return True
    return _depth(outside) > max_depth
