"""The signing key: from the settings, or generated once and kept in this service's database so
every instance signs with the same key."""

from __future__ import annotations

import contextlib
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives import serialization
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.certificates.config import Settings
from services.certificates.signing import Signer, b64url, key_from_pem, seed_from_text

KEYS = "signing_keys"
_CURRENT = "current"


class KeyRing:
    """Loads the signer once per process (the key never changes while the service runs)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._signer: Signer | None = None

    async def signer(self, db: AsyncDatabase[dict[str, Any]]) -> Signer:
        if self._signer is None:
            self._signer = await load_signer(self.settings, db)
        return self._signer


async def load_signer(settings: Settings, db: AsyncDatabase[dict[str, Any]]) -> Signer:
    if settings.signing_key_pem is not None:
        return Signer(key_from_pem(settings.signing_key_pem.get_secret_value()))
    if settings.signing_key_seed is not None:
        return Signer.from_seed(seed_from_text(settings.signing_key_seed.get_secret_value()))
    fresh = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    # Whoever inserts first wins; everyone then reads the same key.
    with contextlib.suppress(DuplicateKeyError):
        await db[KEYS].update_one({"_id": _CURRENT}, {"$setOnInsert": {"seed": b64url(fresh), "alg": "EdDSA"}},
                                  upsert=True)
    doc = await db[KEYS].find_one({"_id": _CURRENT})
    assert doc is not None
    return Signer.from_seed(seed_from_text(doc["seed"]))
