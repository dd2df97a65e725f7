"""Signed certificates: the payload is the certificate's canonical JSON, signed in the platform's
format (`contracts.signing`), so anyone holding the public JWK (`cli public-key`) can check it
offline."""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from contracts import signing
from contracts.registry import Certificate
from contracts.signing import SignatureInvalid as VerificationError
from contracts.signing import (
    b64url,
    b64url_decode,
    canonical_json,
    key_from_pem,
    public_jwk,
    seed_from_text,
)

__all__ = [
    "Signer",
    "VerificationError",
    "b64url",
    "b64url_decode",
    "canonical_json",
    "certificate_payload",
    "key_from_pem",
    "public_jwk",
    "seed_from_text",
    "verify",
]


def certificate_payload(certificate: Certificate) -> bytes:
    return canonical_json(certificate.model_dump(mode="json"))


class Signer(signing.Signer):
    """The platform's signer, which also signs certificates (`ports.CertificateSigner`)."""

    @classmethod
    def from_seed(cls, seed: bytes) -> Signer:
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    @classmethod
    def generate(cls) -> Signer:
        return cls(Ed25519PrivateKey.generate())

    def sign_certificate(self, certificate: Certificate) -> str:
        return self.sign(certificate_payload(certificate))


def verify(jws: str, jwk: dict[str, Any]) -> dict[str, Any]:
    """The verified payload of a compact JWS, or VerificationError."""
    payload: dict[str, Any] = signing.verify(
        jws, signing.public_key_from_jwk(jwk), kid=jwk.get("kid")
    ).json()
    return payload
