"""Certificates and CoC Documents as Verifiable Credentials (vc+jwt), verified offline with the key the
gateway publishes; the Bitstring Status List flips a certificate's bit when it is suspended."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature

from contracts.certificates import CertificateChange, CertificateChanged
from contracts.common import Actor, Role
from contracts.ledger import CoCDocument, CoCDocumentIssued
from contracts.registry import CertificateStatus
from devstack.gateway_testing import eventually, gateway_client
from tests.integration.test_gateway_api import ADMIN, auth, gateway_settings, member_registered, new_key
from tests.integration.test_gateway_verify_keys import tamper, verdict
from tests.support import NOW, Sender, unique
from tests.unit.accounting.factories import certificate
from tests.unit.gateway.test_credentials import offline_verify, read_bit

pytestmark = pytest.mark.integration

BASE = "https://asi.example.org"
CERTS = Actor(organisation_id="certificates", role=Role.SERVICE)


def changed(org: str, cert_id: str, status: CertificateStatus, revision: int, change: CertificateChange):
    return CertificateChanged.create(actor=CERTS, occurred_at=NOW, change=change, certificate=certificate(
        org=org, sites=(f"{org}-site",), status=status, revision=revision, certificate_id=cert_id))


@pytest.fixture(scope="module")
async def world(stack):
    sender = await Sender(stack.kafka_bootstrap).start()
    async with gateway_client(gateway_settings(stack, public_base_url=BASE)) as (app, client):
        yield {"client": client, "sender": sender}
    await sender.stop()


async def published_key(client: Any) -> dict[str, Any]:
    [key] = (await client.get("/.well-known/jwks.json")).json()["keys"]
    did = (await client.get("/.well-known/did.json")).json()
    assert did["id"] == "did:web:asi.example.org" and did["verificationMethod"][0]["publicKeyJwk"] == key
    return key


async def status_bit(client: Any, key: dict[str, Any], purpose: str, index: int) -> bool:
    response = await client.get(f"/credentials/status/{purpose}")
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/vc+jwt")
    _, credential = offline_verify(response.text, key)
    assert credential["credentialSubject"]["statusPurpose"] == purpose
    return read_bit(credential["credentialSubject"]["encodedList"], index)


async def test_a_certificate_credential_verifies_offline_and_suspension_flips_its_bit(world):
    client, sender = world["client"], world["sender"]
    org, cert_id = unique("org"), unique("cert")
    await sender.send(member_registered(org, "Alpha Remelt GmbH"))
    await sender.send(changed(org, cert_id, CertificateStatus.ACTIVE, 1, CertificateChange.ISSUED))
    number = f"ASI-COC-2026-{cert_id}"

    key = await published_key(client)

    async def credential() -> str | None:
        # The member's name comes from its own event, on another partition than the certificate's.
        response = await client.get(f"/credentials/certificates/{number}")
        if response.status_code != 200:
            return None
        _, vc = offline_verify(response.text, key)
        return response.text if vc["credentialSubject"]["issuedToParty"].get("name") == "Alpha Remelt GmbH" else None

    token = await eventually(credential, what="the certificate's credential, with the member's name")
    header, vc = offline_verify(token, key)
    assert header["kid"] == key["kid"] and vc["issuer"]["id"] == "did:web:asi.example.org"
    assert vc["credentialSubject"]["issuedToParty"] == {"id": f"urn:asi:org:{org}", "name": "Alpha Remelt GmbH"}
    assert vc["credentialSubject"]["certificate"]["certificate_number"] == number
    [revocation, suspension] = vc["credentialStatus"]
    assert suspension["statusListCredential"] == f"{BASE}/credentials/status/suspension"
    index = int(suspension["statusListIndex"])
    assert int(revocation["statusListIndex"]) == index
    # the same certificate keeps its index
    assert offline_verify(await credential(), key)[1]["credentialStatus"] == vc["credentialStatus"]

    # tampered: the signature no longer holds
    h, p, s = token.split(".")
    forged = base64.urlsafe_b64encode(json.dumps({**vc, "validUntil": "2099-01-01T00:00:00Z"}).encode()).rstrip(b"=")
    with pytest.raises(InvalidSignature):
        offline_verify(f"{h}.{forged.decode()}.{s}", key)

    # the public /verify page knows the credentials' key: authentic, or tampered
    page = (await client.post("/verify", data={"document": token})).text
    assert verdict(page) == "valid" and f"Certificate {number}" in page
    assert verdict((await client.post("/verify", data={"document": tamper(token, validUntil="2099")})).text) == "invalid"

    assert not await status_bit(client, key, "suspension", index)
    await sender.send(changed(org, cert_id, CertificateStatus.SUSPENDED, 2, CertificateChange.SUSPENDED))

    async def suspended() -> bool:
        return await status_bit(client, key, "suspension", index)

    assert await eventually(suspended, what="the suspension bit")
    assert not await status_bit(client, key, "revocation", index)
    await sender.send(changed(org, cert_id, CertificateStatus.ACTIVE, 3, CertificateChange.REINSTATED))

    async def reinstated() -> bool:
        return not await status_bit(client, key, "suspension", index)

    assert await eventually(reinstated, what="the reinstatement")
    await sender.send(changed(org, cert_id, CertificateStatus.WITHDRAWN, 4, CertificateChange.WITHDRAWN))

    async def revoked() -> bool:
        return await status_bit(client, key, "revocation", index)

    assert await eventually(revoked, what="the revocation bit")
    assert (await client.get("/credentials/certificates/no-such")).status_code == 404
    assert (await client.get("/credentials/status/refresh")).status_code == 404


async def test_each_certificate_has_one_index_of_its_own_even_when_asked_for_at_once(world):
    client, sender = world["client"], world["sender"]
    org, ids = unique("org"), [unique("cert") for _ in range(3)]
    for cert_id in ids:
        await sender.send(changed(org, cert_id, CertificateStatus.ACTIVE, 1, CertificateChange.ISSUED))

    async def all_known() -> bool:
        answers = [await client.get(f"/v1/certificates/{c}", headers=auth(ADMIN)) for c in ids]
        return all(a.status_code == 200 for a in answers)

    await eventually(all_known, what="the certificates")
    key = await published_key(client)

    async def index_of(cert_id: str) -> int:
        response = await client.get(f"/credentials/certificates/{cert_id}")
        return int(offline_verify(response.text, key)[1]["credentialStatus"][0]["statusListIndex"])

    first = await asyncio.gather(*(index_of(ids[0]) for _ in range(5)))
    assert len(set(first)) == 1
    assert len({first[0], await index_of(ids[1]), await index_of(ids[2])}) == 3


async def test_a_coc_document_credential_is_for_its_issuer_and_recipient_only(world):
    client, sender = world["client"], world["sender"]
    issuer, recipient, other = unique("smelter"), unique("roller"), unique("other")
    document = CoCDocument(
        document_id=unique("DOC"), issuer_organisation_id=issuer, issuer_site_id=f"{issuer}-site",
        issuer_certificate_number="ASI-COC-1", recipient_organisation_id=recipient, issued_on=date(2026, 5, 20),
        shipment_reference="SHIP-1", movement_id=uuid.uuid4(), material_category="aluminium", product_form="ingot",
        coc_mass_kg=Decimal("10000.125"), rule_set_id="v2", rule_set_version="1")
    await sender.send(CoCDocumentIssued.create(actor=Actor(organisation_id="accounting", role=Role.SERVICE),
                                               occurred_at=NOW, account_id=f"site:{issuer}-site", document=document,
                                               signature="x", key_id="k"))
    tokens = {org: await new_key(client, org, Role.PRODUCER) for org in (issuer, recipient, other)}
    path = f"/v1/documents/{document.document_id}/credential"

    async def credential() -> str | None:
        response = await client.get(path, headers=auth(tokens[recipient]))
        return response.text if response.status_code == 200 else None

    token = await eventually(credential, what="the CoC Document's credential")
    _, vc = offline_verify(token, await published_key(client))
    assert vc["type"] == ["VerifiableCredential", "CoCDocumentCredential"]
    assert vc["credentialSubject"]["coc_mass_kg"] == "10000.125"  # exact, as a string
    assert (await client.get(path, headers=auth(tokens[issuer]))).status_code == 200
    assert (await client.get(path, headers=auth(tokens[other]))).status_code == 404
    assert (await client.get(path)).status_code == 401
