"""EPCIS 2.0 capture documents to plant-event bodies: the documented subset, exact quantities, refusals."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.gateway.domain.epcis import events_of_document, map_document, map_event
from services.gateway.inputs import PLANT_INPUT

ORG = "org-a"


def receiving(**extra):
    return {"type": "ObjectEvent", "eventID": "urn:uuid:6f1c1a40-6b0e-4d3e-9d52-0d2c1f7f0a11",
            "eventTime": "2026-05-01T23:30:00Z", "eventTimeZoneOffset": "+02:00", "action": "OBSERVE",
            "bizStep": "urn:epcglobal:cbv:bizstep:receiving", "bizLocation": {"id": "urn:asi:site:site-1"},
            "quantityList": [{"epcClass": "urn:asi:class:aluminium:ingot", "quantity": Decimal("1000.125"), "uom": "TNE"}],
            "sourceList": [{"type": "https://ref.gs1.org/cbv/SDT-owning_party", "source": "urn:asi:org:smelter"},
                           {"type": "location", "source": "urn:asi:site:smelter-site"}],
            "asi:cocDocumentId": "DOC-1", **extra}


def test_a_receiving_object_event_becomes_material_received():
    [mapped] = map_document({"type": "EPCISDocument", "epcisBody": {"eventList": [receiving()]}}, ORG)
    body = mapped.body
    assert body["type"] == "material_received" and body["site_id"] == "site-1"
    assert body["event_id"] == "6f1c1a40-6b0e-4d3e-9d52-0d2c1f7f0a11"
    assert body["received_on"] == "2026-05-02"  # 23:30 UTC is the next day at +02:00
    assert (body["quantity"], body["unit"]) == ("1000.125", "t")
    assert (body["supplier_organisation_id"], body["supplier_site_id"]) == ("smelter", "smelter-site")
    assert body["coc_document_id"] == "DOC-1"
    event = PLANT_INPUT.validate_python(body)
    assert event.quantity == Decimal("1000.125")


def test_shipping_and_transformation_map_and_validate():
    shipping = {"type": "ObjectEvent", "eventTime": "2026-05-04T08:00:00+00:00", "bizStep": "shipping",
                "readPoint": {"id": "site-1"},
                "quantityList": [{"epcClass": "urn:asi:class:aluminium:coil", "quantity": 500, "uom": "KGM"}],
                "destinationList": [{"type": "owning_party", "destination": "urn:asi:org:canmaker"}],
                "asi:shipmentReference": "DN-9", "asi:cocQuantity": "200.5", "asi:carbonFootprint": "4.1"}
    transforming = {"type": "TransformationEvent", "eventTime": "2026-05-03T08:00:00Z", "asi:processStep": "rolling",
                    "bizLocation": {"id": "urn:asi:site:site-1"},
                    "inputQuantityList": [{"epcClass": "urn:asi:class:aluminium:slab", "quantity": 1, "uom": "TNE"}],
                    "outputQuantityList": [{"epcClass": "urn:asi:class:aluminium:coil", "quantity": 2000, "uom": "LBR"}]}
    ship, transform = (map_event(i, e, ORG) for i, e in enumerate([shipping, transforming]))
    shipped = PLANT_INPUT.validate_python(ship.body)
    assert (shipped.customer_organisation_id, shipped.coc_quantity, shipped.shipment_reference) == ("canmaker", Decimal("200.5"), "DN-9")
    transformed = PLANT_INPUT.validate_python(transform.body)
    assert transformed.process_step.value == "rolling" and transformed.outputs[0].unit.value == "lb"


@pytest.mark.parametrize(("event", "code"), [
    ({"type": "AggregationEvent"}, "epcis_unsupported"),
    (receiving(bizStep="inspecting"), "epcis_unsupported"),
    (receiving(bizLocation=None), "epcis_invalid"),
    (receiving(quantityList=[{"epcClass": "urn:asi:class:aluminium:ingot", "quantity": 1, "uom": "KG"}]), "epcis_invalid"),
    (receiving(quantityList=[{"epcClass": "ingot", "quantity": 1, "uom": "KGM"}]), "epcis_invalid"),
    (receiving(sourceList=[]), "epcis_invalid"),
    (receiving(eventTime="yesterday"), "epcis_invalid"),
    (receiving(eventTime="2026-05-01T10:00:00"), "epcis_invalid"),
    ({**receiving(), "type": "ObjectEvent", "bizStep": "shipping", "destinationList": [
        {"type": "owning_party", "destination": "x"}]}, "epcis_invalid"),
    ({"type": "TransformationEvent", "eventTime": "2026-05-03T08:00:00Z", "bizLocation": {"id": "s"}}, "epcis_invalid"),
    ("not an object", "epcis_invalid"),
])
def test_what_cannot_be_mapped_is_refused_with_a_code(event, code):
    mapped = map_event(0, event, ORG)
    assert mapped.body is None and mapped.code == code and mapped.message


def test_a_malformed_document_is_refused_whole():
    for document in ([], {"type": "EPCISQueryDocument"}, {"type": "EPCISDocument", "epcisBody": {}}):
        with pytest.raises(ValueError):
            map_document(document, ORG)


def test_event_ids_are_deterministic_per_organisation():
    event = receiving(eventID="ni:///sha-256;abc?ver=CBV2.0")
    assert map_event(0, event, ORG).body["event_id"] == map_event(5, event, ORG).body["event_id"]
    assert map_event(0, event, ORG).body["event_id"] != map_event(0, event, "org-b").body["event_id"]
    anonymous = {k: v for k, v in receiving().items() if k != "eventID"}
    assert map_event(0, anonymous, ORG).body["event_id"] == map_event(1, dict(anonymous), ORG).body["event_id"]


@settings(max_examples=60, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20) | st.decimals(allow_nan=True),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(
                        list(receiving()) + ["inputQuantityList", "outputQuantityList", "asi:processStep"]), inner, max_size=8),
                    max_leaves=20))
def test_any_json_maps_or_is_refused_but_never_raises(event):
    mapped = map_event(0, event, ORG)
    assert (mapped.body is None) != (mapped.code is None)
    if mapped.body is not None:
        json.dumps(mapped.body)


# ---- the edges (issue 24): the business date on both sides of midnight, number ranges, event ids ----

def refused(event) -> tuple[str | None, str | None]:
    mapped = map_event(0, event, ORG)
    assert mapped.body is None
    return mapped.code, mapped.message


@pytest.mark.parametrize(("moment", "offset", "day"), [
    ("2026-05-01T22:30:00Z", "+01:00", "2026-05-01"),  # 23:30 local: still the same day
    ("2026-05-01T23:30:00Z", "+01:00", "2026-05-02"),
    ("2026-05-01T23:45:00Z", "+00:30", "2026-05-02"),  # the minutes of the offset count
    ("2026-05-01T15:00:00Z", "+10:00", "2026-05-02"),  # two-digit hours
    ("2026-05-02T01:00:00Z", "-01:00", "2026-05-02"),  # midnight local: that day
    ("2026-05-02T00:59:00Z", "-01:00", "2026-05-01"),
    ("2026-05-02T03:00:00Z", "-05:30", "2026-05-01"),
    ("2026-05-02T01:00:00+02:00", None, "2026-05-01"),  # no offset given: the UTC date
])
def test_the_business_date_is_the_event_time_at_the_events_own_offset(moment, offset, day):
    event = receiving(eventTime=moment, eventTimeZoneOffset=offset)
    assert map_event(0, event, ORG).body["received_on"] == day


def test_an_offset_that_is_not_signed_hours_and_minutes_is_refused():
    assert refused(receiving(eventTimeZoneOffset="0200")) == (
        "epcis_invalid", "eventTimeZoneOffset must look like +02:00")


def quantity(value):
    return receiving(quantityList=[{"epcClass": "urn:asi:class:aluminium:ingot", "quantity": value, "uom": "KGM"}])


def test_a_quantity_is_a_finite_number_of_at_most_sixteen_digits_before_and_thirty_after_the_point():
    for value in ("abc", True, None):
        assert refused(quantity(value)) == ("epcis_invalid", "quantityList.quantity must be a number")
    assert refused(quantity("NaN")) == ("epcis_invalid", "quantityList.quantity must be a finite number")
    out_of_range = ("epcis_invalid", "quantityList.quantity is out of range (1e16 or more, or finer than 1e-30)")
    assert refused(quantity("1E+16")) == refused(quantity("1E-31")) == out_of_range
    for value, written in (("9.99E+15", "9990000000000000"), ("1E-30", "0.000000000000000000000000000001"),
                           ("1E+3", "1000")):
        assert map_event(0, quantity(value), ORG).body["quantity"] == written


def test_an_event_id_is_its_uuid_or_derived_from_its_own_id_or_content():
    assert refused(receiving(eventID="urn:uuid:nope")) == ("epcis_invalid", "eventID urn:uuid:... must hold a UUID")
    upper = map_event(0, receiving(eventID="URN:UUID:6F1C1A40-6B0E-4D3E-9D52-0D2C1F7F0A11"), ORG)
    assert upper.body["event_id"] == "6f1c1a40-6b0e-4d3e-9d52-0d2c1f7f0a11"
    one, two = (map_event(0, receiving(eventID=f"ni:///sha-256;{x}?ver=CBV2.0"), ORG).body["event_id"] for x in "ab")
    assert one != two
    anonymous = {k: v for k, v in receiving().items() if k != "eventID"}
    reordered = dict(reversed(list(anonymous.items())))
    other = {**anonymous, "asi:cocDocumentId": "DOC-2"}
    ids = [map_event(0, e, ORG).body["event_id"] for e in (anonymous, reordered, other)]
    assert ids[0] == ids[1] != ids[2]
    assert ids[0] not in (one, two)


SHIPPING = {"type": "ObjectEvent", "eventTime": "2026-05-04T08:00:00+00:00", "bizStep": "shipping",
            "readPoint": {"id": "site-1"},
            "quantityList": [{"epcClass": "urn:asi:class:aluminium:coil", "quantity": 500, "uom": "KGM"}],
            "destinationList": [{"type": "owning_party", "destination": "urn:asi:org:canmaker"},
                                {"type": "location", "destination": "urn:asi:site:can-1"}],
            "bizTransactionList": [{"type": "desadv", "bizTransaction": "urn:asi:ref:DN-9"}],
            "asi:cocQuantity": "200.5", "asi:carbonFootprint": "4.1"}
TRANSFORMING = {"type": "TransformationEvent", "eventTime": "2026-05-03T08:00:00Z", "asi:processStep": "rolling",
                "bizLocation": {"id": "urn:asi:site:site-1"},
                "inputQuantityList": [{"epcClass": "urn:asi:class:aluminium:slab", "quantity": 1, "uom": "TNE"}],
                "outputQuantityList": [
                    {"epcClass": "urn:asi:class:aluminium:coil", "quantity": 2000, "uom": "LBR"},
                    {"epcClass": "urn:asi:class:pre_consumer_scrap:trim", "quantity": 3, "uom": "KGM"}]}


def test_each_kind_of_event_maps_to_the_whole_plant_event_body():
    """The body is the plant event the gateway submits: every field, named as the contract names it."""
    received = map_event(0, receiving(**{"asi:correctsEventId": "1c2d3e4f-0000-4000-8000-000000000001"}), ORG)
    assert received.body == {
        "type": "material_received", "site_id": "site-1", "received_on": "2026-05-02",
        "supplier_organisation_id": "smelter", "supplier_site_id": "smelter-site", "material_category": "aluminium",
        "product_form": "ingot", "quantity": "1000.125", "unit": "t", "coc_document_id": "DOC-1",
        "event_id": "6f1c1a40-6b0e-4d3e-9d52-0d2c1f7f0a11", "occurred_at": "2026-05-01T23:30:00+00:00",
        "corrects_event_id": "1c2d3e4f-0000-4000-8000-000000000001"}
    shipped = map_event(0, SHIPPING, ORG).body
    assert shipped.pop("event_id") == map_event(1, dict(SHIPPING), ORG).body["event_id"]
    assert shipped == {
        "type": "material_shipped", "site_id": "site-1", "shipped_on": "2026-05-04",
        "customer_organisation_id": "canmaker", "customer_site_id": "can-1", "coc_quantity": "200.5",
        "shipment_reference": "DN-9", "material_category": "aluminium", "product_form": "coil", "quantity": "500",
        "unit": "kg", "carbon_footprint_kg_co2e_per_kg": "4.1", "occurred_at": "2026-05-04T08:00:00+00:00"}
    transformed = map_event(0, TRANSFORMING, ORG).body
    del transformed["event_id"]
    assert transformed == {
        "type": "material_transformed", "site_id": "site-1", "transformed_on": "2026-05-03", "process_step": "rolling",
        "occurred_at": "2026-05-03T08:00:00+00:00",
        "inputs": [{"material_category": "aluminium", "product_form": "slab", "quantity": "1", "unit": "t"}],
        "outputs": [{"material_category": "aluminium", "product_form": "coil", "quantity": "2000", "unit": "lb"},
                    {"material_category": "pre_consumer_scrap", "product_form": "trim", "quantity": "3", "unit": "kg"}]}
    for event in (SHIPPING, TRANSFORMING, receiving()):
        PLANT_INPUT.validate_python(map_event(0, event, ORG).body)


def test_a_shipment_without_a_designation_or_footprint_designates_nothing_and_names_the_possessing_party():
    bare = {k: v for k, v in SHIPPING.items() if k not in ("asi:cocQuantity", "asi:carbonFootprint")}
    bare["destinationList"] = [{"type": "possessing_party", "destination": "urn:asi:org:carrier"}]
    body = map_event(0, {**bare, "asi:shipmentReference": "DN-10"}, ORG).body
    assert (body["coc_quantity"], body["customer_organisation_id"], body["customer_site_id"]) == ("0", "carrier", None)
    assert body["shipment_reference"] == "DN-10" and "carbon_footprint_kg_co2e_per_kg" not in body


@pytest.mark.parametrize(("event", "code", "message"), [
    ({"type": "AggregationEvent"}, "epcis_unsupported",
     "event type 'AggregationEvent' is not mapped (ObjectEvent and TransformationEvent are)"),
    (receiving(bizStep="inspecting"), "epcis_unsupported",
     "ObjectEvent bizStep 'inspecting' is not mapped (receiving and shipping are)"),
    ("not an object", "epcis_invalid", "an event is a JSON object"),
    ({k: v for k, v in SHIPPING.items() if k != "bizTransactionList"}, "epcis_invalid",
     "a shipping event needs a bizTransactionList entry or asi:shipmentReference"),
    ({**TRANSFORMING, "asi:processStep": ""}, "epcis_invalid",
     "a TransformationEvent needs asi:processStep (e.g. remelting, casting)"),
    (receiving(bizLocation=None), "epcis_invalid",
     "the event needs a bizLocation (or readPoint) id: an SGLN or urn:asi:site:<site id>"),
    (receiving(sourceList=[]), "epcis_invalid",
     "sourceList needs an owning_party (or possessing_party) entry: a PGLN, an SGLN or urn:asi:org:<organisation id>"),
    (receiving(eventTime="yesterday"), "epcis_invalid", "eventTime must be an ISO 8601 date-time with its offset"),
    (receiving(eventTime="2026-05-01T10:00:00"), "epcis_invalid",
     "eventTime must carry its offset (e.g. 2026-05-01T08:00:00Z)"),
])
def test_each_refusal_says_what_is_missing(event, code, message):
    assert refused(event) == (code, message)


@pytest.mark.parametrize(("document", "message"), [
    ([], "an EPCIS document is a JSON object"),
    ({"type": "EPCISQueryDocument"}, "only EPCISDocument capture documents are accepted"),
    ({"type": "EPCISDocument", "epcisBody": {}}, "the document has no epcisBody.eventList"),
    ({"epcisBody": []}, "the document has no epcisBody.eventList"),
])
def test_a_malformed_document_is_refused_whole_saying_why(document, message):
    with pytest.raises(ValueError, match=f"^{message}$"):
        map_document(document, ORG)
    with pytest.raises(ValueError, match=f"^{message}$"):
        events_of_document(document)


def test_a_document_without_a_type_is_taken_as_a_capture_document():
    assert events_of_document({"epcisBody": {"eventList": [receiving()]}}) == [receiving()]


@pytest.mark.parametrize(("quantities", "message"), [
    ([], "quantityList must list at least one quantity"),
    (None, "quantityList must list at least one quantity"),
    ([{"epcClass": "urn:asi:class:aluminium:ingot", "quantity": 1, "uom": "KGM"}] * 2,
     "quantityList must hold exactly one quantity (send one event per material)"),
    (["1 t"], "quantityList entries are objects"),
    ([{"epcClass": "urn:asi:class:aluminium:ingot", "quantity": 1, "uom": "KG"}],
     "quantityList: uom must be one of KGM, TNE, LBR"),
    ([{"epcClass": "urn:asi:class:aluminium", "quantity": 1, "uom": "KGM"}],
     "quantityList: epcClass must be a registered GS1 product (LGTIN, SGTIN, Digital Link) or "
     "urn:asi:class:<material category>:<product form>"),
])
def test_each_quantity_list_refusal_names_the_list(quantities, message):
    assert refused(receiving(quantityList=quantities)) == ("epcis_invalid", message)


def test_a_unit_is_read_whatever_its_case():
    line = {"epcClass": "urn:asi:class:aluminium:ingot", "quantity": 2, "uom": "tne"}
    assert map_event(0, receiving(quantityList=[line]), ORG).body["unit"] == "t"
