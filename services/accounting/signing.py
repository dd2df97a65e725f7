"""CoC Documents signed as compact JWS (EdDSA / Ed25519), verifiable offline with the public key.

The JWS payload is the document's canonical JSON (sorted keys, no whitespace, decimals as strings),
so a verifier holding the document can check that the signature covers exactly it.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from contracts.ledger import CoCDocument
from services.accounting.domain.chain import canonical_json

JWS_TYPE = "asi-coc-document+jws"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "accounting-" + hashlib.sha256(raw).hexdigest()[:16]


@dataclass(frozen=True)
class Signer:
    private_key: Ed25519PrivateKey

    @classmethod
    def from_seed(cls, seed: bytes) -> Signer:
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    @classmethod
    def generate(cls) -> Signer:
        return cls(Ed25519PrivateKey.generate())

    @property
    def seed(self) -> bytes:
        return self.private_key.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()

    @property
    def key_id(self) -> str:
        return key_id(self.public_key)

    def sign(self, document: CoCDocument) -> str:
        header = {"alg": "EdDSA", "kid": self.key_id, "typ": JWS_TYPE}
        signing_input = (
            b64url(json.dumps(header, sort_keys=True, separators=(",", ":")).encode())
            + "."
            + b64url(canonical_json(document))
        )
        return signing_input + "." + b64url(self.private_key.sign(signing_input.encode()))


def public_key_from_text(text: str) -> Ed25519PublicKey:
    """A public key as PEM or as base64url of the 32 raw bytes."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_public_key(text.encode())
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("not an Ed25519 public key")
        return key
    return Ed25519PublicKey.from_public_bytes(b64url_decode(text))


def public_key_texts(public_key: Ed25519PublicKey) -> dict[str, str]:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    pem = public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return {"key_id": key_id(public_key), "alg": "EdDSA", "public_key": b64url(raw), "pem": pem.decode()}


class DocumentInvalid(Exception):
    """The signature does not verify, or does not cover the document presented."""


def verify(jws: str, public_key: Ed25519PublicKey, document: CoCDocument | None = None) -> dict[str, Any]:
    """Verify a compact JWS; return its payload (the document as JSON). Raises DocumentInvalid."""
    try:
        header_b64, payload_b64, signature_b64 = jws.split(".")
        header = json.loads(b64url_decode(header_b64))
        payload = b64url_decode(payload_b64)
        signature = b64url_decode(signature_b64)
    except ValueError as exc:
        raise DocumentInvalid(f"not a compact JWS: {exc}") from exc
    if header.get("alg") != "EdDSA":
        raise DocumentInvalid(f"unexpected algorithm {header.get('alg')!r}")
    try:
        public_key.verify(signature, f"{header_b64}.{payload_b64}".encode())
    except InvalidSignature as exc:
        raise DocumentInvalid("signature does not verify with this public key") from exc
    if document is not None and canonical_json(document) != payload:
        raise DocumentInvalid("the signature covers a different document")
    return json.loads(payload)
