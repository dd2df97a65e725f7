"""The audit trail: each account's entries form a SHA-256 hash chain over canonical JSON."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from contracts import signing
from contracts.ledger import LedgerEntry

GENESIS = "0" * 64


def canonical_json(model: BaseModel, *, exclude: set[str] | None = None) -> bytes:
    """Sorted keys, no whitespace, decimals as the strings the contract serialises."""
    return signing.canonical_json(model.model_dump(mode="json", exclude=exclude))


def entry_hash(entry: LedgerEntry | dict[str, Any]) -> str:
    model = entry if isinstance(entry, LedgerEntry) else LedgerEntry.model_validate(entry)
    payload = canonical_json(model, exclude={"hash"})
    return hashlib.sha256(model.previous_hash.encode() + payload).hexdigest()


@dataclass(frozen=True)
class ChainBreak:
    account_id: str
    sequence: int
    problem: str


def verify_chain(entries: Iterable[LedgerEntry]) -> list[ChainBreak]:
    """Check one account's entries, in sequence order: numbering, links and hashes."""
    breaks: list[ChainBreak] = []
    previous = GENESIS
    expected_sequence = 1
    for entry in entries:
        if entry.sequence != expected_sequence:
            breaks.append(
                ChainBreak(
                    entry.account_id, entry.sequence, f"expected sequence {expected_sequence}"
                )
            )
        if entry.previous_hash != previous:
            breaks.append(
                ChainBreak(
                    entry.account_id,
                    entry.sequence,
                    "previous_hash does not link to the prior entry",
                )
            )
        if entry_hash(entry) != entry.hash:
            breaks.append(
                ChainBreak(
                    entry.account_id, entry.sequence, "hash does not match the entry's content"
                )
            )
        previous = entry.hash
        expected_sequence = entry.sequence + 1
    return breaks
