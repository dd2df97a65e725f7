"""The gateway's copy of an account's balance, folded from `ledger.events.v1` so that any order of
arrival gives the ledger's numbers (issue 15, item 7: freeze before any entry, thaw, replays).

* The balance, period and rule set are those of the highest `sequence` seen (the ledger's
  `balance_after_kg` already sums the chain).
* Reservations are a sum of changes, so each entry counts exactly once whatever its order: an entry
  is known by its sequence, kept as a contiguous watermark (`through`) plus the few applied above it
  (`ahead`), bounded in practice because the ledger publishes an account's entries in order.
* Freeze and thaw: the one that occurred last wins, whichever arrives last.
* A record is complete from its first event: a freeze creates it with `sequence` 0, so later entries
  apply to it (the old projection stored the freeze without `sequence` and every later batch of the
  account was dead-lettered).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from contracts.ledger import LedgerEntry

Balance = dict[str, Any]


def empty(account_id: str) -> Balance:
    return {"_id": account_id, "sequence": 0, "through": 0, "ahead": [], "reserved_kg": Decimal(0), "frozen": False}


def _complete(balance: Balance) -> Balance:
    """Fills what records written by earlier versions lack (everything up to their sequence was applied)."""
    full = {**empty(balance["_id"]), **balance}
    if "through" not in balance:
        full["through"] = full["sequence"]
    return full


def with_entry(balance: Balance, entry: LedgerEntry, now: datetime) -> Balance:
    """The balance after `entry`; the same balance (unchanged) when the entry was already applied."""
    b = _complete(balance)
    s = entry.sequence
    if s <= b["through"] or s in b["ahead"]:
        return b
    b["reserved_kg"] = Decimal(b["reserved_kg"]) + entry.reserved_change_kg
    if s > b["sequence"]:
        b.update(sequence=s, balance_kg=entry.balance_after_kg, period_id=entry.period_id, site_id=entry.site_id,
                 rule_set_id=entry.rule_set_id, last_entry_kind=entry.kind.value, last_entry_hash=entry.hash)
    ahead = sorted({*b["ahead"], s})
    through = b["through"]
    while ahead and ahead[0] == through + 1:
        through = ahead.pop(0)
    b.update(through=through, ahead=ahead, updated_at=now)
    return b


def with_status(balance: Balance, *, frozen: bool, reason: str, occurred_at: datetime) -> Balance:
    """Frozen or thawed, unless a freeze or thaw that occurred later was already applied."""
    b = _complete(balance)
    last = b.get("status_at")
    if last is not None and occurred_at < last:
        return b
    b.update(frozen=frozen, frozen_reason=reason, status_at=occurred_at)
    return b
