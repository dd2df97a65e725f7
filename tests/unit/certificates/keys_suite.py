"""One test suite for every `SigningKeys` adapter: it runs unchanged against the in-memory fake
(test_store_fake.py) and against MongoDB (tests/integration/test_certificates_store.py), so the
fake key ring the handler tests rely on cannot drift."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta

from services.certificates.ports import SigningKeys
from tests.unit.certificates.builders import NOW


class KeysSuite:
    """Subclasses provide `keys()`: the ring in a new transaction, committed at the end (the same
    ring every time)."""

    @contextlib.asynccontextmanager
    async def keys(self) -> AsyncIterator[SigningKeys]:
        raise NotImplementedError
        yield

    async def test_the_current_key_is_enlisted_and_published_once(self) -> None:
        async with self.keys() as keys:
            signer = await keys.signer()
            await keys.enlist(NOW)
            [key] = await keys.unpublished()
            await keys.mark_published([key])
        assert (key.kid, key.jwk, key.valid_until) == (signer.kid, signer.jwk, None)
        assert key.valid_from == NOW
        async with self.keys() as keys:
            assert (await keys.signer()).kid == signer.kid
            await keys.enlist(NOW + timedelta(hours=1))
            assert await keys.unpublished() == []

    async def test_a_rotation_retires_the_old_key_and_publishes_both(self) -> None:
        later = NOW + timedelta(days=1)
        async with self.keys() as keys:
            old = await keys.signer()
            await keys.enlist(NOW)
            await keys.mark_published(await keys.unpublished())
        async with self.keys() as keys:
            await keys.rotate(later)
            new = await keys.signer()
            states = await keys.unpublished()
            await keys.mark_published(states)
        assert new.kid != old.kid
        assert [(k.kid, k.valid_from, k.valid_until) for k in states] == [
            (old.kid, NOW, later),
            (new.kid, later, None),
        ]
        async with self.keys() as keys:
            assert await keys.unpublished() == []
            assert (await keys.signer()).kid == new.kid
