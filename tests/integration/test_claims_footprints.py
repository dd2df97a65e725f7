"""Issue 18 item 5 end to end: a producer submits PACT footprints through the gateway and reads them
back in PACT format; a carbon-footprint claim on a footprint without assurance is refused naming what
is missing, one on an assured footprint of the product is approved (a footprint claim is not on the
secretariat's review list; it is a pilot by default) with the footprint in its evidence. The test
plays certificates and accounting (as tests/integration/test_claims_review.py does)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from contracts.claims import (
    ClaimApproved,
    ClaimAwaitingReview,
    ClaimReason,
    ClaimRejected,
    ClaimType,
    FootprintSubmitted,
)
from contracts.ledger import AllocateForClaim, DebitClaimMass
from devstack.gateway_testing import ServedGateway
from libs.clock import ManualClock
from services.claims.app import build_runtime
from services.claims.config import Settings as ClaimsSettings
from tests.integration.test_claims_review import until
from tests.integration.test_claims_saga import certified_brand, granted, of
from tests.integration.test_gateway_api import ADMIN, auth, gateway_settings
from tests.support import NOW, running, service_settings, unique
from tests.unit.claims.builders import pact, request

pytestmark = pytest.mark.integration


def claim_body(claim_id: str, org: str, footprint_id: str) -> dict[str, Any]:
    wanted = request(ClaimType.CARBON_FOOTPRINT, claim_id=claim_id, org=org, footprint_id=footprint_id,
                     artwork_reference=f"ART-{claim_id}")  # fmt: skip
    return wanted.model_dump(mode="json", include={
        "claim_id", "claimant_organisation_id", "product", "claim_type", "wording", "artwork_reference", "link",
        "markets", "period_start", "period_end", "carbon_footprint_kg_co2e_per_kg", "footprint_id"})


async def key(http: httpx.AsyncClient, org: str, role: str) -> str:
    created = await http.post("/v1/keys", json={"organisation_id": org, "role": role}, headers=auth(ADMIN))
    assert created.status_code == 201, created.text
    return created.json()["token"]


async def test_a_footprint_claim_is_refused_without_assurance_and_approved_with_it(stack, recorder, sender):
    claims_settings = service_settings(ClaimsSettings, stack)
    async with running(build_runtime, claims_settings, clock=ManualClock(NOW)) as runtime:
        org, _, _ = await certified_brand(sender, runtime)
        with ServedGateway(gateway_settings(stack)) as gateway:
            async with httpx.AsyncClient(base_url=gateway.url) as http:
                producer = await key(http, org, "producer")  # the brand fills its own cans: it is the producer
                brand = await key(http, org, "brand_owner")
                unassured_id, assured_id = str(uuid.uuid4()), str(uuid.uuid4())
                unassured = pact(id=unassured_id, pcf={"assurance": None})
                assured = pact(id=assured_id)

                for document in (unassured, assured):
                    sent = await http.post("/v1/footprints", json=document, headers=auth(producer))
                    assert sent.status_code == 202, sent.text
                    answer = sent.json()
                    assert (answer["footprint_id"], answer["version"], answer["producer_organisation_id"]) == (
                        document["id"], 1, org)
                    assert answer["topic"] == "claims.requests.v1" and answer["type"] == "footprint_submitted"
                [submitted] = await recorder.wait_for(FootprintSubmitted, of(f"footprint:{assured_id}"))
                assert submitted.actor.organisation_id == org and submitted.footprint.pcf.assurance is not None

                # The owner reads it back in PACT format; a brand of another organisation does not see it.
                async def read_back() -> dict[str, Any] | None:
                    got = await http.get(f"/v1/footprints/{assured_id}", headers=auth(producer))
                    return got.json() if got.status_code == 200 else None
                stored = await until(read_back)
                assert stored["pcf"]["pCfExcludingBiogenic"] == "4.2"
                assert stored["pcf"]["assurance"]["providerName"] == "Verifier GmbH"
                assert stored["productIds"] == assured["productIds"] and stored["specVersion"] == "2.2.0"
                stranger = await key(http, unique("producer"), "producer")
                assert (await http.get(f"/v1/footprints/{assured_id}", headers=auth(stranger))).status_code == 404
                taken = await http.post("/v1/footprints", json=assured, headers=auth(stranger))
                assert taken.status_code == 409 and taken.json()["error"]["code"] == "footprint_id_taken"
                invalid = {**assured, "pcf": {k: v for k, v in assured["pcf"].items() if k != "fossilGhgEmissions"}}
                assert (await http.post("/v1/footprints", json=invalid, headers=auth(producer))).status_code == 422

                # A claim on the footprint without assurance: refused at once, naming what is missing.
                refused_id = unique("claim")
                sent = await http.post("/v1/claims", json=claim_body(refused_id, org, unassured_id), headers=auth(brand))
                assert sent.status_code == 202, sent.text
                [rejected] = await recorder.wait_for(ClaimRejected, of(refused_id))
                assert [(r.code, r.field) for r in rejected.reasons] == [
                    (ClaimReason.FOOTPRINT_NOT_ASSURED, "pcf.assurance")]
                assert unassured_id in rejected.reasons[0].message
                assert not recorder.messages(kind=AllocateForClaim, where=of(refused_id))

                # The same claim on the assured footprint: its mass is allocated and it is approved.
                approved_id = unique("claim")
                sent = await http.post("/v1/claims", json=claim_body(approved_id, org, assured_id), headers=auth(brand))
                assert sent.status_code == 202, sent.text
                [allocate] = await recorder.wait_for(AllocateForClaim, of(approved_id))
                await sender.send(granted(approved_id, org, "13000", allocate))
                [approved] = await recorder.wait_for(ClaimApproved, of(approved_id))
                assert approved.pilot and approved.review is None
                assert not recorder.messages(kind=ClaimAwaitingReview, where=of(approved_id))
                evidence = approved.evidence.footprint
                assert evidence is not None and str(evidence.footprint_id) == assured_id
                assert (evidence.submitted_by, evidence.assurance_provider) == (org, "Verifier GmbH")
                await recorder.wait_for(DebitClaimMass, of(approved_id))

                # The brand's claim view shows the footprint it rests on.
                async def decided() -> dict[str, Any] | None:
                    got = (await http.get(f"/v1/claims/{approved_id}", headers=auth(brand))).json()
                    return got if got.get("status") == "approved" else None
                view = await until(decided)
                assert view["evidence"]["footprint"]["footprint_id"] == assured_id
                # The public page shows where the number comes from.
                shown = (await http.get(f"/c/{approved.approval_code}")).text
                assert 'id="footprint"' in shown and assured_id in shown
                assert "Verifier GmbH (limited assurance, ISO 14064-3), 2026-02-15" in shown


async def test_a_coc_documents_footprint_is_exported_in_pact_format_only_when_one_was_submitted_for_it(
        stack, recorder, sender):
    from contracts.common import Actor, Role
    from contracts.ledger import CoCDocument, CoCDocumentIssued

    with ServedGateway(gateway_settings(stack)) as gateway:
        async with httpx.AsyncClient(base_url=gateway.url) as http:
            issuer, recipient = unique("smelter"), unique("can-maker")
            document_id, bare_id = unique("doc"), unique("doc")
            for doc_id in (document_id, bare_id):
                await sender.send(CoCDocumentIssued.create(
                    actor=Actor(organisation_id="accounting", role=Role.SERVICE), occurred_at=NOW,
                    account_id=f"group:{issuer}", signature="x.y.z", key_id="k1", document=CoCDocument(
                        document_id=doc_id, issuer_organisation_id=issuer, issuer_site_id=f"{issuer}-1",
                        issuer_certificate_number="ASI-COC-2025-1", recipient_organisation_id=recipient,
                        issued_on=NOW.date(), shipment_reference=f"S-{doc_id}", movement_id=uuid.uuid4(),
                        material_category="aluminium", product_form="ingot", coc_mass_kg="1000",
                        rule_set_id="coc", rule_set_version="1", carbon_footprint_kg_co2e_per_kg="4.2")))
            producer, buyer = await key(http, issuer, "producer"), await key(http, recipient, "brand_owner")

            async def seen() -> bool:
                got = await http.get(f"/v1/documents/{bare_id}", headers=auth(producer))
                return got.status_code == 200
            await until(seen)
            footprint_id = str(uuid.uuid4())
            document = pact(id=footprint_id, companyName="Smelter AS", productIds=["urn:asi:product-form:ingot"])
            foreign = await http.post(f"/v1/footprints?coc_document_id={unique('doc')}", json=document,
                                      headers=auth(producer))
            assert foreign.status_code == 404 and foreign.json()["error"]["code"] == "not_your_document"
            sent = await http.post(f"/v1/footprints?coc_document_id={document_id}", json=document,
                                   headers=auth(producer))
            assert sent.status_code == 202, sent.text
            assert sent.json()["coc_document_ids"] == [document_id]

            async def exported() -> dict[str, Any] | None:
                got = await http.get(f"/v1/documents/{document_id}/footprint", headers=auth(buyer))
                return got.json() if got.status_code == 200 else None
            pact_document = await until(exported)
            assert pact_document["id"] == footprint_id and pact_document["companyName"] == "Smelter AS"
            assert pact_document["pcf"]["declaredUnit"] == "kilogram"
            missing = await http.get(f"/v1/documents/{bare_id}/footprint", headers=auth(buyer))
            assert missing.status_code == 404 and missing.json()["error"]["code"] == "no_footprint"
            assert "typed with the shipment" in missing.json()["error"]["message"]
            stranger = await key(http, unique("brand"), "brand_owner")
            assert (await http.get(f"/v1/documents/{document_id}/footprint", headers=auth(stranger))).status_code == 404
