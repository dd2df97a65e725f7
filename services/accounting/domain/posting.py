"""Posting one entry: the only way the books change. Moves credits between products and vintages,
updates the open period's totals and appends the hash-chained `LedgerEntry` (`chain.py`)."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from contracts.ledger import EntryKind, LedgerEntry
from services.accounting.domain import periods, recycled
from services.accounting.domain.chain import entry_hash
from services.accounting.domain.rules import ZERO
from services.accounting.domain.state import Account, Effect, Period, add_to, clean

if TYPE_CHECKING:
    from services.accounting.domain.ledger import Ledger

ENTRY_NAMESPACE = uuid.UUID("0c6f7f4e-5b7a-4b7e-9d6e-3f4b2f0c9a11")


def post(
    books: Ledger,
    account: Account,
    kind: EntryKind,
    *,
    booked_on: date,
    site_id: str | None = None,
    movement_id: uuid.UUID | str | None = None,
    claim_id: str | None = None,
    reverses: str | None = None,
    buckets: dict[str, Decimal] | None = None,
    coc_input: Decimal = ZERO,
    total_input: Decimal = ZERO,
    coc_output: Decimal = ZERO,
    total_output: Decimal = ZERO,
    reserved: Decimal = ZERO,
    category: str | None = None,
    site_input: Decimal = ZERO,
    inflows: dict[str, dict[str, Decimal]] | None = None,
    note: str | None = None,
    vintage: date | None = None,
    prefer: date | None = None,
    restore: dict[str, Decimal] | None = None,
) -> tuple[LedgerEntry, Effect]:
    """Append one entry. Credits added get `vintage` (default: the month of `booked_on`), or, when
    `restore` names layers (`<product>@<vintage>`: kg, summing per product to what is added), go
    back to those vintages (credits given back keep their age); credits taken come from the
    `prefer`red vintage first, then oldest first."""
    books.touch("accounts", account.account_id)
    buckets = {k: v for k, v in (buckets or {}).items() if not v.is_zero()}
    credit = clean(sum(buckets.values(), ZERO))
    moved = move_credits(account, buckets, (vintage or booked_on).replace(day=1), prefer, restore)
    period = account.period
    account.sequence += 1
    account.balance = clean(account.balance + credit)
    account.reserved = clean(account.reserved + reserved)
    period.coc_input = clean(period.coc_input + coc_input)
    period.total_input = clean(period.total_input + total_input)
    period.coc_output = clean(period.coc_output + coc_output)
    period.total_output = clean(period.total_output + total_output)
    _add_breakdowns(period, category, total_input, site_id, site_input, inflows)
    rules = account.rules
    entry = LedgerEntry.model_construct(
        account_id=account.account_id,
        sequence=account.sequence,
        entry_id=uuid.uuid5(ENTRY_NAMESPACE, f"{account.account_id}:{account.sequence}"),
        kind=kind,
        site_id=site_id,
        movement_id=_uuid_or_none(movement_id),
        claim_id=claim_id,
        reverses_entry_id=_uuid_or_none(reverses or None),
        booked_on=booked_on,
        period_id=period.period_id,
        coc_credit_kg=credit,
        coc_input_kg=coc_input,
        total_input_kg=total_input,
        coc_output_kg=coc_output,
        total_output_kg=total_output,
        balance_after_kg=account.balance,
        reserved_change_kg=reserved,
        credit_buckets_kg=dict(sorted(buckets.items())),
        rule_set_id=rules.rule_set_id,
        rule_set_version=rules.version,
        note=note,
        previous_hash=account.last_hash,
        hash="",
    )
    entry = entry.model_copy(update={"hash": entry_hash(entry)})
    account.last_hash = entry.hash
    books.entries.append(entry)
    effect = Effect(
        account_id=account.account_id,
        entry_id=str(entry.entry_id),
        period_id=period.period_id,
        site_id=site_id or "",
        credit=credit,
        coc_input=coc_input,
        total_input=total_input,
        coc_output=coc_output,
        total_output=total_output,
        category=category,
        site_input=site_input,
        buckets=buckets,
        inflows=inflows or {},
        vintage=(moved or booked_on).isoformat() if buckets else None,
    )
    return entry, effect


def _add_breakdowns(
    period: Period,
    category: str | None,
    total_input: Decimal,
    site_id: str | None,
    site_input: Decimal,
    inflows: dict[str, dict[str, Decimal]] | None,
) -> None:
    """The period's input by category, CoC input by site and recycled flows gain the entry's."""
    if category is not None and not total_input.is_zero():
        add_to(period.inputs_by_category, category, total_input)
    if site_id is not None and not site_input.is_zero():
        add_to(period.site_coc_input, site_id, site_input)
    if inflows:
        recycled.add_flows(period.recycled, inflows, 1)


def _uuid_or_none(value: uuid.UUID | str | None) -> uuid.UUID | None:
    return uuid.UUID(str(value)) if value is not None else None


def move_credits(
    account: Account,
    buckets: dict[str, Decimal],
    vintage: date,
    prefer: date | None,
    restore: dict[str, Decimal] | None,
) -> date | None:
    """Change the account's credits by product (`buckets`, negative: taken) and by vintage: added
    credits get `vintage`, or go back to the layers `restore` names; taken credits come from the
    `prefer`red vintage first, then oldest first. Returns the vintage added, else the oldest taken
    (what a reversal gives back)."""
    added: date | None = None
    taken: date | None = None
    for key, delta in (
        sorted(buckets.items(), key=lambda kv: kv[1]) if len(buckets) > 1 else buckets.items()
    ):
        add_to(account.buckets, key, delta)
        if delta > 0 and restore is not None:
            _restore_layers(account, key, restore)
        elif delta > 0:
            added = vintage
            periods.add(account.layers, key, vintage, delta)
        else:
            first = periods.take(account.layers, key, -delta, prefer)
            if first is not None and (taken is None or first < taken):
                taken = first
    return added or taken


def _restore_layers(account: Account, key: str, restore: dict[str, Decimal]) -> None:
    """Credits given back to product `key` go back to the vintages `restore` names for it."""
    for layer, amount in restore.items():
        product, layer_vintage = periods.split_layer(layer)
        if product == key:
            periods.add(account.layers, key, layer_vintage, amount)
