"""The gateway's HTTP API over the real embedded stack: keys, publishing with the actor from the key,
read models built from the topics, and every isolation boundary crossed by a second organisation."""

from __future__ import annotations

import json
import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from contracts import certificates as cert
from contracts.audits import AuditOutcomeSubmitted
from contracts.claims import ClaimRejected, ClaimRequested, ClaimUsageRecorded, ClaimUsageReported, ClaimWithdrawn
from contracts.common import Activity, Reason, Role
from contracts.intake import PlantEventRejected
from contracts.ledger import EntryKind, LedgerEntry, LedgerEntryPosted
from contracts.plant import MaterialReceived, MaterialShipped, MaterialTransformed
from contracts.registry import Member, MembershipClass, Site
from services.gateway.config import Settings
from devstack.gateway_testing import eventually, gateway_client
from tests.support import NOW, Sender, actor, service_settings, unique

pytestmark = pytest.mark.integration

ADMIN = "bootstrap-admin-key-for-tests-0123456789abcdef"
CERTS = actor("certificates", Role.SERVICE)


def gateway_settings(stack: Any, **values: Any) -> Settings:
    return service_settings(Settings, stack, **{"bootstrap_admin_key": ADMIN, "webhook_allow_private_targets": True,
                                                "webhook_backoff_base_s": 0.05, "webhook_poll_interval_s": 0.05, **values})


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def new_key(client: Any, organisation_id: str, role: Role) -> str:
    response = await client.post("/v1/keys", json={"organisation_id": organisation_id, "role": role.value},
                                 headers=auth(ADMIN))
    assert response.status_code == 201, response.text
    return response.json()["token"]


def site_registered(site_id: str, organisation_id: str) -> cert.SiteRegistered:
    return cert.SiteRegistered.create(actor=CERTS, occurred_at=NOW, site=Site(
        site_id=site_id, organisation_id=organisation_id, name=f"Plant {site_id}", country="DE",
        activities=[Activity.REMELTING]))


def member_registered(organisation_id: str, name: str) -> cert.MemberRegistered:
    return cert.MemberRegistered.create(actor=CERTS, occurred_at=NOW, member=Member(
        organisation_id=organisation_id, name=name, membership_class=MembershipClass.PRODUCTION_AND_TRANSFORMATION,
        joined_on=date(2024, 1, 1)))


def entry(account_id: str, sequence: int, balance: str, site_id: str | None = None) -> LedgerEntryPosted:
    return LedgerEntryPosted.create(actor=actor("accounting", Role.SERVICE), occurred_at=NOW, entry=LedgerEntry(
        account_id=account_id, sequence=sequence, entry_id=uuid.uuid4(), kind=EntryKind.RECEIPT_CREDIT, site_id=site_id,
        booked_on=date(2026, 5, 1), period_id="2026-Q2", coc_credit_kg=Decimal(balance), coc_input_kg=Decimal(balance),
        total_input_kg=Decimal(balance), coc_output_kg=Decimal(0), total_output_kg=Decimal(0),
        balance_after_kg=Decimal(balance), rule_set_id="v2", rule_set_version="1", previous_hash="0" * 64, hash="a" * 64))


def received(site_id: str, **extra: Any) -> dict[str, Any]:
    return {"type": "material_received", "site_id": site_id, "received_on": "2026-05-01",
            "supplier_organisation_id": "supplier-1", "material_category": "aluminium", "product_form": "ingot",
            "quantity": "1000.5", "unit": "kg", **extra}


@pytest.fixture(scope="module")
async def world(stack):
    """One gateway with two producers, two brand owners and two certification bodies."""
    sender = await Sender(stack.kafka_bootstrap).start()
    async with gateway_client(gateway_settings(stack)) as (app, client):
        orgs = {name: unique(name) for name in ("prodA", "prodB", "brandC", "brandD", "cbX", "cbY")}
        tokens = {
            "A": await new_key(client, orgs["prodA"], Role.PRODUCER),
            "B": await new_key(client, orgs["prodB"], Role.PRODUCER),
            "C": await new_key(client, orgs["brandC"], Role.BRAND_OWNER),
            "D": await new_key(client, orgs["brandD"], Role.BRAND_OWNER),
            "X": await new_key(client, orgs["cbX"], Role.CERTIFICATION_BODY),
            "Y": await new_key(client, orgs["cbY"], Role.CERTIFICATION_BODY),
        }
        sites = {"A": unique("siteA"), "B": unique("siteB")}
        await sender.send(member_registered(orgs["prodA"], "Alpha Remelt GmbH"))
        await sender.send(site_registered(sites["A"], orgs["prodA"]))
        await sender.send(site_registered(sites["B"], orgs["prodB"]))

        async def both_sites_known() -> bool:
            a = (await client.get("/v1/sites", headers=auth(tokens["A"]))).json()["sites"]
            b = (await client.get("/v1/sites", headers=auth(tokens["B"]))).json()["sites"]
            return bool(a) and bool(b)

        await eventually(both_sites_known, what="the sites in the gateway's registry")
        yield {"client": client, "app": app, "orgs": orgs, "tokens": tokens, "sites": sites, "sender": sender}
    await sender.stop()


async def test_keys_authenticate_and_can_be_revoked(world):
    client, orgs = world["client"], world["orgs"]
    assert (await client.get("/v1/me")).json()["error"]["code"] == "unauthenticated"
    assert (await client.get("/v1/me", headers=auth("asi_0000000000000000_" + "x" * 43))).status_code == 401
    token = await new_key(client, orgs["prodA"], Role.PRODUCER)
    me = (await client.get("/v1/me", headers={"X-API-Key": token})).json()
    assert me == {"organisation_id": orgs["prodA"], "role": "producer", "key_id": me["key_id"]}
    # a producer may not create keys; another organisation may not revoke this one
    refused = await client.post("/v1/keys", json={"organisation_id": orgs["prodA"], "role": "secretariat"},
                                headers=auth(token))
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "role_not_allowed"
    assert (await client.delete(f"/v1/keys/{me['key_id']}", headers=auth(world["tokens"]["B"]))).status_code == 404
    assert (await client.delete(f"/v1/keys/{me['key_id']}", headers=auth(token))).status_code == 200
    gone = await client.get("/v1/me", headers=auth(token))
    assert gone.status_code == 401 and gone.json()["error"]["code"] == "key_revoked"


async def test_a_producer_submits_for_its_own_sites_only_and_the_actor_comes_from_the_key(world, recorder):
    client, tokens, sites, orgs = world["client"], world["tokens"], world["sites"], world["orgs"]
    response = await client.post("/v1/plant-events", json=received(sites["A"]), headers=auth(tokens["A"]))
    assert response.status_code == 202, response.text
    event_id = uuid.UUID(response.json()["event_id"])
    [published] = await recorder.wait_for(MaterialReceived, lambda m: m.event_id == event_id)
    assert published.actor.organisation_id == orgs["prodA"] and published.actor.role is Role.PRODUCER
    assert published.quantity == Decimal("1000.5")

    crossing = await client.post("/v1/plant-events", json=received(sites["B"]), headers=auth(tokens["A"]))
    assert crossing.status_code == 403 and crossing.json()["error"]["code"] == "site_not_yours"
    forged = await client.post("/v1/plant-events", headers=auth(tokens["A"]), json=received(
        sites["A"], actor={"organisation_id": orgs["prodB"], "role": "producer"}))
    assert forged.status_code == 422 and forged.json()["error"]["code"] == "invalid_request"
    wrong_role = await client.post("/v1/plant-events", json=received(sites["A"]), headers=auth(tokens["C"]))
    assert wrong_role.status_code == 403
    floating = await client.post("/v1/plant-events", json=received(sites["A"], quantity=12.5), headers=auth(tokens["A"]))
    assert floating.status_code == 422

    # what became of it: B cannot see A's submission; A sees the refusal intake publishes
    assert (await client.get(f"/v1/submissions/{event_id}", headers=auth(tokens["B"]))).status_code == 404
    await world["sender"].send(PlantEventRejected.create(
        actor=actor("intake", Role.SERVICE), occurred_at=NOW, site_id=sites["A"], rejected_event_id=event_id,
        rejected_event_type="material_received", message="supplier unknown",
        reasons=[Reason(code="supplier_not_on_platform", message="supplier unknown")]))

    async def refused() -> dict[str, Any] | None:
        body = (await client.get(f"/v1/submissions/{event_id}", headers=auth(tokens["A"]))).json()
        return body if body.get("status") == "refused" else None

    status = await eventually(refused, what="the refusal")
    assert status["reasons"][0]["code"] == "supplier_not_on_platform"
    mine = (await client.get("/v1/refusals", headers=auth(tokens["A"]))).json()["refusals"]
    assert [r["event_id"] for r in mine] == [str(event_id)]
    assert (await client.get("/v1/refusals", headers=auth(tokens["B"]))).json()["refusals"] == []
    assert (await client.get(f"/v1/refusals?site_id={sites['A']}", headers=auth(tokens["B"]))).status_code == 403


async def test_a_batch_answers_item_by_item(world, recorder):
    client, tokens, sites = world["client"], world["tokens"], world["sites"]
    good = received(sites["A"], event_id=str(uuid.uuid4()))
    batch = [good, {"type": "material_received", "site_id": sites["A"]}, received(sites["B"]), {"type": "teleported"}]
    response = await client.post("/v1/plant-events/batch", json={"events": batch}, headers=auth(tokens["A"]))
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["accepted"], body["refused"]) == (1, 3)
    assert [r["status"] for r in body["results"]] == ["accepted", "refused", "refused", "refused"]
    assert body["results"][0]["event_id"] == good["event_id"]
    assert body["results"][1]["error"]["code"] == "invalid_event"
    assert body["results"][2]["error"]["code"] == "site_not_yours"
    await recorder.wait_for(MaterialReceived, lambda m: str(m.event_id) == good["event_id"])


def epcis_document(site: str, customer: str) -> dict[str, Any]:
    return {
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld", {"asi": "urn:asi:epcis:"}],
        "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2026-05-02T10:00:00Z",
        "epcisBody": {"eventList": [
            {"type": "ObjectEvent", "eventID": f"urn:uuid:{uuid.uuid4()}", "eventTime": "2026-05-01T23:30:00Z",
             "eventTimeZoneOffset": "+02:00", "action": "OBSERVE", "bizStep": "receiving",
             "bizLocation": {"id": f"urn:asi:site:{site}"},
             "quantityList": [{"epcClass": "urn:asi:class:post_consumer_scrap:bales", "quantity": 2500.25, "uom": "KGM"}],
             "sourceList": [{"type": "owning_party", "source": "urn:asi:org:scrap-dealer"}],
             "asi:dueDiligenceReference": "DD-1", "asi:dueDiligenceStatus": "passed"},
            {"type": "TransformationEvent", "eventID": "plant-mes-4711", "eventTime": "2026-05-03T08:00:00Z",
             "eventTimeZoneOffset": "+00:00", "bizStep": "urn:epcglobal:cbv:bizstep:transforming",
             "bizLocation": {"id": f"urn:asi:site:{site}"}, "asi:processStep": "remelting",
             "inputQuantityList": [{"epcClass": "urn:asi:class:post_consumer_scrap:bales", "quantity": 2, "uom": "TNE"}],
             "outputQuantityList": [{"epcClass": "urn:asi:class:aluminium:ingot", "quantity": 1900, "uom": "KGM"}]},
            {"type": "ObjectEvent", "eventTime": "2026-05-04T08:00:00Z", "eventTimeZoneOffset": "+00:00",
             "action": "OBSERVE", "bizStep": "https://ref.gs1.org/cbv/BizStep-shipping",
             "bizLocation": {"id": f"urn:asi:site:{site}"},
             "quantityList": [{"epcClass": "urn:asi:class:aluminium:ingot", "quantity": 1000, "uom": "KGM"}],
             "destinationList": [{"type": "urn:epcglobal:cbv:sdt:owning_party", "destination": f"urn:asi:org:{customer}"}],
             "bizTransactionList": [{"type": "desadv", "bizTransaction": "urn:asi:ref:DN-2026-001"}],
             "asi:cocQuantity": 400},
            {"type": "AggregationEvent", "eventTime": "2026-05-04T08:00:00Z"},
        ]},
    }


async def test_an_epcis_capture_document_maps_onto_the_plant_contracts(world, recorder):
    client, tokens, sites, orgs = world["client"], world["tokens"], world["sites"], world["orgs"]
    document = epcis_document(sites["A"], orgs["brandC"])
    response = await client.post("/v1/plant-events/epcis", content=json.dumps(document),
                                 headers={**auth(tokens["A"]), "content-type": "application/ld+json"})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["accepted", "accepted", "accepted", "refused"]
    assert results[3]["error"]["code"] == "epcis_unsupported"
    ids = {r["event_id"] for r in results[:3]}
    assert str(document["epcisBody"]["eventList"][0]["eventID"])[9:] in ids
    [rec] = await recorder.wait_for(MaterialReceived, lambda m: str(m.event_id) in ids)
    assert rec.quantity == Decimal("2500.25") and rec.received_on == date(2026, 5, 2)  # local date at +02:00
    assert rec.supplier_organisation_id == "scrap-dealer" and rec.due_diligence_status.value == "passed"
    [tr] = await recorder.wait_for(MaterialTransformed, lambda m: str(m.event_id) in ids)
    assert tr.inputs[0].unit.value == "t" and tr.outputs[0].product_form == "ingot"
    [sh] = await recorder.wait_for(MaterialShipped, lambda m: str(m.event_id) in ids)
    assert (sh.customer_organisation_id, sh.coc_quantity, sh.shipment_reference) == (orgs["brandC"], Decimal(400), "DN-2026-001")
    assert all(m.actor.organisation_id == orgs["prodA"] for m in (rec, tr, sh))
    # the same document again submits the same event ids (idempotent downstream)
    again = await client.post("/v1/plant-events/epcis", json=document, headers=auth(tokens["A"]))
    assert {r["event_id"] for r in again.json()["results"][:3]} == ids
    # another producer's site in a document is refused item by item
    crossing = await client.post("/v1/plant-events/epcis", json=epcis_document(sites["B"], orgs["brandC"]),
                                 headers=auth(tokens["A"]))
    assert {r["error"]["code"] for r in crossing.json()["results"][:3]} == {"site_not_yours"}


async def test_balances_statements_and_documents_are_visible_to_their_owner_only(world):
    client, tokens, sites, orgs = world["client"], world["tokens"], world["sites"], world["orgs"]
    account = f"site:{sites['A']}"
    await world["sender"].send(entry(account, 1, "1000.5", sites["A"]))
    await world["sender"].send(entry(account, 2, "1500.25", sites["A"]))

    async def balance() -> dict[str, Any] | None:
        response = await client.get(f"/v1/accounts/{account}", headers=auth(tokens["A"]))
        return response.json() if response.status_code == 200 and response.json()["sequence"] == 2 else None

    assert (await eventually(balance, what="the balance"))["balance_kg"] == "1500.25"
    listed = (await client.get("/v1/accounts", headers=auth(tokens["A"]))).json()["accounts"]
    assert [a["account_id"] for a in listed] == [account]
    assert (await client.get(f"/v1/accounts/{account}", headers=auth(tokens["B"]))).status_code == 404
    assert (await client.get(f"/v1/accounts/{account}/statements", headers=auth(tokens["B"]))).status_code == 404
    assert (await client.get(f"/v1/accounts/group:{orgs['prodA']}", headers=auth(tokens["B"]))).status_code == 404
    assert (await client.get("/v1/accounts", headers=auth(tokens["B"]))).json()["accounts"] == []

    scope = f"group:{orgs['prodA']}/cert-a"  # accounting pools credits per CoC certification scope
    await world["sender"].send(entry(scope, 1, "7", sites["A"]))

    async def listed_with_scope() -> list[str] | None:
        ids = [a["account_id"] for a in (await client.get("/v1/accounts", headers=auth(tokens["A"]))).json()["accounts"]]
        return ids if scope in ids else None

    assert await eventually(listed_with_scope, what="the scope account") == [scope, account]
    assert (await client.get(f"/v1/accounts/{scope}", headers=auth(tokens["B"]))).status_code == 404
    # A group account's id holds a slash: its owner reads it and its statements by that id.
    mine = await client.get(f"/v1/accounts/{scope}", headers=auth(tokens["A"]))
    assert mine.status_code == 200 and (mine.json()["account_id"], mine.json()["balance_kg"]) == (scope, "7")
    statements = await client.get(f"/v1/accounts/{scope}/statements", headers=auth(tokens["A"]))
    assert statements.status_code == 200 and statements.json()["statements"] == []
    # The secretariat lists every account, or one organisation's.
    everything = (await client.get("/v1/accounts", headers=auth(ADMIN))).json()["accounts"]
    assert {scope, account} <= {a["account_id"] for a in everything}
    one = (await client.get("/v1/accounts", params={"organisation_id": orgs["prodA"]}, headers=auth(ADMIN))).json()
    assert [a["account_id"] for a in one["accounts"]] == [scope, account]


async def test_brand_owners_request_follow_report_usage_of_and_withdraw_only_their_own_claims(world, recorder):
    client, tokens, orgs = world["client"], world["tokens"], world["orgs"]
    claim_id = unique("claim")
    request = {"claim_id": claim_id, "product": {"product_id": "GTIN-1", "name": "Sparkling water 330 ml",
               "aluminium_mass_per_unit_kg": "0.013", "units": 100000}, "claim_type": "on_pack_logo",
               "wording": "ASI certified aluminium", "artwork_reference": "ART-1", "markets": ["DE"],
               "period_start": "2026-06-01", "period_end": "2026-12-31"}
    forged = await client.post("/v1/claims", json={**request, "claimant_organisation_id": orgs["brandD"]},
                               headers=auth(tokens["C"]))
    assert forged.status_code == 403 and forged.json()["error"]["code"] == "not_your_organisation"
    assert (await client.post("/v1/claims", json=request, headers=auth(tokens["A"]))).status_code == 403
    response = await client.post("/v1/claims", json=request, headers=auth(tokens["C"]))
    assert response.status_code == 202, response.text
    [published] = await recorder.wait_for(ClaimRequested, lambda m: m.claim_id == claim_id)
    assert published.claimant_organisation_id == orgs["brandC"] and published.actor.role is Role.BRAND_OWNER

    status = (await client.get(f"/v1/claims/{claim_id}", headers=auth(tokens["C"]))).json()
    assert status["status"] == "requested"
    assert (await client.get(f"/v1/claims/{claim_id}", headers=auth(tokens["D"]))).status_code == 404
    assert claim_id not in [c["claim_id"] for c in (await client.get("/v1/claims", headers=auth(tokens["D"]))).json()["claims"]]
    assert (await client.post(f"/v1/claims/{claim_id}/withdraw", json={"reason": "mine now"},
                              headers=auth(tokens["D"]))).status_code == 404
    usage = {"period_start": "2026-06-01", "period_end": "2026-08-31", "units": 40000}
    assert (await client.post(f"/v1/claims/{claim_id}/usage", json=usage, headers=auth(tokens["D"]))).status_code == 404
    assert (await client.post(f"/v1/claims/{claim_id}/usage", json={**usage, "units": 0},
                              headers=auth(tokens["C"]))).status_code == 422
    reported = await client.post(f"/v1/claims/{claim_id}/usage", json=usage, headers=auth(tokens["C"]))
    assert reported.status_code == 202, reported.text
    [u] = await recorder.wait_for(ClaimUsageReported, lambda m: m.claim_id == claim_id)
    assert (u.claimant_organisation_id, u.units, u.actor.organisation_id) == (orgs["brandC"], 40000, orgs["brandC"])
    # The claims service's answers show approved vs used on the claim's view.
    claims_service = actor("claims", Role.SERVICE)
    await world["sender"].send(ClaimUsageRecorded.create(
        actor=claims_service, occurred_at=NOW, cause=u, claim_id=claim_id, claimant_organisation_id=orgs["brandC"],
        period_start=date(2026, 6, 1), period_end=date(2026, 8, 31), units=40000, used_units=40000,
        used_kg=Decimal(520), approved_kg=Decimal(1300), unused_kg=Decimal(780)))

    async def mass() -> Any:
        return (await client.get(f"/v1/claims/{claim_id}", headers=auth(tokens["C"]))).json().get("mass")

    assert await eventually(mass, what="approved vs used") == {"approved_kg": "1300", "used_units": 40000,
                                                                "used_kg": "520", "unused_kg": "780"}
    withdrawn = await client.post(f"/v1/claims/{claim_id}/withdraw", json={"reason": "artwork changed"},
                                  headers=auth(tokens["C"]))
    assert withdrawn.status_code == 202
    [w] = await recorder.wait_for(ClaimWithdrawn, lambda m: m.claim_id == claim_id)
    assert w.claimant_organisation_id == orgs["brandC"]


async def test_two_brand_owners_use_the_same_claim_id_and_neither_learns_of_the_other(world, recorder):
    """Issue 23 item 6: a claim id is its claimant's own (no 409 that tells a brand another one uses the id,
    no squatting); each brand reads, withdraws and is told about its own claim only."""
    client, tokens, orgs = world["client"], world["tokens"], world["orgs"]
    claim_id = unique("shared-claim")

    def request(name: str) -> dict[str, Any]:
        return {"claim_id": claim_id, "product": {"product_id": "GTIN-7", "name": name,
                "aluminium_mass_per_unit_kg": "0.013", "units": 1000}, "claim_type": "on_pack_logo",
                "wording": "ASI certified aluminium", "artwork_reference": "ART-7", "markets": ["DE"],
                "period_start": "2026-06-01", "period_end": "2026-12-31"}

    first = await client.post("/v1/claims", json=request("C's can"), headers=auth(tokens["C"]))
    second = await client.post("/v1/claims", json=request("D's can"), headers=auth(tokens["D"]))
    assert (first.status_code, second.status_code) == (202, 202), second.text
    assert second.json()["claim_id"] == claim_id

    async def view(token: str, query: str = "") -> Any:
        return await client.get(f"/v1/claims/{claim_id}{query}", headers=auth(token))

    # Each brand reads its own request back at once (the API records it as it publishes).
    mine_c, mine_d = (await view(tokens["C"])).json(), (await view(tokens["D"])).json()
    assert (mine_c["claimant_organisation_id"], mine_c["product"]["name"]) == (orgs["brandC"], "C's can")
    assert (mine_d["claimant_organisation_id"], mine_d["product"]["name"]) == (orgs["brandD"], "D's can")
    published = await recorder.wait_for(ClaimRequested, lambda m: m.claim_id == claim_id, count=2)
    assert sorted(m.claimant_organisation_id for m in published) == sorted([orgs["brandC"], orgs["brandD"]])
    assert (await view(tokens["C"], f"?organisation_id={orgs['brandD']}")).status_code == 404
    # The claims service decides D's claim: only D's view changes.
    await world["sender"].send(ClaimRejected.create(
        actor=actor("claims", Role.SERVICE), occurred_at=NOW, claim_id=claim_id,
        claimant_organisation_id=orgs["brandD"],
        reasons=[Reason(code="claimant_not_member", field="claimant_organisation_id", message="not a member")]))

    async def status_of_d() -> Any:
        status = (await view(tokens["D"])).json()["status"]
        return status if status != "requested" else None

    assert await eventually(status_of_d, what="D's claim rejected") == "rejected"
    assert (await view(tokens["C"])).json()["status"] == "requested"
    listed = (await client.get("/v1/claims", headers=auth(tokens["C"]))).json()["claims"]
    assert [(c["claimant_organisation_id"], c["status"]) for c in listed if c["claim_id"] == claim_id] == [
        (orgs["brandC"], "requested")]
    # The secretariat names the claimant when two organisations use the id.
    ambiguous = await view(ADMIN)
    assert ambiguous.status_code == 409 and ambiguous.json()["error"]["code"] == "claim_id_ambiguous"
    named = (await view(ADMIN, f"?organisation_id={orgs['brandD']}")).json()
    assert (named["claimant_organisation_id"], named["status"]) == (orgs["brandD"], "rejected")
    withdrawn = await client.post(f"/v1/claims/{claim_id}/withdraw", json={"reason": "mine"}, headers=auth(tokens["D"]))
    assert withdrawn.status_code == 202
    [w] = await recorder.wait_for(ClaimWithdrawn, lambda m: m.claim_id == claim_id)
    assert (w.claimant_organisation_id, w.actor.organisation_id) == (orgs["brandD"], orgs["brandD"])


async def test_certification_bodies_submit_only_as_themselves(world, recorder):
    client, tokens, orgs, sites = world["client"], world["tokens"], world["orgs"], world["sites"]
    outcome = {"audit_id": unique("audit"), "organisation_id": orgs["prodA"], "audit_type": "initial",
               "standard": "chain_of_custody", "standard_version": "V2-2022", "audit_started_on": "2026-04-01",
               "audit_completed_on": "2026-04-03", "scope": {"level": "facility", "site_ids": [sites["A"]]}}
    forged = await client.post("/v1/audit-outcomes", json={**outcome, "certification_body_id": orgs["cbY"]},
                               headers=auth(tokens["X"]))
    assert forged.status_code == 403 and forged.json()["error"]["code"] == "not_your_organisation"
    assert (await client.post("/v1/audit-outcomes", json=outcome, headers=auth(tokens["A"]))).status_code == 403
    response = await client.post("/v1/audit-outcomes", json=outcome, headers=auth(tokens["X"]))
    assert response.status_code == 202, response.text
    [published] = await recorder.wait_for(AuditOutcomeSubmitted, lambda m: m.audit_id == outcome["audit_id"])
    assert published.certification_body_id == orgs["cbX"] and published.actor.organisation_id == orgs["cbX"]
    closure = {"organisation_id": orgs["prodA"], "certificate_id": "c-1", "finding_id": "F1",
               "closed_on": "2026-05-01", "evidence": "fixed", "certification_body_id": orgs["cbY"]}
    assert (await client.post("/v1/nonconformity-closures", json=closure, headers=auth(tokens["X"]))).status_code == 403


async def test_only_the_secretariat_sends_registry_and_certificate_commands(world, recorder):
    client, tokens = world["client"], world["tokens"]
    org = unique("member")
    command = {"type": "register_member", "member": {"organisation_id": org, "name": "New Member",
                                                     "membership_class": "industrial_users", "joined_on": "2026-01-01"}}
    for who in ("A", "C", "X"):
        assert (await client.post("/v1/certificate-commands", json=command, headers=auth(tokens[who]))).status_code == 403
    response = await client.post("/v1/certificate-commands", json=command, headers=auth(ADMIN))
    assert response.status_code == 202, response.text
    [published] = await recorder.wait_for(cert.RegisterMember, lambda m: m.member.organisation_id == org)
    assert published.actor.role is Role.SECRETARIAT


async def test_errors_are_json_with_a_stable_code(world):
    client = world["client"]
    missing = await client.get("/v1/nowhere")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    bad_json = await client.post("/v1/plant-events", content=b"{not json", headers={
        **auth(world["tokens"]["A"]), "content-type": "application/json"})
    assert bad_json.status_code == 422 and "error" in bad_json.json()
    too_big = await client.post("/v1/plant-events/batch", content=b"[" + b" " * 1_100_000 + b"]", headers={
        **auth(world["tokens"]["A"]), "content-type": "application/json"})
    assert too_big.status_code == 413 and too_big.json()["error"]["code"] == "request_too_large"
    schema = (await client.get("/openapi.json")).json()
    assert "/v1/plant-events/epcis" in schema["paths"] and "/c/{code}" in schema["paths"]
