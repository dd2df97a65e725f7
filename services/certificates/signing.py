"""Signed certificates: compact JWS (RFC 7515) with EdDSA over Ed25519 (RFC 8037).

The payload is the canonical JSON of the certificate (sorted keys, no spaces, UTF-8), so anyone
holding the public key (a JWK, `cli public-key`) can check a certificate offline.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from contracts.registry import Certificate


class VerificationError(Exception):
    """The JWS is malformed, signed with another key, or was changed after signing."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def certificate_payload(certificate: Certificate) -> bytes:
    return canonical_json(certificate.model_dump(mode="json"))


def public_jwk(public: Ed25519PublicKey) -> dict[str, str]:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    jwk = {"crv": "Ed25519", "kty": "OKP", "x": b64url(raw)}
    thumbprint = b64url(hashlib.sha256(canonical_json(jwk)).digest())  # RFC 7638
    return {**jwk, "kid": thumbprint, "alg": "EdDSA", "use": "sig"}


def seed_from_text(text: str) -> bytes:
    """A 32-byte Ed25519 seed written as 64 hex digits or base64url."""
    text = text.strip()
    try:
        seed = bytes.fromhex(text)
    except ValueError:
        seed = b64url_decode(text)
    if len(seed) != 32:
        raise ValueError("an Ed25519 seed is 32 bytes (64 hex digits or 43 base64url characters)")
    return seed


def key_from_pem(pem: str) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("the signing key must be an Ed25519 private key")
    return key


@dataclass(frozen=True)
class Signer:
    key: Ed25519PrivateKey

    @classmethod
    def from_seed(cls, seed: bytes) -> Signer:
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    @property
    def jwk(self) -> dict[str, str]:
        return public_jwk(self.key.public_key())

    @property
    def kid(self) -> str:
        return self.jwk["kid"]

    def sign(self, payload: bytes) -> str:
        header = b64url(canonical_json({"alg": "EdDSA", "kid": self.kid}))
        body = b64url(payload)
        signature = self.key.sign(f"{header}.{body}".encode())
        return f"{header}.{body}.{b64url(signature)}"

    def sign_certificate(self, certificate: Certificate) -> str:
        return self.sign(certificate_payload(certificate))


def verify(jws: str, jwk: dict[str, Any]) -> dict[str, Any]:
    """The verified payload of a compact JWS, or VerificationError."""
    try:
        header_b64, payload_b64, signature_b64 = jws.strip().split(".")
        header = json.loads(b64url_decode(header_b64))
        payload = b64url_decode(payload_b64)
        signature = b64url_decode(signature_b64)
        public = Ed25519PublicKey.from_public_bytes(b64url_decode(jwk["x"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise VerificationError(f"malformed JWS or key: {exc}") from exc
    if header.get("alg") != "EdDSA":
        raise VerificationError(f"unexpected algorithm {header.get('alg')!r}")
    if jwk.get("kid") and header.get("kid") != jwk["kid"]:
        raise VerificationError(f"signed with key {header.get('kid')!r}, not {jwk['kid']!r}")
    try:
        public.verify(signature, f"{header_b64}.{payload_b64}".encode())
    except InvalidSignature as exc:
        raise VerificationError("the signature does not match: the document was changed or signed by another key") from exc
    try:
        return json.loads(payload)
    except ValueError as exc:
        raise VerificationError("the payload is not JSON") from exc
