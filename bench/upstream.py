"""The upstream of a CoC Document five levels deep with 40 suppliers per level (issue 21 item 4):
how long the gateway takes to answer it from its stored per account-period summaries.

The chain: one can maker's account received from 40 suppliers; each of those 40 accounts received
from the same 40 suppliers of the level above, and so on for five levels; the last level's 40
accounts are mines (an origin entry each). Every receipt cites a CoC Document its supplier issued
and drew from its own account. That is 6,440 input entries, 6,400 receipts and 6,401 documents.
They are written by the gateway's own handlers (`handle_ledger_events`, `handle_movements`) from
contract messages, so the read model has exactly the shapes the consumers write. The read timed is
the route's: `services.gateway.upstream.compute` and the holder's `view`, without HTTP.

`make bench` runs it as its last phase (50 reads). `python -m bench.upstream --reads 50` runs it
alone on the embedded stack (or `MONGODB_URI`) and prints, for reads after 10 warm-up reads (what
the gateway kept from earlier reads used) and for as many reads as a first read (nothing kept), the
wall times, the gateway process's own CPU per read and the database process's (the embedded stack's),
and the machine's load average. Measured 2026-12-03 on 2 shared cores at a load of 3.6 to 4.8: p50
100 to 138 ms, p99 146 to 248 ms, the gateway's CPU 29 to 32 ms and the database's 40 to 44 ms a read;
as a first read p50 164 to 219 ms, p99 214 to 638 ms, the gateway's CPU 70 to 86 ms (`main` before,
with this bench: p50 247 to 289 ms, p99 341 to 508 ms, the gateway's CPU 91 to 142 ms). services/gateway/README.md,
"Speed", has the runs and what is left.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import os
import time
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from bench.support import percentile
from contracts.common import Actor, Classification, MaterialCategory, Role
from contracts.ledger import (
    CoCDocument,
    CoCDocumentIssued,
    EntryKind,
    LedgerEntry,
    LedgerEntryPosted,
)
from contracts.movements import MaterialReceivedRecorded, Verification
from libs.messaging import Incoming, Tx
from libs.mongo import database, mongo_client
from services.gateway import handlers, upstream
from services.gateway.adapters import store
from services.gateway.domain.access import Principal

LEVELS = 5
SUPPLIERS = 40
PERIOD = "2026"
DAY = date(2026, 5, 1)
ACTOR = Actor(organisation_id="accounting", role=Role.SERVICE)


class _Chain:
    def __init__(self) -> None:
        self.sequences: dict[str, int] = {}
        self.ledger: list[Any] = []
        self.movements: list[Any] = []

    def entry(
        self, account: str, kind: EntryKind, movement_id: uuid.UUID, coc: Decimal, total: Decimal
    ) -> None:
        sequence = self.sequences[account] = self.sequences.get(account, 0) + 1
        inputs = kind is not EntryKind.DESIGNATION_DEBIT
        self.ledger.append(
            LedgerEntryPosted.create(
                actor=ACTOR,
                occurred_at=datetime.now(UTC),
                entry=LedgerEntry(
                    account_id=account,
                    sequence=sequence,
                    entry_id=uuid.uuid4(),
                    kind=kind,
                    site_id=account[5:],
                    movement_id=movement_id,
                    booked_on=DAY,
                    period_id=PERIOD,
                    coc_credit_kg=coc if inputs else -coc,
                    coc_input_kg=coc if inputs else Decimal(0),
                    total_input_kg=total if inputs else Decimal(0),
                    coc_output_kg=Decimal(0) if inputs else coc,
                    total_output_kg=Decimal(0) if inputs else total,
                    balance_after_kg=Decimal(0),
                    credit_buckets_kg={"aluminium|ingot": coc if inputs else -coc},
                    rule_set_id="v3-draft-site-credit",
                    rule_set_version="1",
                    previous_hash="0" * 64,
                    hash=hashlib.sha256(f"{account}{sequence}".encode()).hexdigest(),
                ),
            )
        )

    def shipment(self, supplier: str, customer: str, mass: Decimal) -> str:
        """The supplier designates and issues a document; the customer receives against it."""
        shipped, received = uuid.uuid4(), uuid.uuid4()
        document_id = f"doc-{shipped.hex[:16]}"
        self.entry(f"site:{supplier}", EntryKind.DESIGNATION_DEBIT, shipped, mass, mass)
        self.ledger.append(
            CoCDocumentIssued.create(
                actor=ACTOR,
                occurred_at=datetime.now(UTC),
                account_id=f"site:{supplier}",
                signature="x.y.z",
                key_id="bench",
                document=CoCDocument(
                    document_id=document_id,
                    issuer_organisation_id=supplier,
                    issuer_site_id=supplier,
                    issuer_certificate_number=f"ASI-{supplier}",
                    recipient_organisation_id=customer,
                    recipient_site_id=customer,
                    issued_on=DAY,
                    shipment_reference=f"DN-{shipped.hex[:8]}",
                    movement_id=shipped,
                    material_category=MaterialCategory.ALUMINIUM,
                    product_form="ingot",
                    coc_mass_kg=mass,
                    rule_set_id="v3-draft-site-credit",
                    rule_set_version="1",
                ),
            )
        )
        self.entry(f"site:{customer}", EntryKind.RECEIPT_CREDIT, received, mass, mass + 1000)
        self.movements.append(
            MaterialReceivedRecorded.create(
                actor=Actor(organisation_id="intake", role=Role.SERVICE),
                occurred_at=datetime.now(UTC),
                movement_id=received,
                site_id=customer,
                organisation_id=customer,
                received_on=DAY,
                supplier_organisation_id=supplier,
                supplier_site_id=supplier,
                material_category=MaterialCategory.ALUMINIUM,
                product_form="ingot",
                quantity_kg=mass + 1000,
                classification=Classification.COC_MATERIAL,
                coc_quantity_kg=mass,
                coc_document_id=document_id,
                verification=Verification.VERIFIED,
            )
        )
        return document_id


def chain(levels: int = LEVELS, suppliers: int = SUPPLIERS, prefix: str = "") -> tuple[_Chain, str]:
    """The messages of the chain, and the can maker's document (to the brand) whose upstream is read."""
    c = _Chain()
    names = [[f"{prefix}cans"]] + [
        [f"{prefix}l{k}s{i}" for i in range(suppliers)] for k in range(1, levels + 1)
    ]
    for k in range(levels):
        for customer in names[k]:
            for n, supplier in enumerate(names[k + 1]):
                c.shipment(supplier, customer, Decimal(20000 + 1000 * n))
    for mine in names[levels]:
        c.entry(
            f"site:{mine}", EntryKind.TRANSFORMATION, uuid.uuid4(), Decimal(900000), Decimal(900000)
        )
    top = c.shipment(f"{prefix}cans", f"{prefix}brand", Decimal(60000))
    return c, top


async def _write(db: Any, client: Any, messages: list[Any], handler: Any) -> None:
    for first in range(0, len(messages), 500):
        async with client.start_session() as session:
            batch = [Incoming(m, None) for m in messages[first : first + 500]]  # type: ignore[arg-type]
            await handler(batch, Tx(db, session, datetime.now(UTC)))


class _Clock:
    """Wall time, this process's CPU time and the database process's (`db_pid`, where known) of one read, in ms."""

    def __init__(self, db_pid: int | None) -> None:
        self.db_pid = db_pid
        self.started = (time.perf_counter(), time.process_time(), _cpu_of(db_pid))
        self.wall = 0.0

    def stop(self) -> tuple[float, float, float]:
        wall, cpu, db = time.perf_counter(), time.process_time(), _cpu_of(self.db_pid)
        self.wall = (wall - self.started[0]) * 1000
        return self.wall, (cpu - self.started[1]) * 1000, (db - self.started[2]) * 1000


def _cpu_of(pid: int | None) -> float:
    """A process's user + system CPU time in seconds (Linux /proc; 0 where unknown)."""
    if pid is None:
        return 0.0
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def upstream_read_times(
    mongodb_uri: str,
    reads: int = 200,
    levels: int = LEVELS,
    suppliers: int = SUPPLIERS,
    db_pid: int | None = None,
) -> dict[str, float]:
    """p50/p99/max in milliseconds of the upstream of a document `levels` deep with `suppliers` per level:
    `reads` reads after 10 warm-up reads (the digests and levels kept from the reads before,
    `services.gateway.upstream.DIGESTS` and `LEVELS`), then `reads` reads each as the first (none kept)."""
    name = f"bench_upstream_{uuid.uuid4().hex[:6]}"
    client = mongo_client(mongodb_uri, "bench-upstream")
    db = database(client, name)
    try:
        await store.ensure_indexes(db)
        c, top = chain(levels, suppliers)
        await _write(db, client, c.ledger, handlers.handle_ledger_events)
        await _write(db, client, c.movements, handlers.handle_movements)
        del c  # the gateway answering does not hold the 19,000 messages that built its read model
        gc.collect()
        gc.freeze()  # as the gateway's process does after start-up (services/gateway/__main__.py)
        record = await db[store.DOCUMENTS].find_one({"_id": top})
        assert record is not None
        caller = Principal("cans", Role.PRODUCER, "bench")
        upstream.forget()
        first = _Clock(db_pid)
        answer = upstream.view(await upstream.compute(db, record), caller)
        first.stop()
        assert len(answer["levels"]) == levels + 1, len(answer["levels"])  # + the mines' extraction
        assert all(level["shares_add_up_to"] == "1.000000" for level in answer["levels"])
        load = os.getloadavg()[0]
        warm, cold = [], []
        for round_ in range(reads + min(10, reads)):  # the first reads warm up
            clock = _Clock(db_pid)
            upstream.view(await upstream.compute(db, record), caller)
            if round_ >= min(10, reads):
                warm.append(clock.stop())
        # As the first read of a document: no digest kept from an earlier read.
        for _ in range(reads):
            upstream.forget()
            clock = _Clock(db_pid)
            upstream.view(await upstream.compute(db, record), caller)
            cold.append(clock.stop())
        return {
            "p50_ms": percentile([w for w, _, _ in warm], 0.5),
            "p99_ms": percentile([w for w, _, _ in warm], 0.99),
            "max_ms": max(w for w, _, _ in warm),
            # The gateway process's own CPU per read, and the database process's (where its pid is
            # known: the embedded stack's), and the machine's load while reading: on a shared machine
            # the wall times grow with the load.
            "cpu_p50_ms": percentile([c for _, c, _ in warm], 0.5),
            "db_cpu_ms": sum(d for _, _, d in warm) / len(warm),
            "cold_p50_ms": percentile([w for w, _, _ in cold], 0.5),
            "cold_p99_ms": percentile([w for w, _, _ in cold], 0.99),
            "cold_cpu_p50_ms": percentile([c for _, c, _ in cold], 0.5),
            "cold_db_cpu_ms": sum(d for _, _, d in cold) / len(cold),
            "first_ms": first.wall,
            "load_before": load,
            "load_after": os.getloadavg()[0],
            "entries": float(await db[store.UPSTREAM_ENTRIES].count_documents({})),
            "reads": float(reads),
        }
    finally:
        await client.drop_database(name)
        await client.close()


def main() -> None:
    import argparse

    from devstack.embedded import EmbeddedStack

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--levels", type=int, default=LEVELS)
    parser.add_argument("--suppliers", type=int, default=SUPPLIERS)
    parser.add_argument(
        "--reads", type=int, default=200, help="timed reads (after 10 warm-up reads)"
    )
    args = parser.parse_args()
    uri = os.environ.get("MONGODB_URI")
    stack = None if uri else EmbeddedStack()
    try:
        if stack is not None:
            uri = stack.start().mongodb_uri
        assert uri is not None
        db_pid = stack.pids["mongo"] if stack is not None else None
        result = asyncio.run(
            upstream_read_times(uri, args.reads, args.levels, args.suppliers, db_pid)
        )
        r = result
        print(
            f"upstream of a document, {args.levels} levels x {args.suppliers} suppliers ({int(r['entries'])} stored "
            f"entries), {int(r['reads'])} reads: p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, "
            f"max {r['max_ms']:.1f} ms (target p99 < 200 ms); gateway CPU p50 {r['cpu_p50_ms']:.1f} ms, "
            f"database CPU {r['db_cpu_ms']:.1f} ms a read; as a first read ({int(r['reads'])} reads, no digest kept): "
            f"p50 {r['cold_p50_ms']:.1f} ms, p99 {r['cold_p99_ms']:.1f} ms, gateway CPU p50 {r['cold_cpu_p50_ms']:.1f} ms, "
            f"database CPU {r['cold_db_cpu_ms']:.1f} ms; the very first read {r['first_ms']:.1f} ms; "
            f"load average {r['load_before']:.2f} -> {r['load_after']:.2f} on {os.cpu_count()} cores"
        )
    finally:
        if stack is not None:
            stack.stop()


if __name__ == "__main__":
    main()
