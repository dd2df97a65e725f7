"""Verifiable credentials (VC-JOSE-COSE) and Bitstring Status Lists, checked with a verifier written from
RFC 7515 and RFC 8037 (the standard library and `cryptography`), not with the code that signs."""

from __future__ import annotations

import base64
import gzip
import json
import warnings
from datetime import UTC, datetime, timedelta, timezone

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from hypothesis import given
from joserfc import jws
from joserfc.errors import SecurityWarning
from joserfc.jwk import OKPKey
from hypothesis import strategies as st

from contracts.signing import Signer, b64url
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


# ---- every term a verifier reads (issue 24): the credentials in full, the list's size and bits ----

def test_a_certificate_credential_in_full_says_whether_the_certificate_conforms_today():
    vc = cert_credential("suspended", 7)
    certificate_fields = vc["credentialSubject"].pop("certificate")
    assert certificate_fields["certificate_id"] == "cert-1" and certificate_fields["status"] == "suspended"
    page = f"{BASE}/certificates/ASI-COC-2026-cert-1"
    name = "ASI Chain of Custody Standard certificate ASI-COC-2026-cert-1"
    assert vc == {
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://untp.example/dcc/"],
        "type": ["VerifiableCredential", "DigitalConformityCredential"],
        "id": "urn:asi:certificate:cert-1:revision:1",
        "issuer": ISSUER,
        "name": name,
        "validFrom": "2025-01-01T00:00:00Z",
        "validUntil": "2028-01-01T00:00:00Z",
        "credentialSubject": {
            "type": ["ConformityAttestation"],
            "id": page,
            "name": name,
            "assessorLevel": "3rdParty",
            "assessmentLevel": "scheme-cert",
            "attestationType": "certification",
            "issuedToParty": {"id": "urn:asi:org:org-a", "name": "Alpha Remelt"},
            "referenceScheme": {"id": "https://aluminium-stewardship.org/asi-standards",
                                "name": "ASI Chain of Custody Standard"},
            "assessment": [{
                "type": ["ConformityAssessment"],
                "referenceStandard": {"name": "ASI Chain of Custody Standard", "version": "V2-2022",
                                      "issuingParty": {"name": "Aluminium Stewardship Initiative"}},
                "assessedFacility": [{"id": "urn:asi:site:site-1"}, {"id": "urn:asi:site:site-2"}],
                "assessmentDate": "2025-01-01",
                "conformance": False,
            }],
            "conformityCertificate": {"linkURL": page, "linkName": "Certificate ASI-COC-2026-cert-1",
                                      "linkType": "text/html"},
        },
        "credentialStatus": [
            {"id": f"{BASE}/credentials/status/{purpose}#7", "type": "BitstringStatusListEntry",
             "statusPurpose": purpose, "statusListIndex": "7",
             "statusListCredential": f"{BASE}/credentials/status/{purpose}"}
            for purpose in ("revocation", "suspension")],
    }
    for status, conforms in (("active", True), ("provisional", True), ("withdrawn", False), ("expired", False)):
        assert cert_credential(status)["credentialSubject"]["assessment"][0]["conformance"] is conforms


def test_a_performance_standard_certificate_is_named_for_its_standard():
    c = certificate(org="org-a", standard="performance_standard").model_dump(mode="json")
    vc = credentials.certificate_credential(c, holder_name="Alpha", issuer=ISSUER, base_url=f"{BASE}/",
                                            status_index=0, untp_context="https://untp.example/dcc/")
    assert vc["name"] == f"ASI Performance Standard certificate {c['certificate_number']}"
    assert vc["credentialSubject"]["referenceScheme"]["name"] == "ASI Performance Standard"
    assert vc["credentialSubject"]["id"] == f"{BASE}/certificates/{c['certificate_number']}"
    assert vc["credentialStatus"][0]["statusListCredential"] == f"{BASE}/credentials/status/revocation"


def test_a_document_credential_in_full_has_the_documents_fields_as_its_subject():
    document = {"document_id": "DOC-1", "issued_on": "2026-05-20", "issuer_certificate_number": "ASI-COC-2025-00001",
                "coc_mass_kg": "100"}
    assert credentials.document_credential(document, issuer=ISSUER, base_url=f"{BASE}/") == {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential", "CoCDocumentCredential"],
        "id": "urn:asi:coc-document:DOC-1",
        "issuer": ISSUER,
        "name": "ASI CoC Document DOC-1",
        "validFrom": "2026-05-20T00:00:00Z",
        "credentialSubject": {"type": ["CoCDocument"], "id": "urn:asi:coc-document:DOC-1",
                              "issuerCertificate": f"{BASE}/certificates/ASI-COC-2025-00001", **document},
    }


def test_a_status_list_credential_in_full_is_valid_from_now_in_utc():
    now = datetime(2026, 5, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    vc = credentials.status_list_credential(f"{BASE}/", "revocation", [3], issuer=ISSUER, now=now)
    encoded = vc["credentialSubject"].pop("encodedList")
    assert vc == {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "id": f"{BASE}/credentials/status/revocation",
        "issuer": ISSUER,
        "validFrom": "2026-05-01T10:00:00Z",
        "credentialSubject": {"id": f"{BASE}/credentials/status/revocation#list", "type": "BitstringStatusList",
                              "statusPurpose": "revocation"},
    }
    assert encoded == credentials.encode_bits([3])


def test_the_list_is_sixteen_kilobytes_per_131072_bits_and_as_long_as_asked_or_needed():
    def size(encoded: str) -> int:
        return len(gzip.decompress(b64d(encoded[1:])))

    assert size(credentials.encode_bits([])) == size(credentials.encode_bits([131_071])) == 16_384
    assert size(credentials.encode_bits([131_072])) == 32_768
    assert size(credentials.encode_bits([1], length=131_073)) == 32_768


def test_the_same_bits_always_give_the_same_encoded_list():
    """No timestamp in the GZIP header: the list (and the signed credential around it) only changes when
    a bit does."""
    raw = b64d(credentials.encode_bits([5])[1:])
    assert raw[:2] == b"\x1f\x8b" and int.from_bytes(raw[4:8], "little") == 0  # MTIME, RFC 1952
    assert credentials.encode_bits([5]) == credentials.encode_bits([5])


@pytest.mark.parametrize(("indices", "probe"), [({0}, 7), ({7}, 0), ({8}, 15), ({15}, 8)])
def test_the_first_and_last_bit_of_a_byte_are_told_apart(indices, probe):
    encoded = credentials.encode_bits(indices)
    assert credentials.bit_at(encoded, probe) is False and read_bit(encoded, probe) is False
    [index] = indices
    assert credentials.bit_at(encoded, index) is True


def test_a_list_without_its_multibase_prefix_is_refused():
    with pytest.raises(ValueError, match="^an encodedList is multibase base64url: it starts with 'u'$"):
        credentials.bit_at(credentials.encode_bits([1])[1:], 1)


def test_a_jws_signed_by_the_key_but_not_a_vc_jwt_or_not_an_object_is_not_a_credential():
    key = OKPKey.import_key({**SIGNER.jwk, "d": b64url(SIGNER.seed)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecurityWarning)
        plain_jwt = jws.serialize_compact({"alg": "EdDSA", "typ": "JWT"}, b'{"a":1}', key, algorithms=["EdDSA"])
        a_list = jws.serialize_compact({"alg": "EdDSA", "typ": "vc+jwt"}, b"[1]", key, algorithms=["EdDSA"])
    for token in (plain_jwt, a_list):
        with pytest.raises(credentials.CredentialInvalid, match="^the JWS is not a vc\\+jwt credential$"):
            credentials.verify(token, SIGNER.jwk)
    with pytest.raises(credentials.CredentialInvalid, match=f"^not a credential signed by key {SIGNER.jwk['kid']}: "):
        credentials.verify("not.a.token", SIGNER.jwk)
