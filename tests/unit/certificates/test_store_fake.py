"""The store suite on the in-memory fake (the same suite runs on MongoDB in
tests/integration/test_certificates_store.py)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from services.certificates.ports import CertificatesStore
from tests.unit.certificates.fakes import FakeStore
from tests.unit.certificates.store_suite import StoreSuite


class TestFakeStore(StoreSuite):
    def setup_method(self) -> None:
        self.store = FakeStore()

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[CertificatesStore]:
        yield self.store
