"""The signing keys: the current one (from the settings, or generated once and kept in this
service's database so every instance signs with the same key) and every key it ever signed with,
each published on `certificates.events.v1` (`SigningKeyPublished`) so verifiers learn them from
the topic.

Documents in `signing_keys`: `current` (the generated key's seed and kid) and one `kid:<kid>` per
key (its JWK, `valid_from`, `valid_until` once retired, and `published`: whether the topic has its
latest state)."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from libs.messaging import Tx
from services.certificates.config import Settings
from services.certificates.ports import SigningKey
from services.certificates.signing import Signer, b64url, key_from_pem, seed_from_text

KEYS = "signing_keys"
_CURRENT = "current"
Db = AsyncDatabase[dict[str, Any]]


def _entry_id(kid: str) -> str:
    return f"kid:{kid}"


class KeyRing:
    """The current signer. A key set in the settings never changes while the service runs; a
    generated one is read per batch, so a rotation by any instance is followed by all."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._fixed: Signer | None = None
        if settings.signing_key_pem is not None:
            self._fixed = Signer(key_from_pem(settings.signing_key_pem.get_secret_value()))
        elif settings.signing_key_seed is not None:
            seed = seed_from_text(settings.signing_key_seed.get_secret_value())
            self._fixed = Signer.from_seed(seed)
        self._cache: tuple[str, Signer] | None = None

    @property
    def from_settings(self) -> bool:
        return self._fixed is not None

    def bound(self, tx: Tx) -> MongoKeys:
        """The `KeysFor` port: the ring inside one batch's transaction."""
        return MongoKeys(self, tx)

    async def signer(self, db: Db, session: AsyncClientSession | None = None) -> Signer:
        if self._fixed is not None:
            return self._fixed
        doc = await db[KEYS].find_one({"_id": _CURRENT}, session=session)
        if doc is None:
            fresh = Signer.generate()
            # Whoever inserts first wins; everyone then reads the same key.
            with contextlib.suppress(DuplicateKeyError):
                await db[KEYS].update_one(
                    {"_id": _CURRENT},
                    {"$setOnInsert": {"seed": b64url(fresh.seed), "alg": "EdDSA"}},
                    upsert=True,
                    session=session,
                )
            doc = await db[KEYS].find_one({"_id": _CURRENT}, session=session)
            if doc is None:
                raise RuntimeError("the signing key just written is not found")
        seed: str = doc["seed"]
        if self._cache is None or self._cache[0] != seed:
            self._cache = (seed, Signer.from_seed(seed_from_text(seed)))
        return self._cache[1]

    async def enlist(
        self, db: Db, now: datetime, session: AsyncClientSession | None = None
    ) -> Signer:
        """Make sure the current key is in the ring (valid from now if new) and every other key
        still marked current is retired now; what changed is marked for publishing."""
        signer = await self.signer(db, session)
        # Read first: every tick of every instance calls this, and almost always nothing changed.
        entry = {"_id": _entry_id(signer.kid)}
        if await db[KEYS].find_one(entry, {"_id": 1}, session=session) is None:
            fields = {
                "kid": signer.kid,
                "jwk": signer.jwk,
                "valid_from": now,
                "valid_until": None,
                "published": False,
            }
            await db[KEYS].update_one(entry, {"$setOnInsert": fields}, upsert=True, session=session)
        others = {"_id": {"$regex": "^kid:", "$ne": _entry_id(signer.kid)}, "valid_until": None}
        if await db[KEYS].find_one(others, {"_id": 1}, session=session) is not None:
            retired = {"$set": {"valid_until": now, "published": False}}
            await db[KEYS].update_many(others, retired, session=session)
        return signer

    async def rotate(self, db: Db, now: datetime, session: AsyncClientSession) -> Signer:
        """Sign with a new generated key from now on (the caller checked the key is not from the
        settings)."""
        fresh = Signer.generate()
        await db[KEYS].update_one(
            {"_id": _CURRENT},
            {"$set": {"seed": b64url(fresh.seed), "alg": "EdDSA"}},
            upsert=True,
            session=session,
        )
        return await self.enlist(db, now, session)


class MongoKeys:
    """The `SigningKeys` port on the `signing_keys` collection, in one batch's transaction."""

    def __init__(self, ring: KeyRing, tx: Tx) -> None:
        self.ring = ring
        self.tx = tx

    @property
    def from_settings(self) -> bool:
        return self.ring.from_settings

    async def signer(self) -> Signer:
        return await self.ring.signer(self.tx.db, self.tx.session)

    async def enlist(self, now: datetime) -> None:
        await self.ring.enlist(self.tx.db, now, self.tx.session)

    async def rotate(self, now: datetime) -> None:
        await self.ring.rotate(self.tx.db, now, self.tx.session)

    async def unpublished(self) -> list[SigningKey]:
        query = {"_id": {"$regex": "^kid:"}, "published": False}
        cursor = self.tx.db[KEYS].find(query, session=self.tx.session).sort("valid_from", 1)
        return [
            SigningKey(d["kid"], d["jwk"], d["valid_from"], d["valid_until"]) async for d in cursor
        ]

    async def mark_published(self, keys: Sequence[SigningKey]) -> None:
        for key in keys:
            await self.tx.db[KEYS].update_one(
                {"_id": _entry_id(key.kid), "valid_until": key.valid_until},
                {"$set": {"published": True}},
                session=self.tx.session,
            )


async def all_keys(db: Db) -> list[dict[str, Any]]:
    """Every key in the ring, oldest first (for verifiers reading this database)."""
    cursor = db[KEYS].find({"_id": {"$regex": "^kid:"}}).sort("valid_from", 1)
    return [doc async for doc in cursor]


async def load_signer(settings: Settings, db: Db) -> Signer:
    """The current signer, for the command line and tests."""
    return await KeyRing(settings).signer(db)
