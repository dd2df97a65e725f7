"""Certificates and CoC Documents as W3C Verifiable Credentials 2.0, secured with JOSE, and certificate
status as Bitstring Status List credentials.

Sources:
* W3C Verifiable Credentials Data Model v2.0 (context `https://www.w3.org/ns/credentials/v2`, `validFrom`,
  `validUntil`, `credentialStatus`).
* W3C Securing Verifiable Credentials using JOSE and COSE (VC-JOSE-COSE), section 3.1.1: the credential
  JSON is the JWS payload itself, the protected header has `typ: vc+jwt` (media type `application/vc+jwt`)
  and `cty: vc`; EdDSA over Ed25519 (RFC 8037).
* W3C Bitstring Status List v1.0: `BitstringStatusListEntry` (`statusPurpose`, `statusListIndex`,
  `statusListCredential`), the list as GZIP-compressed bits, multibase base64url (`u` prefix), index 0
  the left-most bit of the first byte, at least 131,072 bits (16 KB) for herd privacy (section 2.1).
* UN Transparency Protocol (UNTP) Digital Conformity Credential: the certificate's shape
  (`ConformityAttestation` with its `assessment`); the context version and terms are (verify): UNTP is a
  draft that changes between versions, so the context URL is a setting (`untp_dcc_context`).
"""

from __future__ import annotations

import base64
import gzip
import json
import warnings
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError, SecurityWarning
from joserfc.jwk import OKPKey

from contracts.signing import Signer, b64url

VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
MEDIA_TYPE = "application/vc+jwt"
ALGORITHM = "EdDSA"
"""RFC 8037, as the platform's other signatures and its keys' JWKs (`alg: EdDSA`). RFC 9864 prefers the
fully-specified `Ed25519` (same signature bytes); joserfc warns about `EdDSA`, which verifiers still expect."""
MIN_BITS = 131_072
PURPOSES = ("revocation", "suspension")

REVOKED = frozenset({"withdrawn"})
"""Certificate statuses whose revocation bit is set. The ASI secretariat suspends, reinstates and
withdraws certificates (ASI Assurance Manual; the platform's statuses: active, provisional, suspended,
withdrawn, expired); a withdrawal is final. Expired and superseded certificates are not marked revoked:
expiry is the credential's `validUntil`, and a superseded certificate was valid until replaced (verify)."""

SUSPENDED = frozenset({"suspended"})
"""Certificate statuses whose suspension bit is set; a reinstatement clears it again."""


class CredentialInvalid(ValueError):
    """Not a VC-JOSE credential signed by the given key (malformed, another key, or changed)."""


def _instant(day: str | date) -> str:
    moment = datetime.combine(date.fromisoformat(str(day)), time(0), tzinfo=timezone.utc)
    return moment.isoformat().replace("+00:00", "Z")


def status_entries(base_url: str, index: int) -> list[dict[str, Any]]:
    """The `credentialStatus` of a certificate's credential: its bit in each status list."""
    return [{"id": f"{status_list_url(base_url, purpose)}#{index}", "type": "BitstringStatusListEntry",
             "statusPurpose": purpose, "statusListIndex": str(index),
             "statusListCredential": status_list_url(base_url, purpose)} for purpose in PURPOSES]


def status_list_url(base_url: str, purpose: str) -> str:
    return f"{base_url.rstrip('/')}/credentials/status/{purpose}"


def certificate_credential(certificate: Mapping[str, Any], *, holder_name: str, issuer: Mapping[str, Any],
                           base_url: str, status_index: int, untp_context: str) -> dict[str, Any]:
    """A certificate as a UNTP Digital Conformity Credential (an attestation by the certification scheme)."""
    base = base_url.rstrip("/")
    number = certificate["certificate_number"]
    standard = "ASI Chain of Custody Standard" if certificate["standard"] == "chain_of_custody" else \
        "ASI Performance Standard"
    page = f"{base}/certificates/{number}"
    return {
        "@context": [VC_CONTEXT, untp_context],
        "type": ["VerifiableCredential", "DigitalConformityCredential"],
        "id": f"urn:asi:certificate:{certificate['certificate_id']}:revision:{certificate['revision']}",
        "issuer": dict(issuer),
        "name": f"{standard} certificate {number}",
        "validFrom": _instant(certificate["valid_from"]),
        "validUntil": _instant(date.fromisoformat(str(certificate["valid_until"])) + timedelta(days=1)),
        "credentialSubject": {
            "type": ["ConformityAttestation"],
            "id": page,
            "name": f"{standard} certificate {number}",
            "assessorLevel": "3rdParty",
            "assessmentLevel": "scheme-cert",
            "attestationType": "certification",
            "issuedToParty": {"id": f"urn:asi:org:{certificate['organisation_id']}", "name": holder_name},
            "referenceScheme": {"id": "https://aluminium-stewardship.org/asi-standards", "name": standard},
            "assessment": [{
                "type": ["ConformityAssessment"],
                "referenceStandard": {"name": standard, "version": certificate["standard_version"],
                                      "issuingParty": {"name": "Aluminium Stewardship Initiative"}},
                "assessedFacility": [{"id": f"urn:asi:site:{s}"} for s in certificate["scope"]["site_ids"]],
                "assessmentDate": str(certificate["issued_on"]),
                "conformance": certificate["status"] in ("active", "provisional"),
            }],
            "conformityCertificate": {"linkURL": page, "linkName": f"Certificate {number}",
                                      "linkType": "text/html"},
            "certificate": dict(certificate),
        },
        "credentialStatus": status_entries(base, status_index),
    }


def document_credential(document: Mapping[str, Any], *, issuer: Mapping[str, Any], base_url: str) -> dict[str, Any]:
    """A CoC Document as a credential: the document's fields are its subject (no status list: a CoC
    Document is not suspended or withdrawn; a correction issues a new one)."""
    return {
        "@context": [VC_CONTEXT],
        "type": ["VerifiableCredential", "CoCDocumentCredential"],
        "id": f"urn:asi:coc-document:{document['document_id']}",
        "issuer": dict(issuer),
        "name": f"ASI CoC Document {document['document_id']}",
        "validFrom": _instant(document["issued_on"]),
        "credentialSubject": {"type": ["CoCDocument"], "id": f"urn:asi:coc-document:{document['document_id']}",
                              "issuerCertificate": f"{base_url.rstrip('/')}/certificates/"
                                                   f"{document['issuer_certificate_number']}",
                              **dict(document)},
    }


def encode_bits(indices: Iterable[int], length: int = MIN_BITS) -> str:
    """The list whose bits at `indices` are set: GZIP, then multibase base64url without padding."""
    indices = list(indices)
    size = max(length, MIN_BITS, *(i + 1 for i in indices)) if indices else max(length, MIN_BITS)
    size = -(-size // MIN_BITS) * MIN_BITS
    bits = bytearray(size // 8)
    for i in indices:
        bits[i // 8] |= 0x80 >> (i % 8)
    return "u" + b64url(gzip.compress(bytes(bits), compresslevel=6, mtime=0))  # level 9: 25x slower here


def bit_at(encoded_list: str, index: int) -> bool:
    """The bit at `index` of an `encodedList`: what a verifier reads."""
    if not encoded_list.startswith("u"):
        raise ValueError("an encodedList is multibase base64url: it starts with 'u'")
    raw = gzip.decompress(base64.urlsafe_b64decode(encoded_list[1:] + "=" * (-len(encoded_list[1:]) % 4)))
    return bool(raw[index // 8] & (0x80 >> (index % 8)))


def status_list_credential(base_url: str, purpose: str, set_indices: Iterable[int], *, issuer: Mapping[str, Any],
                           now: datetime) -> dict[str, Any]:
    url = status_list_url(base_url, purpose)
    return {
        "@context": [VC_CONTEXT],
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "id": url,
        "issuer": dict(issuer),
        "validFrom": now.astimezone(timezone.utc).isoformat().replace("+00:00", "Z"),
        "credentialSubject": {"id": f"{url}#list", "type": "BitstringStatusList", "statusPurpose": purpose,
                              "encodedList": encode_bits(set_indices)},
    }


def flagged(statuses: Mapping[int, str], purpose: str) -> list[int]:
    """The indices whose bit is set in the list of `purpose`, from each index's certificate status."""
    chosen = REVOKED if purpose == "revocation" else SUSPENDED
    return sorted(i for i, status in statuses.items() if status in chosen)


def sign(credential: Mapping[str, Any], signer: Signer, issuer_did: str) -> str:
    """A compact JWS over the credential JSON (VC-JOSE-COSE: `typ: vc+jwt`, `cty: vc`); `kid` is the
    issuer's verification method, `<did>#<RFC 7638 thumbprint>`."""
    key = OKPKey.import_key({**signer.jwk, "d": b64url(signer.seed)})
    header = {"alg": ALGORITHM, "kid": f"{issuer_did}#{signer.kid}", "typ": "vc+jwt", "cty": "vc"}
    payload = json.dumps(credential, separators=(",", ":"), ensure_ascii=False, default=str).encode()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecurityWarning)
        return jws.serialize_compact(header, payload, key, algorithms=[ALGORITHM])


def verify(token: str, jwk: Mapping[str, Any]) -> dict[str, Any]:
    """The credential a `vc+jwt` carries, once its signature holds for `jwk`; CredentialInvalid if not."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SecurityWarning)
            result = jws.deserialize_compact(token.strip(), OKPKey.import_key(dict(jwk)), algorithms=[ALGORITHM])
        credential = json.loads(result.payload)
    except (JoseError, ValueError, TypeError) as exc:
        raise CredentialInvalid(f"not a credential signed by key {jwk.get('kid')}: {exc}") from exc
    if result.headers().get("typ") != "vc+jwt" or not isinstance(credential, dict):
        raise CredentialInvalid("the JWS is not a vc+jwt credential")
    return credential
