"""Verifiable credentials (VC-JOSE-COSE) and Bitstring Status Lists, checked with a verifier written from
RFC 7515 and RFC 8037 (the standard library and `cryptography`), not with the code that signs."""

from __future__ import annotations

import base64
import gzip
import json
from datetime import UTC, datetime

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from hypothesis import given
from hypothesis import strategies as st

from contracts.signing import Signer
from services.gateway.api.credentials import issuer_did
from services.gateway.domain import credentials
from tests.unit.accounting.factories import certificate

BASE = "https://asi.example.org"
ISSUER = {"id": "did:web:asi.example.org", "name": "ASI platform"}
SIGNER = Signer.from_seed(bytes(range(32)))


def b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def offline_verify(token: str, jwk: dict) -> tuple[dict, dict]:
    """RFC 7515 section 5.2 with an Ed25519 JWK (RFC 8037): header, payload; raises if the signature fails."""
    header_b64, payload_b64, signature_b64 = token.split(".")
    header = json.loads(b64d(header_b64))
    assert header["alg"] == "EdDSA" and header["typ"] == "vc+jwt"
    Ed25519PublicKey.from_public_bytes(b64d(jwk["x"])).verify(b64d(signature_b64), f"{header_b64}.{payload_b64}".encode())
    return header, json.loads(b64d(payload_b64))


def cert_credential(status: str = "active", index: int = 7) -> dict:
    c = certificate(org="org-a", sites=("site-1", "site-2"), status=status, certificate_id="cert-1").model_dump(mode="json")
    return credentials.certificate_credential(c, holder_name="Alpha Remelt", issuer=ISSUER, base_url=BASE,
                                              status_index=index, untp_context="https://untp.example/dcc/")


def test_a_certificate_credential_is_a_vc2_conformity_credential_with_both_status_entries():
    vc = cert_credential()
    assert vc["@context"][0] == "https://www.w3.org/ns/credentials/v2"
    assert vc["type"] == ["VerifiableCredential", "DigitalConformityCredential"]
    subject = vc["credentialSubject"]
    assert subject["type"] == ["ConformityAttestation"] and subject["issuedToParty"]["name"] == "Alpha Remelt"
    assert [f["id"] for f in subject["assessment"][0]["assessedFacility"]] == ["urn:asi:site:site-1", "urn:asi:site:site-2"]
    assert (vc["validFrom"], vc["validUntil"]) == ("2025-01-01T00:00:00Z", "2028-01-01T00:00:00Z")  # last day 2027-12-31
    assert subject["referenceScheme"]["name"] == "ASI Chain of Custody Standard"
    assert [(s["statusPurpose"], s["statusListIndex"], s["statusListCredential"]) for s in vc["credentialStatus"]] == [
        ("revocation", "7", f"{BASE}/credentials/status/revocation"),
        ("suspension", "7", f"{BASE}/credentials/status/suspension")]


def test_a_signed_credential_verifies_offline_with_the_public_key_and_a_tampered_one_does_not():
    token = credentials.sign(cert_credential(), SIGNER, ISSUER["id"])
    header, payload = offline_verify(token, SIGNER.jwk)
    assert header["kid"] == f"{ISSUER['id']}#{SIGNER.kid}" and header["cty"] == "vc"
    assert payload == json.loads(json.dumps(cert_credential()))
    assert credentials.verify(token, SIGNER.jwk) == payload

    header_b64, payload_b64, signature_b64 = token.split(".")
    forged = dict(payload, validUntil="2099-01-01T00:00:00Z")
    tampered = f"{header_b64}.{base64.urlsafe_b64encode(json.dumps(forged).encode()).rstrip(b'=').decode()}.{signature_b64}"
    with pytest.raises(InvalidSignature):
        offline_verify(tampered, SIGNER.jwk)
    with pytest.raises(credentials.CredentialInvalid):
        credentials.verify(tampered, SIGNER.jwk)
    with pytest.raises(credentials.CredentialInvalid):  # signed by another key
        credentials.verify(credentials.sign(cert_credential(), Signer.generate(), ISSUER["id"]), SIGNER.jwk)


def read_bit(encoded: str, index: int) -> bool:
    """Bitstring Status List v1.0 section 3.2 (validate algorithm), written from the specification."""
    assert encoded[0] == "u"
    raw = gzip.decompress(b64d(encoded[1:]))
    assert len(raw) * 8 >= 131_072
    return (raw[index // 8] >> (7 - index % 8)) & 1 == 1


@given(st.sets(st.integers(min_value=0, max_value=200_000), max_size=30), st.integers(min_value=0, max_value=131_071))
def test_the_encoded_list_has_exactly_the_given_bits_set(indices, probe):
    encoded = credentials.encode_bits(indices)
    for i in [*indices, probe]:
        assert read_bit(encoded, i) == (i in indices) == credentials.bit_at(encoded, i)


def test_suspending_and_withdrawing_set_the_bits_of_their_own_lists():
    statuses = {0: "active", 1: "suspended", 2: "withdrawn", 3: "expired", 4: "provisional"}
    assert credentials.flagged(statuses, "suspension") == [1]
    assert credentials.flagged(statuses, "revocation") == [2]
    now = datetime(2026, 5, 1, tzinfo=UTC)
    vc = credentials.status_list_credential(BASE, "suspension", [1], issuer=ISSUER, now=now)
    assert vc["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert vc["id"] == f"{BASE}/credentials/status/suspension" and vc["credentialSubject"]["statusPurpose"] == "suspension"
    assert read_bit(vc["credentialSubject"]["encodedList"], 1) and not read_bit(vc["credentialSubject"]["encodedList"], 0)


@pytest.mark.parametrize(("base", "did"), [
    ("https://asi.example.org", "did:web:asi.example.org"),
    ("http://127.0.0.1:8080", "did:web:127.0.0.1%3A8080"),
    ("https://example.org/asi/", "did:web:example.org:asi"),
])
def test_the_issuer_is_the_did_web_of_the_public_address(base, did):
    assert issuer_did(base) == did
