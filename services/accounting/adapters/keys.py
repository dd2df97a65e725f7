"""The CoC Document signing key: from settings, or generated once and kept in the service
database."""

from __future__ import annotations

import base64
import contextlib
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.accounting.signing import Signer, b64url, b64url_decode

KEY_ID = "signing"


def signer_from_setting(seed: str) -> Signer:
    """`ACCOUNTING_SIGNING_KEY`: base64url (or base64) of the 32-byte Ed25519 seed."""
    try:
        raw = b64url_decode(seed)
    except ValueError:
        raw = base64.b64decode(seed)
    return Signer.from_seed(raw)


async def ensure_signer(db: AsyncDatabase[dict[str, Any]]) -> Signer:
    """Generate the key on first start; every instance then reads the same one."""
    doc = await db["keys"].find_one({"_id": KEY_ID})
    if doc is None:
        candidate = Signer.generate()
        with contextlib.suppress(DuplicateKeyError):  # another instance made it first
            await db["keys"].insert_one(
                {"_id": KEY_ID, "seed": b64url(candidate.seed), "key_id": candidate.key_id}
            )
        doc = await db["keys"].find_one({"_id": KEY_ID})
    if doc is None:
        raise RuntimeError("the signing key was written but cannot be read back")
    return Signer.from_seed(b64url_decode(doc["seed"]))
