"""The store suite on the in-memory fake (the same suite runs on MongoDB in
tests/integration/test_accounting_store.py)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from services.accounting.ports import AccountingStore
from tests.unit.accounting.fakes import FakeStore
from tests.unit.accounting.store_suite import StoreSuite


class TestFakeStore(StoreSuite):
    def setup_method(self) -> None:
        self.store = FakeStore()

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[AccountingStore]:
        yield self.store
