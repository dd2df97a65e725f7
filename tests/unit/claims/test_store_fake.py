"""The store suite on the in-memory fake (the same suite runs on MongoDB in
tests/integration/test_claims_store.py)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from services.claims.ports import ClaimsStore
from tests.unit.claims.fakes import FakeStore
from tests.unit.claims.store_suite import StoreSuite


class TestFakeStore(StoreSuite):
    def setup_method(self) -> None:
        self.store = FakeStore()

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[ClaimsStore]:
        yield self.store
