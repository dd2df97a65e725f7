"""CoC Documents signed in the platform's format (`contracts.signing`): the payload is the
document's canonical JSON, so a verifier holding the document can check that the signature covers
exactly it."""

from __future__ import annotations

from typing import Any, cast

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from contracts import signing
from contracts.ledger import CoCDocument
from contracts.signing import b64url, b64url_decode, public_jwk
from services.accounting.domain.chain import canonical_json

__all__ = [
    "DocumentInvalid",
    "Signer",
    "b64url",
    "b64url_decode",
    "key_id",
    "public_key_from_text",
    "public_key_texts",
    "verify",
]

JWS_TYPE = "asi-coc-document+jws"


def key_id(public_key: Ed25519PublicKey) -> str:
    return public_jwk(public_key)["kid"]


class Signer(signing.Signer):
    """The platform's signer, with the key id under the name accounting's code uses."""

    @classmethod
    def from_seed(cls, seed: bytes) -> Signer:
        return cast(Signer, super().from_seed(seed))  # built with `cls`: this class

    @classmethod
    def generate(cls) -> Signer:
        return cast(Signer, super().generate())

    @property
    def key_id(self) -> str:
        return self.kid

    def sign(self, document: CoCDocument) -> str:  # type: ignore[override]  # signs a document, not bytes
        return super().sign(canonical_json(document), typ=JWS_TYPE)


def public_key_from_text(text: str) -> Ed25519PublicKey:
    """A public key as PEM or as base64url of the 32 raw bytes."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_public_key(text.encode())
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("not an Ed25519 public key")
        return key
    return Ed25519PublicKey.from_public_bytes(b64url_decode(text))


def public_key_texts(public_key: Ed25519PublicKey) -> dict[str, Any]:
    pem = public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    jwk = public_jwk(public_key)
    return {
        "key_id": jwk["kid"],
        "alg": "EdDSA",
        "public_key": jwk["x"],
        "jwk": jwk,
        "pem": pem.decode(),
    }


class DocumentInvalid(signing.SignatureInvalid):
    """The signature does not verify, or does not cover the document presented."""


def verify(
    jws: str, public_key: Ed25519PublicKey, document: CoCDocument | None = None
) -> dict[str, Any]:
    """Verify a compact JWS; return its payload (the document as JSON). Raises DocumentInvalid."""
    try:
        verified = signing.verify(jws, public_key)
    except signing.SignatureInvalid as exc:
        raise DocumentInvalid(str(exc)) from exc
    if document is not None and canonical_json(document) != verified.payload:
        raise DocumentInvalid("the signature covers a different document")
    payload: dict[str, Any] = verified.json()
    return payload
