"""The claims store suite on MongoDB (the embedded database unless external servers are set): the same
tests the in-memory fake passes (tests/unit/claims/test_store_fake.py)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest

from services.claims.adapters.store import MongoStore, ensure_indexes
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
