"""The store and key-ring suites on the in-memory fakes (the same suites run on MongoDB in
tests/integration/test_certificates_store.py)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from services.certificates.ports import CertificatesStore, SigningKeys
from tests.unit.certificates.fakes import FakeKeys, FakeStore
from tests.unit.certificates.keys_suite import KeysSuite
from tests.unit.certificates.store_suite import StoreSuite


class TestFakeStore(StoreSuite):
    def setup_method(self) -> None:
        self.store = FakeStore()

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[CertificatesStore]:
        yield self.store


class TestFakeKeys(KeysSuite):
    def setup_method(self) -> None:
        self.ring = FakeKeys()

    @contextlib.asynccontextmanager
    async def keys(self) -> AsyncIterator[SigningKeys]:
        yield self.ring
