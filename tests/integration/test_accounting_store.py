"""The accounting store suite on MongoDB (the embedded database unless external servers are set):
the same tests the in-memory fake passes (tests/unit/accounting/test_store_fake.py)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from services.accounting.adapters.encoding import OPEN_OWNER, lot_doc
from services.accounting.adapters.store import MongoStore, ensure_indexes
from services.accounting.ports import AccountingStore
from tests.support import scratch_database, transaction
from tests.unit.accounting.factories import NOW, ORG, ledger, receipt
from tests.unit.accounting.store_suite import StoreSuite

pytestmark = pytest.mark.integration


class TestMongoStore(StoreSuite):
    @pytest.fixture(autouse=True)
    async def _database(self, stack) -> AsyncIterator[None]:
        async with scratch_database(stack.mongodb_uri, "accounting-store-suite") as self.db:
            await ensure_indexes(self.db)
            yield

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[AccountingStore]:
        async with transaction(self.db, NOW) as tx:
            yield MongoStore(tx)


async def test_lots_stored_before_open_lots_were_marked_are_found_after_the_upgrade(stack) -> None:
    """A database written before `OPEN_OWNER`: its lots with mass left are marked by
    `ensure_indexes`, once, so an owner's claims still draw on them; spent and void ones are not."""
    books = ledger()
    kept, spent, void = (receipt("100", document=f"doc-{n}") for n in range(3))
    for m in (kept, spent, void):
        books.apply(m, NOW)
    books.lots[f"{ORG}#{spent.movement_id}"].allocated = Decimal(100)
    books.lots[f"{ORG}#{void.movement_id}"].void = True
    async with scratch_database(stack.mongodb_uri, "accounting-store-upgrade") as db:
        old_shape = [
            {k: v for k, v in lot_doc(lot).items() if k != OPEN_OWNER}
            for lot in books.lots.values()
        ]
        await db["lots"].insert_many(old_shape)
        await ensure_indexes(db)
        async with transaction(db, NOW) as tx:
            _, lots = await MongoStore(tx).load_owner([ORG])
        marked = await db["lots"].count_documents({OPEN_OWNER: {"$exists": True}})
    assert [lot.lot_id for lot in lots] == [f"{ORG}#{kept.movement_id}"]
    assert lots[0] == books.lots[f"{ORG}#{kept.movement_id}"]
    assert marked == 1
