"""The store suite on the in-memory fake (the same suite runs on MongoDB in
tests/integration/test_intake_store.py)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from services.intake.ports import IntakeStore
from tests.unit.intake.fakes import FakeStore
from tests.unit.intake.store_suite import StoreSuite


class TestFakeStore(StoreSuite):
    def setup_method(self) -> None:
        self.store = FakeStore()

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[IntakeStore]:
        yield self.store
