"""The certificates store and key-ring suites on MongoDB (the embedded database unless external servers are set):
the same tests the in-memory fake passes (tests/unit/certificates/test_store_fake.py)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest

from services.certificates.adapters.keys import KeyRing, MongoKeys
from services.certificates.adapters.store import MongoStore, ensure_indexes
from services.certificates.config import Settings
from services.certificates.ports import CertificatesStore, SigningKeys
from tests.unit.certificates.builders import NOW, RULES
from tests.unit.certificates.keys_suite import KeysSuite
from tests.unit.certificates.store_suite import StoreSuite
from tests.support import scratch_database, transaction

pytestmark = pytest.mark.integration


class TestMongoStore(StoreSuite):
    @pytest.fixture(autouse=True)
    async def _database(self, stack) -> AsyncIterator[None]:  # noqa: ANN001 - the session's Endpoints
        async with scratch_database(stack.mongodb_uri, "certificates-store-suite") as self.db:
            await ensure_indexes(self.db)
            yield

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[CertificatesStore]:
        async with transaction(self.db, NOW) as tx:
            yield MongoStore(tx, RULES)


class TestMongoKeys(KeysSuite):
    @pytest.fixture(autouse=True)
    async def _database(self, stack) -> AsyncIterator[None]:  # noqa: ANN001 - the session's Endpoints
        async with scratch_database(stack.mongodb_uri, "certificates-keys-suite") as self.db:
            self.ring = KeyRing(Settings(signing_key_pem=None, signing_key_seed=None))
            yield

    @contextlib.asynccontextmanager
    async def keys(self) -> AsyncIterator[SigningKeys]:
        async with transaction(self.db, NOW) as tx:
            yield MongoKeys(self.ring, tx)
