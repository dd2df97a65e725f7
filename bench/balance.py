"""Balance read time against the size of an account's history.

Producing 100,000 entries through the broker would take most of the bench, so the entries are made
by accounting's own domain (`Ledger.apply` of eligible-scrap receipts: real entries with a real hash
chain) and written straight into a bench database with accounting's own document shapes
(`encoding.entry_doc`, `encoding.account_doc`). The read timed is the one the service's CLI runs:
`services.accounting.cli.balance` against that database.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from bench.support import percentile
from contracts.common import Actor, Classification, MaterialCategory, Role
from contracts.movements import MaterialReceivedRecorded, Verification
from libs.mongo import database, mongo_client
from services.accounting import cli
from services.accounting.adapters import encoding
from services.accounting.config import Settings
from services.accounting.domain.ledger import Account, Ledger

CHUNK = 5_000


def _receipts(
    organisation: str, site: str, first: int, count: int, now: datetime
) -> list[MaterialReceivedRecorded]:
    actor = Actor(organisation_id="intake", role=Role.SERVICE)
    day = now.date() - timedelta(days=1)
    return [
        MaterialReceivedRecorded.create(
            actor=actor,
            occurred_at=now,
            movement_id=uuid.uuid4(),
            site_id=site,
            organisation_id=organisation,
            received_on=day,
            supplier_organisation_id="uk-ubc-collectors",
            material_category=MaterialCategory.POST_CONSUMER_SCRAP,
            product_form="ubc-bales",
            quantity_kg=Decimal(22500) + (first + n) % 7,
            classification=Classification.ELIGIBLE_SCRAP,
            coc_quantity_kg=Decimal(22500) + (first + n) % 7,
            verification=Verification.NOT_APPLICABLE,
            due_diligence_reference=f"dd-{first + n}",
            due_diligence_status="passed",
            recycled_content_share=Decimal(1),
        )
        for n in range(count)
    ]


async def _fill(db: Any, organisation: str, entries: int) -> str:
    """Book `entries` receipts on one account and write entries and balance as the service does."""
    now = datetime.now(UTC)
    site = f"{organisation}-site"
    account: Account | None = None
    pending: asyncio.Task[Any] | None = None
    for first in range(0, entries, CHUNK):
        ledger = Ledger(accounts=[account] if account else [], check_certificates=False)
        for receipt in _receipts(organisation, site, first, min(CHUNK, entries - first), now):
            ledger.apply(receipt, now)
        account = next(iter(ledger.accounts.values()))
        docs = [encoding.entry_doc(e) for e in ledger.entries]
        if pending:
            await pending
        pending = asyncio.create_task(db["entries"].insert_many(docs, ordered=False))
    if pending:
        await pending
    assert account is not None and account.sequence == entries
    await db["accounts"].insert_one(encoding.account_doc(account, 1))
    return account.account_id


async def balance_read_times(
    mongodb_uri: str, sizes: tuple[int, ...], reads: int = 300
) -> dict[int, dict[str, float]]:
    """p50/p99 in milliseconds of the CLI's balance read, per account history size."""
    name = f"bench_balance_{uuid.uuid4().hex[:6]}"
    client = mongo_client(mongodb_uri, "bench-balance")
    db = database(client, name)
    try:
        accounts = {size: await _fill(db, f"bench-balance-{size}", size) for size in sizes}
        entries = {
            size: await db["entries"].count_documents(encoding.entries_filter(account))
            for size, account in accounts.items()
        }
        timings = await asyncio.to_thread(_time_reads, mongodb_uri, name, accounts, reads)
        return {
            size: {
                "p50_ms": percentile(t, 0.5) * 1000,
                "p99_ms": percentile(t, 0.99) * 1000,
                "entries": entries[size],
            }
            for size, t in timings.items()
        }
    finally:
        await client.drop_database(name)
        await client.close()


def _time_reads(
    mongodb_uri: str, name: str, accounts: dict[int, str], reads: int
) -> dict[int, list[float]]:
    db = cli._database(Settings(mongodb_uri=mongodb_uri, database=name))
    timings: dict[int, list[float]] = {size: [] for size in accounts}
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink):
        for round_ in range(reads + 20):  # interleaved, the first 20 rounds warm up
            for size, account_id in accounts.items():
                started = time.perf_counter()
                assert cli.balance(db, account_id) == 0
                if round_ >= 20:
                    timings[size].append(time.perf_counter() - started)
            sink.seek(0)
            sink.truncate()
    db.client.close()
    return timings
