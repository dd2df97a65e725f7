"""The accounting store suite on MongoDB (the embedded database unless external servers are set):
the same tests the in-memory fake passes (tests/unit/accounting/test_store_fake.py)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator

import pytest

from libs.messaging import Tx
from libs.mongo import database, mongo_client
from services.accounting.adapters.store import MongoStore, ensure_indexes
from services.accounting.ports import AccountingStore
from tests.unit.accounting.factories import NOW
from tests.unit.accounting.store_suite import StoreSuite

pytestmark = pytest.mark.integration


class TestMongoStore(StoreSuite):
    @pytest.fixture(autouse=True)
    async def _database(self, stack) -> AsyncIterator[None]:  # noqa: ANN001 - the session's Endpoints
        client = mongo_client(stack.mongodb_uri, "accounting-store-suite")
        self.db = database(client, f"test_{uuid.uuid4().hex[:8]}")
        await ensure_indexes(self.db)
        yield
        await client.drop_database(self.db.name)
        await client.close()

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[AccountingStore]:
        async with self.db.client.start_session() as session:
            async with await session.start_transaction():
                yield MongoStore(Tx(self.db, session, NOW))
