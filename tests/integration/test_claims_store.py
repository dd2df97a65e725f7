"""The claims store suite on MongoDB (the embedded database unless external servers are set): the same
tests the in-memory fake passes (tests/unit/claims/test_store_fake.py)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest

from services.claims.adapters.store import CLAIMS, UNUSED_INDEXES, MongoStore, ensure_indexes
from services.claims.ports import ClaimsStore
from tests.unit.claims.builders import NOW
from tests.unit.claims.store_suite import StoreSuite
from tests.support import scratch_database, transaction

pytestmark = pytest.mark.integration


class TestMongoStore(StoreSuite):
    @pytest.fixture(autouse=True)
    async def _database(self, stack) -> AsyncIterator[None]:  # noqa: ANN001 - the session's Endpoints
        async with scratch_database(stack.mongodb_uri, "claims-store-suite") as self.db:
            await ensure_indexes(self.db)
            yield

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[ClaimsStore]:
        async with transaction(self.db, NOW) as tx:
            yield MongoStore(tx)


async def test_indexes_no_query_uses_are_dropped_from_a_database_made_before(stack) -> None:  # noqa: ANN001
    async with scratch_database(stack.mongodb_uri, "claims-indexes") as db:
        await db[CLAIMS].create_index([("status", 1), ("awaiting_since", 1)])
        await db[CLAIMS].create_index("approval_code")
        await ensure_indexes(db)
        await ensure_indexes(db)  # twice: nothing left to drop is not an error
        names = set(await db[CLAIMS].index_information())
        assert not names & set(UNUSED_INDEXES)
        assert {"allocate_command_id_1", "claim_id_1", "status_1_decide_by_1", "status_1_valid_until_1"} <= names
