"""Signed certificates: compact JWS with Ed25519, checkable offline with the published JWK."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from contracts.registry import Certificate
from services.certificates.domain.audits import submit_audit
from services.certificates.signing import (
    Signer,
    VerificationError,
    b64url,
    b64url_decode,
    certificate_payload,
    key_from_pem,
    seed_from_text,
    verify,
)
from tests.unit.certificates.builders import NOW, RULES, audit, books, majors

SEED = bytes(range(32))


@pytest.fixture
def certificate() -> Certificate:
    return submit_audit(books(), audit(findings=majors(1)), NOW, RULES).changes[0].certificate


def test_a_signed_certificate_verifies_with_the_public_jwk_and_carries_the_certificate(certificate):
    signer = Signer.from_seed(SEED)
    jws = signer.sign_certificate(certificate)
    header = json.loads(b64url_decode(jws.split(".")[0]))
    assert header == {"alg": "EdDSA", "kid": signer.kid}
    payload = verify(jws, signer.jwk)
    assert Certificate.model_validate(payload) == certificate
    assert signer.jwk["kty"] == "OKP" and signer.jwk["crv"] == "Ed25519" and "d" not in signer.jwk


def test_the_payload_is_canonical_so_the_same_certificate_signs_the_same(certificate):
    assert certificate_payload(certificate) == certificate_payload(
        Certificate.model_validate_json(certificate.model_dump_json())
    )
    assert Signer.from_seed(SEED).sign_certificate(certificate) == Signer.from_seed(
        SEED
    ).sign_certificate(certificate)


def test_a_changed_payload_is_detected(certificate):
    signer = Signer.from_seed(SEED)
    header, payload, signature = signer.sign_certificate(certificate).split(".")
    forged = json.loads(b64url_decode(payload))
    forged["status"] = "active"
    forged["valid_until"] = "2040-01-01"
    tampered = ".".join([header, b64url(json.dumps(forged).encode()), signature])
    with pytest.raises(VerificationError, match="does not match"):
        verify(tampered, signer.jwk)


def test_a_changed_signature_or_header_or_another_key_is_detected(certificate):
    signer = Signer.from_seed(SEED)
    jws = signer.sign_certificate(certificate)
    header, payload, signature = jws.split(".")
    flipped = bytearray(b64url_decode(signature))
    flipped[0] ^= 1
    with pytest.raises(VerificationError):
        verify(".".join([header, payload, b64url(bytes(flipped))]), signer.jwk)
    other = Signer.from_seed(bytes(32))
    with pytest.raises(VerificationError, match="signed with key"):
        verify(jws, other.jwk)
    with pytest.raises(VerificationError, match="does not match"):
        verify(jws, {k: v for k, v in other.jwk.items() if k != "kid"})
    none_alg = b64url(json.dumps({"alg": "none", "kid": signer.kid}).encode())
    with pytest.raises(VerificationError, match="algorithm"):
        verify(".".join([none_alg, payload, signature]), signer.jwk)
    with pytest.raises(VerificationError, match="not a compact JWS"):
        verify("not.a-jws", signer.jwk)


def test_keys_from_a_seed_in_hex_or_base64url_or_from_pem_sign_alike():
    assert seed_from_text(SEED.hex()) == seed_from_text(b64url(SEED)) == SEED
    with pytest.raises(ValueError):
        seed_from_text("abcd")
    pem = (
        Ed25519PrivateKey.from_private_bytes(SEED)
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    assert Signer(key_from_pem(pem)).jwk == Signer.from_seed(SEED).jwk


async def test_a_key_from_the_settings_wins_over_the_database():
    from services.certificates.adapters.keys import load_signer
    from services.certificates.config import Settings

    settings = Settings(signing_key_seed=SEED.hex())
    assert (await load_signer(settings, None)).jwk == Signer.from_seed(SEED).jwk  # type: ignore[arg-type]
