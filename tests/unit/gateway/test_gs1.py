"""GS1 identifiers (EPC URIs, Digital Link URIs, bare digits) to the GLN or GTIN a registry is keyed on,
and EPCIS events naming registered and unregistered ones."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.gateway.domain import gs1
from services.gateway.domain.epcis import UNKNOWN, Gs1Registry, gs1_numbers, map_document
from services.gateway.inputs import PLANT_INPUT


@pytest.mark.parametrize(("text", "kind", "number"), [
    # Tag Data Standard examples: SGTIN 0614141.812345.6789 is GTIN 80614141123458; SGLN 0614141.12345.400
    ("urn:epc:id:sgtin:0614141.812345.6789", "gtin", "80614141123458"),
    ("urn:epc:id:sgln:0614141.12345.400", "gln", "0614141123452"),
    ("urn:epc:class:lgtin:4012345.012345.998877", "gtin", "04012345123456"),
    ("urn:epc:idpat:sgtin:4012345.066666.*", "gtin", "04012345666663"),
    ("urn:epc:id:pgln:0614141.00001", "gln", "0614141000012"),
    ("https://id.gs1.org/01/09521234543213/10/LOT-7", "gtin", "09521234543213"),
    ("https://example.com/shop/01/9521234543213/21/12345", "gtin", "09521234543213"),
    ("https://id.gs1.org/414/9521234000006/254/2", "gln", "9521234000006"),
    ("9521234543213", "gln", "9521234543213"),
    ("96385074", "gtin", "00000096385074"),
])
def test_gs1_identifiers_reduce_to_their_gln_or_gtin(text, kind, number):
    assert gs1.parse(text) == gs1.Gs1Id(kind, number)


@pytest.mark.parametrize("text", [
    "urn:epc:id:sgln:0614141.1234.0",  # 11 digits, not 12
    "https://id.gs1.org/01/09521234543214",  # wrong check digit
    "9521234543214", "urn:asi:site:x", "https://example.com/no-ai-here",
])
def test_malformed_gs1_identifiers_are_refused_with_a_reason(text):
    with pytest.raises(gs1.NotGs1):
        gs1.parse(text)


@given(st.text(alphabet="0123456789", min_size=12, max_size=12))
def test_a_gln_with_its_computed_check_digit_parses_and_any_other_digit_does_not(body):
    good = body + gs1.check_digit(body)
    assert gs1.parse(good).number == good
    bad = body + str((int(good[-1]) + 1) % 10)
    with pytest.raises(gs1.NotGs1):
        gs1.parse(bad)


REGISTRY = Gs1Registry(sites={"0614141008889": "site-a"}, site_owners={"0614141008889": "org-a",
                                                                       "4012345002256": "scrap-org"},
                       parties={}, products={"04012345123456": ("post_consumer_scrap", "bales")})


def example_9_6_2(**extra):
    """EPCIS 2.0 standard example 9.6.2 (ObjectEvent, receiving), with the final `type` field names."""
    return {"type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2005-07-11T11:30:47.0Z",
            "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
            "epcisBody": {"eventList": [{
                "eventID": "ni:///sha-256;a98f08ae6ac4de3482054314d637c07010b448d3802dccb028a06aafcc6a4b10?ver=CBV2.0",
                "type": "ObjectEvent", "eventTime": "2013-06-08T14:58:56.591Z", "eventTimeZoneOffset": "+02:00",
                "action": "OBSERVE", "bizStep": "receiving", "disposition": "in_progress",
                "readPoint": {"id": "urn:epc:id:sgln:0614141.00777.0"},
                "bizLocation": {"id": "urn:epc:id:sgln:0614141.00888.0"},
                "quantityList": [{"epcClass": "urn:epc:class:lgtin:4012345.012345.998877", "quantity": Decimal(200),
                                  "uom": "KGM"}],
                "sourceList": [{"type": "possessing_party", "source": "urn:epc:id:sgln:4012345.00225.0"},
                               {"type": "location", "source": "urn:asi:site:scrap-yard"}],
                **extra}]}}


def test_the_standards_receiving_example_maps_through_registered_gs1_identifiers():
    document = example_9_6_2()
    assert gs1_numbers(document) == {"0614141007776", "0614141008889", "04012345123456", "4012345002256"}
    [mapped] = map_document(document, "org-a", REGISTRY)
    assert mapped.code is None, mapped.message
    body = mapped.body
    assert (body["site_id"], body["supplier_organisation_id"], body["supplier_site_id"]) == (
        "site-a", "scrap-org", "scrap-yard")  # the possessing party's SGLN is a site of scrap-org
    assert (body["material_category"], body["product_form"], body["quantity"], body["unit"]) == (
        "post_consumer_scrap", "bales", "200", "kg")
    assert PLANT_INPUT.validate_python(body).quantity == Decimal(200)


@pytest.mark.parametrize(("extra", "where"), [
    ({"bizLocation": {"id": "urn:epc:id:sgln:0614141.00999.0"}}, "bizLocation.id"),
    ({"quantityList": [{"epcClass": "https://id.gs1.org/01/09521234543213/10/L1", "quantity": 1, "uom": "TNE"}]},
     "quantityList.epcClass"),
    ({"sourceList": [{"type": "owning_party", "source": "urn:epc:id:pgln:0614141.99999"}]}, "sourceList owning_party"),
])
def test_an_unregistered_gs1_identifier_refuses_its_event_and_names_it(extra, where):
    [mapped] = map_document(example_9_6_2(**extra), "org-a", REGISTRY)
    assert mapped.body is None and mapped.code == UNKNOWN
    assert where in mapped.message and "POST /v1/gs1-identifiers" in mapped.message


def test_a_gs1_identifier_with_a_wrong_check_digit_is_invalid_not_unknown():
    [mapped] = map_document(example_9_6_2(bizLocation={"id": "https://id.gs1.org/414/0614141008888"}), "org-a", REGISTRY)
    assert mapped.code == "epcis_invalid" and "check digit" in mapped.message


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20)
                    | st.sampled_from(["urn:epc:id:sgln:0614141.00888.0", "https://id.gs1.org/01/09521234543213",
                                       "urn:epc:class:lgtin:4012345.012345.9", "receiving", "shipping", "owning_party"]),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                    max_leaves=12)
HOSTILE = st.sampled_from([5, True, "x", [], {}, [5], [None], {"id": 5}, "1e999999999", [{"quantity": 1}]])
FIELDS = ["type", "eventID", "eventTime", "eventTimeZoneOffset", "bizStep", "bizLocation", "readPoint", "quantityList",
          "sourceList", "destinationList", "bizTransactionList", "inputQuantityList", "outputQuantityList",
          "asi:processStep", "asi:cocQuantity", "asi:shipmentReference"]


def valid_events():
    transformation = {"type": "TransformationEvent", "eventTime": "2026-05-03T08:00:00Z", "asi:processStep": "remelting",
                      "bizLocation": {"id": "urn:epc:id:sgln:0614141.00888.0"},
                      "inputQuantityList": [{"epcClass": "urn:asi:class:aluminium:ingot", "quantity": 2, "uom": "TNE"}],
                      "outputQuantityList": [{"epcClass": "urn:asi:class:aluminium:ingot", "quantity": 1, "uom": "TNE"}]}
    return [example_9_6_2()["epcisBody"]["eventList"][0], shipping(), transformation]


@settings(max_examples=200)
@given(st.lists(st.fixed_dictionaries({}, optional={f: JSON for f in FIELDS}), max_size=3)
       | st.tuples(st.sampled_from(range(3)), st.sampled_from(FIELDS), HOSTILE | JSON).map(
           lambda c: [{**valid_events()[c[0]], c[1]: c[2]}]))
def test_any_event_content_maps_or_is_refused_with_a_reason_never_an_exception(events):
    """Random events, and valid ones with one field replaced by any JSON value."""
    document = {"type": "EPCISDocument", "epcisBody": {"eventList": events}}
    gs1_numbers(document)
    for mapped in map_document(document, "org-a", REGISTRY):
        assert (mapped.body is None) == (mapped.code is not None)


def shipping(**extra):
    return {"type": "ObjectEvent", "eventTime": "2026-05-04T08:00:00Z", "bizStep": "shipping",
            "bizLocation": {"id": "urn:asi:site:s"}, "bizTransactionList": [{"bizTransaction": "urn:asi:ref:DN-1"}],
            "quantityList": [{"epcClass": "urn:asi:class:aluminium:ingot", "quantity": 1000, "uom": "KGM"}],
            "destinationList": [{"type": "owning_party", "destination": "urn:asi:org:c"}], **extra}


@pytest.mark.parametrize("extra", [
    {"bizTransactionList": 5},  # was a TypeError: an internal error
    {"quantityList": [{"epcClass": "urn:asi:class:aluminium:ingot", "quantity": "1e999999999", "uom": "KGM"}]},
    {"quantityList": [{"epcClass": "urn:asi:class:aluminium:ingot", "quantity": Decimal("1e-999999999"), "uom": "KGM"}]},
    {"asi:cocQuantity": "1e99999"},
])
def test_hostile_values_are_refused_with_a_reason_quickly(extra):
    [mapped] = map_document({"type": "EPCISDocument", "epcisBody": {"eventList": [shipping(**extra)]}}, "org-a")
    assert mapped.code == "epcis_invalid"


def test_a_plain_shipping_event_still_maps():
    [mapped] = map_document({"type": "EPCISDocument", "epcisBody": {"eventList": [shipping()]}}, "org-a")
    assert mapped.body["shipment_reference"] == "DN-1" and mapped.body["quantity"] == "1000"


# ---- every accepted form and every refusal's reason (issue 24) ----

@pytest.mark.parametrize(("text", "kind", "number"), [
    ("https://id.gs1.org/01/96385074", "gtin", "00000096385074"),  # GTIN-8 in a Digital Link
    ("http://example.com/01/950110153007", "gtin", "00950110153007"),  # GTIN-12, plain http
    ("https://id.gs1.org/01/9521234543213", "gtin", "09521234543213"),  # GTIN-13
    ("https://id.gs1.org/417/9521234000006", "gln", "9521234000006"),  # a party GLN
    ("HTTP://ID.GS1.ORG/414/9521234000006", "gln", "9521234000006"),
    ("950110153007", "gtin", "00950110153007"),
    ("09521234543213", "gtin", "09521234543213"),
])
def test_every_form_of_gtin_and_gln_the_standards_allow_is_read(text, kind, number):
    assert gs1.looks_like_gs1(text) or text.isdigit()
    assert gs1.parse(text) == gs1.Gs1Id(kind, number)


@pytest.mark.parametrize(("text", "reason"), [
    ("9521234543214", "9521234543214 has a wrong check digit (expected 3)"),
    ("urn:epc:id:sgln:0614141.1234.0", "an SGLN company prefix and location reference are 12 digits together"),
    ("urn:epc:id:sgtin:0614141.81234.1", "an SGTIN company prefix and indicator/item reference are 13 digits together"),
    ("urn:epc:id:sgtin:0614141812345.", "an SGTIN company prefix and indicator/item reference are 13 digits together"),
    ("urn:asi:site:x", "'urn:asi:site:x' is not a GS1 identifier (SGLN, PGLN, SGTIN, LGTIN, Digital Link, GLN or GTIN)"),
    ("952123454321", "00952123454321 has a wrong check digit (expected 4)"),  # a GTIN-12
    ("95212345432", "'95212345432' is not a GS1 identifier (SGLN, PGLN, SGTIN, LGTIN, Digital Link, GLN or GTIN)"),
    ("https://id.gs1.org/01/952123454", "'https://id.gs1.org/01/952123454' is not a GS1 Digital Link with a GTIN (01), "
     "a location GLN (414) or a party GLN (417)"),
])
def test_each_malformed_identifier_says_what_is_wrong(text, reason):
    with pytest.raises(gs1.NotGs1) as refused:
        gs1.parse(text)
    assert str(refused.value) == reason


@pytest.mark.parametrize(("text", "looks"), [
    ("https://example.com/products/can", False),
    ("https://example.com/01/x", True),
    ("http://example.com/417/9521234000006", True),
    ("urn:epc:id:sgln:0614141.12345.400", True),
    ("urn:asi:site:x", False),
])
def test_what_looks_like_a_gs1_identifier_is_a_gs1_uri_or_a_digital_link_path(text, looks):
    assert gs1.looks_like_gs1(text) is looks
