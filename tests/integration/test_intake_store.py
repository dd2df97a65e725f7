"""The intake store suite on MongoDB (the embedded database unless external servers are set): the same
tests the in-memory fake passes (tests/unit/intake/test_store_fake.py)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest

from services.intake.adapters.store import MongoStore, ensure_indexes
from services.intake.ports import IntakeStore
from tests.unit.intake.builders import NOW
from tests.unit.intake.store_suite import StoreSuite
from tests.support import scratch_database, transaction

pytestmark = pytest.mark.integration


class TestMongoStore(StoreSuite):
    @pytest.fixture(autouse=True)
    async def _database(self, stack) -> AsyncIterator[None]:  # noqa: ANN001 - the session's Endpoints
        async with scratch_database(stack.mongodb_uri, "intake-store-suite") as self.db:
            await ensure_indexes(self.db)
            yield

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[IntakeStore]:
        async with transaction(self.db, NOW) as tx:
            yield MongoStore(tx)
