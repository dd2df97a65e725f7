"""The gateway's /verify with keys learnt from the topics, none configured: a certificate signed with
the certificates service's published key is VALID, the same one tampered INVALID with why, one signed
by a key never published UNKNOWN; a CoC Document signed with accounting's published key likewise, and
a certificate signed with a retired key still VALID."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from contracts.common import Role
from contracts.signing import (
    DocumentSigningKeyPublished,
    Signer,
    SigningKeyPublished,
    b64url,
    b64url_decode,
    canonical_json,
)
from devstack.gateway_testing import ServedGateway, certificate, certificate_changed
from tests.integration.test_gateway_api import gateway_settings
from tests.support import NOW, actor, unique

pytestmark = pytest.mark.integration


def published(kind, signer: Signer, issuer: str, *, retired: datetime | None = None):
    return kind.create(actor=actor(issuer, Role.SERVICE), occurred_at=NOW, issuer=issuer, kid=signer.kid,
                       jwk=signer.jwk, valid_from=NOW - timedelta(days=30), valid_until=retired)


def verdict(html: str) -> str:
    found = re.search(r'data-status="(\w+)"', html)
    assert found, html[:500]
    return found.group(1)


def tamper(jws: str, **changes: str) -> str:
    """The same JWS with its payload changed (still well-formed JSON) and the original signature."""
    header, payload, signature = jws.split(".")
    body = {**json.loads(b64url_decode(payload)), **changes}
    return f"{header}.{b64url(canonical_json(body))}.{signature}"


async def test_verify_learns_keys_from_the_topics_and_tells_tampered_from_unknown(stack, sender):
    certificates_key, accounting_key, old_key, stranger = (Signer.generate() for _ in range(4))
    org, site = unique("producer"), unique("site")
    cid, number = unique("cert"), f"ASI-COC-{uuid.uuid4().hex[:6].upper()}"
    now = datetime.now(UTC)
    good = certificate(cid, number, org, site, updated_at=now)
    signed = certificates_key.sign(canonical_json(good.model_dump(mode="json")))
    by_old = old_key.sign(canonical_json(good.model_dump(mode="json")))
    forged = stranger.sign(canonical_json(good.model_dump(mode="json")))
    document = {"document_id": unique("doc"), "issuer_organisation_id": org, "recipient_organisation_id": "buyer",
                "issued_on": "2026-06-01", "coc_mass_kg": "1000", "material_category": "aluminium"}
    coc = accounting_key.sign(canonical_json(document), typ="asi-coc-document+jws")

    await sender.send(published(SigningKeyPublished, old_key, "certificates", retired=NOW - timedelta(days=1)))
    await sender.send(published(SigningKeyPublished, certificates_key, "certificates"))
    await sender.send(published(DocumentSigningKeyPublished, accounting_key, "accounting"))
    await sender.send(certificate_changed(cid, number, org, site, signed=signed, occurred_at=now))

    settings = gateway_settings(stack)
    assert settings.verification_keys == []
    with ServedGateway(settings) as gateway:
        async with httpx.AsyncClient(base_url=gateway.url) as http:
            async def check(text: str) -> tuple[str, str]:
                response = await http.post("/verify", data={"document": text})
                return verdict(response.text), response.text

            # The key events sit on different partitions, read in no set order: wait for every key.
            deadline = asyncio.get_running_loop().time() + 30
            for text in (coc, signed, by_old):  # by_old: a retired key still verifies what it signed
                while (await check(text))[0] != "valid":
                    assert asyncio.get_running_loop().time() < deadline, "the gateway never learnt the keys"
                    await asyncio.sleep(0.2)
            status, page = await check(tamper(signed, valid_until="2099-12-31"))
            assert status == "invalid" and "the signature does not match" in page
            status, page = await check(tamper(coc, coc_mass_kg="100000"))
            assert status == "invalid" and "the signature does not match" in page
            assert (await check(forged))[0] == "unknown", "a key never published is unknown, not invalid"
