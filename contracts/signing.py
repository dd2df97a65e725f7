"""How signed documents (certificates, CoC Documents) are encoded, for those who sign and those who
verify: compact JWS (RFC 7515) with EdDSA over Ed25519 (RFC 8037); the payload is canonical JSON
(sorted keys, no whitespace, UTF-8); a public key is a JWK whose `kid` is its RFC 7638 thumbprint.
Anyone holding the public JWK can verify offline."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import Field

from contracts.common import Envelope, Identifier, UtcDatetime


class SignatureInvalid(ValueError):
    """The JWS is malformed, uses another algorithm or key, or was changed after signing."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def public_jwk(public: Ed25519PublicKey) -> dict[str, str]:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    jwk = {"crv": "Ed25519", "kty": "OKP", "x": b64url(raw)}
    return {**jwk, "kid": b64url(hashlib.sha256(canonical_json(jwk)).digest()), "alg": "EdDSA", "use": "sig"}


def public_key_from_jwk(jwk: dict[str, Any]) -> Ed25519PublicKey:
    if jwk.get("crv") not in (None, "Ed25519"):
        raise SignatureInvalid(f"not an Ed25519 key: {jwk.get('crv')!r}")
    try:
        return Ed25519PublicKey.from_public_bytes(b64url_decode(str(jwk["x"])))
    except (KeyError, ValueError) as exc:
        raise SignatureInvalid(f"malformed public key: {exc}") from exc


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
    """An Ed25519 signing key."""

    key: Ed25519PrivateKey

    @classmethod
    def from_seed(cls, seed: bytes) -> Signer:
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    @classmethod
    def generate(cls) -> Signer:
        return cls(Ed25519PrivateKey.generate())

    @property
    def seed(self) -> bytes:
        return self.key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                      serialization.NoEncryption())

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.key.public_key()

    @property
    def jwk(self) -> dict[str, str]:
        return public_jwk(self.public_key)

    @property
    def kid(self) -> str:
        return self.jwk["kid"]

    def sign(self, payload: bytes, *, typ: str | None = None) -> str:
        header = {"alg": "EdDSA", "kid": self.kid, **({"typ": typ} if typ else {})}
        signing_input = f"{b64url(canonical_json(header))}.{b64url(payload)}"
        return f"{signing_input}.{b64url(self.key.sign(signing_input.encode()))}"


@dataclass(frozen=True)
class Verified:
    header: dict[str, Any]
    payload: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.payload)
        except ValueError as exc:
            raise SignatureInvalid("the payload is not JSON") from exc


def parse(jws: str) -> tuple[dict[str, Any], str, str, str]:
    """(header, header part, payload part, signature part) of a compact JWS; raises SignatureInvalid."""
    try:
        header_b64, payload_b64, signature_b64 = jws.strip().split(".")
        header = json.loads(b64url_decode(header_b64))
    except (ValueError, TypeError, UnicodeDecodeError) as exc:
        raise SignatureInvalid(f"not a compact JWS (three base64url parts with a JSON header): {exc}") from exc
    if not isinstance(header, dict):
        raise SignatureInvalid("the JWS header is not a JSON object")
    return header, header_b64, payload_b64, signature_b64


def verify(jws: str, public_key: Ed25519PublicKey, *, kid: str | None = None) -> Verified:
    """Check a compact JWS against a public key (and its key id, when given)."""
    header, header_b64, payload_b64, signature_b64 = parse(jws)
    if header.get("alg") != "EdDSA":
        raise SignatureInvalid(f"unexpected algorithm {header.get('alg')!r}")
    if kid and header.get("kid") != kid:
        raise SignatureInvalid(f"signed with key {header.get('kid')!r}, not {kid!r}")
    try:
        public_key.verify(b64url_decode(signature_b64), f"{header_b64}.{payload_b64}".encode())
        payload = b64url_decode(payload_b64)
    except (InvalidSignature, ValueError) as exc:
        raise SignatureInvalid("the signature does not match: the document was changed or signed by another key") from exc
    return Verified(header, payload)


class PublishedSigningKey(Envelope):
    """A public key a service signs with (or signed with, once `valid_until` is set), so that any
    verifier learns every key from the topic, including rotations. A key is published again, with
    `valid_until`, when it is retired; documents it signed stay verifiable with it."""

    issuer: Identifier = Field(description="Service whose key it is: 'certificates' or 'accounting'.")
    kid: str = Field(min_length=1, max_length=100, description="Key id: the RFC 7638 thumbprint, as in the JWS header.")
    jwk: dict[str, str] = Field(description="The public key as a JWK (OKP, Ed25519).")
    valid_from: UtcDatetime = Field(description="When the service began signing with it.")
    valid_until: UtcDatetime | None = Field(default=None, description="When it was retired; none while current.")


class SigningKeyPublished(PublishedSigningKey):
    """The certificates service's certificate signing key, on `certificates.events.v1`."""

    type: Literal["signing_key_published"] = Field(default="signing_key_published", description="Type tag.")


class DocumentSigningKeyPublished(PublishedSigningKey):
    """Accounting's CoC Document signing key, on `ledger.events.v1`."""

    type: Literal["document_signing_key_published"] = Field(
        default="document_signing_key_published", description="Type tag.")
