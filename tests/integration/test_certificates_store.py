"""The certificates store and key-ring suites on MongoDB (the embedded database unless external servers are set):
the same tests the in-memory fake passes (tests/unit/certificates/test_store_fake.py)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator

import pytest

from libs.messaging import Tx
from libs.mongo import database, mongo_client
from services.certificates.adapters.keys import KeyRing, MongoKeys
from services.certificates.adapters.store import MongoStore, ensure_indexes
from services.certificates.config import Settings
from services.certificates.ports import CertificatesStore, SigningKeys
from tests.unit.certificates.builders import NOW, RULES
from tests.unit.certificates.keys_suite import KeysSuite
from tests.unit.certificates.store_suite import StoreSuite

pytestmark = pytest.mark.integration


class TestMongoStore(StoreSuite):
    @pytest.fixture(autouse=True)
    async def _database(self, stack) -> AsyncIterator[None]:  # noqa: ANN001 - the session's Endpoints
        client = mongo_client(stack.mongodb_uri, "certificates-store-suite")
        self.db = database(client, f"test_{uuid.uuid4().hex[:8]}")
        await ensure_indexes(self.db)
        yield
        await client.drop_database(self.db.name)
        await client.close()

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[CertificatesStore]:
        async with self.db.client.start_session() as session:
            async with await session.start_transaction():
                yield MongoStore(Tx(self.db, session, NOW), RULES)


class TestMongoKeys(KeysSuite):
    @pytest.fixture(autouse=True)
    async def _database(self, stack) -> AsyncIterator[None]:  # noqa: ANN001 - the session's Endpoints
        client = mongo_client(stack.mongodb_uri, "certificates-keys-suite")
        self.db = database(client, f"test_{uuid.uuid4().hex[:8]}")
        self.ring = KeyRing(Settings(signing_key_pem=None, signing_key_seed=None))
        yield
        await client.drop_database(self.db.name)
        await client.close()

    @contextlib.asynccontextmanager
    async def keys(self) -> AsyncIterator[SigningKeys]:
        async with self.db.client.start_session() as session:
            async with await session.start_transaction():
                yield MongoKeys(self.ring, Tx(self.db, session, NOW))
