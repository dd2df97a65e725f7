"""EPCIS 2.0 capture through the gateway (REST binding: POST /epcis/capture -> 202 and a capture job),
with a document written from the standard's examples 9.6.2 (ObjectEvent, receiving) and 9.6.4
(TransformationEvent), GS1 identifiers registered at /v1/gs1-identifiers, and an unknown SGLN."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Any

import pytest

from contracts.common import Role
from contracts.plant import MaterialReceived, MaterialTransformed
from devstack.gateway_testing import eventually, gateway_client
from tests.integration.test_gateway_api import (
    ADMIN, auth, gateway_settings, member_registered, new_key, site_registered,
)
from tests.support import Sender, unique

pytestmark = pytest.mark.integration

PLANT_SGLN = "urn:epc:id:sgln:0614141.00888.0"  # example 9.6.2's bizLocation
SUPPLIER_SGLN = "urn:epc:id:sgln:4012345.00225.0"  # example 9.6.2's source location
UNKNOWN_SGLN = "urn:epc:id:sgln:0614141.00999.0"


def standard_document(*, plant: str = PLANT_SGLN) -> dict[str, Any]:
    """EPCIS 2.0 examples 9.6.2 and 9.6.4 (identifiers, times, quantities as in the standard), with the
    ASI fields the platform needs (`asi:processStep`) and a uom on every quantity."""
    return {
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld", {"asi": "urn:asi:epcis:"}],
        "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2005-07-11T11:30:47.0Z",
        "epcisBody": {"eventList": [
            {"eventID": f"ni:///sha-256;{uuid.uuid4().hex}?ver=CBV2.0", "type": "ObjectEvent",
             "eventTime": "2013-06-08T14:58:56.591Z", "eventTimeZoneOffset": "+02:00", "action": "OBSERVE",
             "bizStep": "receiving", "disposition": "in_progress",
             "readPoint": {"id": "urn:epc:id:sgln:0614141.00777.0"}, "bizLocation": {"id": plant},
             "quantityList": [{"epcClass": "urn:epc:class:lgtin:4012345.012345.998877", "quantity": 200, "uom": "KGM"}],
             "sourceList": [{"type": "possessing_party", "source": SUPPLIER_SGLN},
                            {"type": "location", "source": SUPPLIER_SGLN}],
             "destinationList": [{"type": "owning_party", "destination": "urn:epc:id:sgln:0614141.00001.0"},
                                 {"type": "location", "destination": "urn:epc:id:sgln:0614141.00777.0"}],
             "example:myField": "Example of a vendor/user extension"},
            {"eventID": f"urn:uuid:{uuid.uuid4()}", "type": "TransformationEvent",
             "eventTime": "2013-10-31T14:58:56.591Z", "eventTimeZoneOffset": "+02:00",
             "inputEPCList": ["urn:epc:id:sgtin:4012345.011122.25"],
             "inputQuantityList": [{"epcClass": "urn:epc:class:lgtin:4012345.012345.998877", "quantity": 10, "uom": "KGM"}],
             "outputQuantityList": [{"epcClass": "https://id.gs1.org/01/04012345777895/10/XYZ", "quantity": 9.5,
                                     "uom": "KGM"}],
             "bizStep": "urn:epcglobal:cbv:bizstep:commissioning", "disposition": "urn:epcglobal:cbv:disp:in_progress",
             "bizLocation": {"id": plant}, "asi:processStep": "remelting"},
        ]},
    }


@pytest.fixture(scope="module")
async def world(stack):
    sender = await Sender(stack.kafka_bootstrap).start()
    async with gateway_client(gateway_settings(stack)) as (app, client):
        orgs = {name: unique(name) for name in ("plant", "supplier", "other")}
        sites = {"plant": unique("plant-site"), "supplier": unique("supplier-site"), "other": unique("other-site")}
        tokens = {name: await new_key(client, orgs[name], Role.PRODUCER) for name in orgs}
        for name in orgs:
            await sender.send(member_registered(orgs[name], name))
            await sender.send(site_registered(sites[name], orgs[name]))

        async def sites_known() -> bool:
            listed = [(await client.get("/v1/sites", headers=auth(tokens[n]))).json()["sites"] for n in orgs]
            return all(listed)

        await eventually(sites_known, what="the sites in the gateway's registry")
        yield {"client": client, "orgs": orgs, "sites": sites, "tokens": tokens}
    await sender.stop()


async def register(client: Any, token: str, **body: Any) -> Any:
    return await client.post("/v1/gs1-identifiers", json=body, headers=auth(token))


async def test_the_standards_example_is_captured_through_registered_gs1_identifiers(world, recorder):
    client, orgs, sites, tokens = world["client"], world["orgs"], world["sites"], world["tokens"]
    plant = tokens["plant"]
    # each organisation registers what its own GS1 numbers stand for (a site GLN only for its own site)
    assert (await register(client, plant, identifier=PLANT_SGLN, site_id=sites["plant"])).status_code == 200
    refused = await register(client, plant, identifier=SUPPLIER_SGLN, site_id=sites["supplier"])
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "site_not_yours"
    supplier = await register(client, tokens["supplier"], identifier="https://id.gs1.org/414/4012345002256",
                              site_id=sites["supplier"])
    assert supplier.status_code == 200 and supplier.json()["number"] == "4012345002256"
    for identifier, form in (("urn:epc:idpat:sgtin:4012345.012345.*", "bales"), ("04012345777895", "ingot")):
        category = "post_consumer_scrap" if form == "bales" else "aluminium"
        made = await register(client, plant, identifier=identifier, material_category=category, product_form=form)
        assert made.status_code == 200, made.text
    # products are classified per organisation: another one's registration of the same GTIN is its own
    theirs = await register(client, tokens["other"], identifier="04012345777895", material_category="aluminium",
                            product_form="coil")
    assert theirs.status_code == 200, theirs.text
    taken = await register(client, tokens["other"], identifier=PLANT_SGLN, site_id=sites["other"])
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "gs1_registered_elsewhere"
    mismatch = await register(client, plant, identifier="04012345777895", site_id=sites["plant"])
    assert mismatch.status_code == 422 and mismatch.json()["error"]["code"] == "gs1_kind_mismatch"
    listed = (await client.get("/v1/gs1-identifiers", headers=auth(plant))).json()["identifiers"]
    assert {e["kind"] for e in listed} == {"site", "product"}

    document = standard_document()
    response = await client.post("/epcis/capture", content=json.dumps(document),
                                 headers={**auth(plant), "content-type": "application/ld+json"})
    assert response.status_code == 202, response.text
    location = response.headers["location"]
    assert location.startswith("/epcis/capture/") and response.headers["gs1-epcis-version"] == "2.0.0"
    job = (await client.get(location, headers=auth(plant))).json()
    assert (job["running"], job["success"], job["errors"], job["captureErrorBehaviour"]) == (False, True, [], "rollback")
    assert job["captureID"] == location.rsplit("/", 1)[1]
    ids = {e["event_id"] for e in job["events"]}
    received = await recorder.wait_for(MaterialReceived, lambda m: str(m.event_id) in ids)
    [rec] = received
    assert (rec.site_id, rec.supplier_organisation_id, rec.supplier_site_id) == (
        sites["plant"], orgs["supplier"], sites["supplier"])
    assert (rec.material_category.value, rec.product_form, rec.quantity) == ("post_consumer_scrap", "bales", Decimal(200))
    assert rec.received_on.isoformat() == "2013-06-08"
    [tr] = await recorder.wait_for(MaterialTransformed, lambda m: str(m.event_id) in ids)
    assert tr.outputs[0].product_form == "ingot" and tr.outputs[0].quantity == Decimal("9.5")
    # the same document again: a new job, the same event ids, nothing new downstream
    again = await client.post("/epcis/capture", json=document, headers=auth(plant))
    job_again = (await client.get(again.headers["location"], headers=auth(plant))).json()
    assert job_again["success"] and {e["event_id"] for e in job_again["events"]} == ids
    assert job_again["captureID"] != job["captureID"]
    # another organisation cannot read the job
    assert (await client.get(location, headers=auth(tokens["other"]))).status_code == 404
    assert job["captureID"] in {j["captureID"] for j in (await client.get("/epcis/capture", headers=auth(plant))).json()[
        "captureJobs"]}


async def test_an_unknown_sgln_is_a_per_event_error_in_the_job_never_an_internal_error(world):
    client, tokens = world["client"], world["tokens"]
    plant = tokens["plant"]
    document = standard_document()
    document["epcisBody"]["eventList"][0]["bizLocation"] = {"id": UNKNOWN_SGLN}
    rollback = await client.post("/epcis/capture", json=document, headers=auth(plant))
    assert rollback.status_code == 202, rollback.text
    job = (await client.get(rollback.headers["location"], headers=auth(plant))).json()
    assert job["success"] is False and job["running"] is False
    [error] = job["errors"]
    assert (error["code"], error["eventIndex"], error["type"]) == ("epcis_unknown_identifier", 0,
                                                                   "epcisException:ValidationException")
    assert error["eventID"] == document["epcisBody"]["eventList"][0]["eventID"]
    assert UNKNOWN_SGLN in error["title"] and "0614141009992" in error["title"]
    # rollback (the default): the other event was not published either
    assert [e["error"]["code"] for e in job["events"]] == ["epcis_unknown_identifier", "rolled_back"]

    proceed = await client.post("/epcis/capture", json=document,
                                headers={**auth(plant), "GS1-Capture-Error-Behaviour": "proceed"})
    job = (await client.get(proceed.headers["location"], headers=auth(plant))).json()
    assert job["captureErrorBehaviour"] == "proceed" and job["success"] is False
    assert [e["status"] for e in job["events"]] == ["refused", "accepted"]

    not_a_document = await client.post("/epcis/capture", json={"type": "EPCISQueryDocument"}, headers=auth(plant))
    assert not_a_document.status_code == 400 and not_a_document.json()["error"]["code"] == "epcis_invalid"
    no_key = await client.post("/epcis/capture", json=document)
    assert no_key.status_code == 401
    assert (await client.get("/epcis/capture/nope", headers=auth(plant))).status_code == 404
    assert (await client.post("/epcis/capture", json=document, headers={
        **auth(plant), "GS1-Capture-Error-Behaviour": "sometimes"})).status_code == 422
    assert (await client.post("/epcis/capture", json=document, headers=auth(ADMIN))).status_code == 202
