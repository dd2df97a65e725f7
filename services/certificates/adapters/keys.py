"""The signing keys: the current one (from the settings, or generated once and kept in this service's
database so every instance signs with the same key) and every key it ever signed with, each published
on `certificates.events.v1` (`SigningKeyPublished`) so verifiers learn them from the topic.

Documents in `signing_keys`: `current` (the generated key's seed and kid) and one `kid:<kid>` per key
(its JWK, `valid_from`, `valid_until` once retired, and `published`: whether the topic has its
latest state)."""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.certificates.config import Settings
from services.certificates.signing import Signer, b64url, key_from_pem, seed_from_text

KEYS = "signing_keys"
_CURRENT = "current"


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
            self._fixed = Signer.from_seed(seed_from_text(settings.signing_key_seed.get_secret_value()))
        self._cache: tuple[str, Signer] | None = None

    @property
    def from_settings(self) -> bool:
        return self._fixed is not None

    async def signer(self, db: AsyncDatabase[dict[str, Any]], session: AsyncClientSession | None = None) -> Signer:
        if self._fixed is not None:
            return self._fixed
        doc = await db[KEYS].find_one({"_id": _CURRENT}, session=session)
        if doc is None:
            fresh = Signer.generate()
            # Whoever inserts first wins; everyone then reads the same key.
            with contextlib.suppress(DuplicateKeyError):
                await db[KEYS].update_one({"_id": _CURRENT}, {"$setOnInsert": {"seed": b64url(fresh.seed), "alg": "EdDSA"}},
                                          upsert=True, session=session)
            doc = await db[KEYS].find_one({"_id": _CURRENT}, session=session)
            assert doc is not None
        if self._cache is None or self._cache[0] != doc["seed"]:
            self._cache = (doc["seed"], Signer.from_seed(seed_from_text(doc["seed"])))
        return self._cache[1]

    async def enlist(self, db: AsyncDatabase[dict[str, Any]], now: datetime,
                     session: AsyncClientSession | None = None) -> Signer:
        """Make sure the current key is in the ring (valid from now if new) and every other key
        still marked current is retired now; what changed is marked for publishing."""
        signer = await self.signer(db, session)
        # Read first: every tick of every instance calls this, and almost always nothing changed.
        if await db[KEYS].find_one({"_id": _entry_id(signer.kid)}, {"_id": 1}, session=session) is None:
            await db[KEYS].update_one(
                {"_id": _entry_id(signer.kid)},
                {"$setOnInsert": {"kid": signer.kid, "jwk": signer.jwk, "valid_from": now, "valid_until": None,
                                  "published": False}},
                upsert=True, session=session)
        others = {"_id": {"$regex": "^kid:", "$ne": _entry_id(signer.kid)}, "valid_until": None}
        if await db[KEYS].find_one(others, {"_id": 1}, session=session) is not None:
            await db[KEYS].update_many(others, {"$set": {"valid_until": now, "published": False}}, session=session)
        return signer

    async def rotate(self, db: AsyncDatabase[dict[str, Any]], now: datetime, session: AsyncClientSession) -> Signer:
        """Sign with a new generated key from now on (the caller checked the key is not from the settings)."""
        fresh = Signer.generate()
        await db[KEYS].update_one({"_id": _CURRENT}, {"$set": {"seed": b64url(fresh.seed), "alg": "EdDSA"}},
                                  upsert=True, session=session)
        return await self.enlist(db, now, session)


async def unpublished(db: AsyncDatabase[dict[str, Any]], session: AsyncClientSession) -> list[dict[str, Any]]:
    cursor = db[KEYS].find({"_id": {"$regex": "^kid:"}, "published": False}, session=session).sort("valid_from", 1)
    return [doc async for doc in cursor]


async def mark_published(db: AsyncDatabase[dict[str, Any]], entries: list[dict[str, Any]],
                         session: AsyncClientSession) -> None:
    for entry in entries:
        await db[KEYS].update_one({"_id": entry["_id"], "valid_until": entry["valid_until"]},
                                  {"$set": {"published": True}}, session=session)


async def all_keys(db: AsyncDatabase[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every key in the ring, oldest first (for verifiers reading this database)."""
    return [doc async for doc in db[KEYS].find({"_id": {"$regex": "^kid:"}}).sort("valid_from", 1)]


async def load_signer(settings: Settings, db: AsyncDatabase[dict[str, Any]]) -> Signer:
    """The current signer, for the command line and tests."""
    return await KeyRing(settings).signer(db)
