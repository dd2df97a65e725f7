"""The UNTP Digital Product Passport of a CoC Document validates against the UNTP DPP 0.6.1 JSON
Schema (vendored from the UNTP specification repository, tests/vendor/untp/README.md), for the
holder (mass, signed document inside) and for the public (neither)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from contracts.common import Role
from services.gateway.domain import passport
from services.gateway.domain.access import Principal
from services.gateway.upstream import Upstream, issuer_certificates, view
from tests.unit.gateway.test_upstream import DAY, DRAWN, walk

SCHEMA = json.loads((Path(__file__).parents[2] / "vendor" / "untp" / "untp-dpp-schema-0.6.1.json").read_text())
VALIDATOR = Draft202012Validator(SCHEMA, format_checker=FormatChecker())

DOCUMENT = {
    "document_id": "doc-cans-1", "issuer_organisation_id": "cans", "issuer_site_id": "cans",
    "issuer_certificate_number": "ASI-COC-0007", "recipient_organisation_id": "brand", "recipient_site_id": None,
    "issued_on": "2026-05-01", "shipment_reference": "DN-0001", "movement_id": "m-1",
    "material_category": "aluminium", "product_form": "can-body", "coc_mass_kg": "60000.000",
    "rule_set_id": "v3-draft-group-credit", "rule_set_version": "1", "recycled_content_share": "0.428571",
    "recycled_content_method": None, "carbon_footprint_kg_co2e_per_kg": "0.5",
}
RECORD = {"_id": "doc-cans-1", "document": DOCUMENT, "signature": "eyJ.x.y", "key_id": "kid-1",
          "issuer_organisation_id": "cans", "recipient_organisation_id": "brand"}


def upstream() -> Upstream:
    sites = {s: {"_id": s, "organisation_id": s, "name": f"{s} site", "country": c, "activities": [a]}
             for s, c, a in (("cans", "DE", "can_making"), ("site-mill", "CH", "rolling"), ("mine", "AU", "mining"))}
    return Upstream(DOCUMENT, walk("site:cans|p", DAY, DRAWN), "site:cans|p", {}, sites,
                    {"cans": {"_id": "cans", "name": "Bonn Can Company"}, "mill": {"_id": "mill", "name": "Sierre"}},
                    {"cans": [{"certificate_number": "ASI-COC-0007", "standard": "chain_of_custody",
                               "status_on_document_date": "active"}]}, set())


def errors(document: dict) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in VALIDATOR.iter_errors(json.loads(json.dumps(document)))]


def test_the_holders_passport_validates_and_carries_the_mass_and_the_signed_document():
    u = upstream()
    holder = view(u, Principal("cans", Role.PRODUCER, "k"))
    dpp = passport.passport("https://asi.example", "did:web:asi.example", RECORD, holder, issuer_certificates(u), public=False)
    assert errors(dpp) == []
    subject = dpp["credentialSubject"]
    assert subject["product"]["dimensions"]["weight"] == {"type": ["Measure"], "value": 60000.0, "unit": "KGM"}
    assert dpp["cocDocument"] == {"document": DOCUMENT, "jws": "eyJ.x.y", "keyId": "kid-1"}
    assert subject["circularityScorecard"]["recycledContentExact"] == "0.428571"
    assert "emissionsScorecard" not in subject  # a stated footprint is not an assured one
    assert [m["massFraction"] for m in subject["materialsProvenance"]] == [0.8, 0.2]
    assert len(subject["upstream"]["levels"]) == 5
    [claim] = subject["conformityClaim"]
    assert claim["conformance"] is True and "ASI-COC-0007" in claim["id"] and claim["conformityTopic"]


def test_the_public_passport_validates_without_masses_names_or_the_document():
    dpp = passport.passport("https://asi.example", "did:web:asi.example", RECORD, view(upstream(), None),
                                issuer_certificates(upstream()), public=True)
    assert errors(dpp) == []
    text = json.dumps(dpp)
    assert "dimensions" not in text and "cocDocument" not in text and "coc_mass_kg" not in text
    assert "Sierre" not in text and "Bonn Can Company" not in text


@pytest.mark.parametrize("break_it", [
    lambda d: d.pop("issuer"),
    lambda d: d["credentialSubject"]["conformityClaim"][0].update(conformityTopic="asi.coc"),
    lambda d: d.update(validFrom="2026-05-01"),
])
def test_the_schema_catches_a_broken_passport(break_it):
    dpp = passport.passport("https://asi.example", "did:web:asi.example", RECORD, view(upstream(), None),
                                issuer_certificates(upstream()), public=True)
    break_it(dpp)
    assert errors(dpp)


def test_a_suspended_certificate_on_the_date_is_declared_as_not_conforming():
    u = upstream()
    u.certificates["cans"][0]["status_on_document_date"] = "suspended"
    dpp = passport.passport("https://asi.example", "did:web:asi.example", RECORD, view(u, None), issuer_certificates(u),
                                public=True)
    assert [c["conformance"] for c in dpp["credentialSubject"]["conformityClaim"]] == [False]
    assert Decimal(dpp["credentialSubject"]["circularityScorecard"]["recycledContentExact"]) == Decimal("0.428571")


def test_the_passport_shows_the_pre_and_post_consumer_split_and_the_period_accounting_named():
    document = {**DOCUMENT, "recycled_content_share": "0.45", "recycled_pre_consumer_share": "0.15",
                "recycled_post_consumer_share": "0.3", "recycled_content_period_start": "2026-01-01",
                "recycled_content_period_end": "2026-12-31", "recycled_content_method": "ISO 14021 by mass"}
    u = upstream()
    dpp = passport.passport("https://asi.example", "did:web:asi.example", {**RECORD, "document": document},
                            view(u, Principal("cans", Role.PRODUCER, "k")), issuer_certificates(u), public=True)
    assert errors(dpp) == []
    card = dpp["credentialSubject"]["circularityScorecard"]
    assert (card["recycledContentExact"], card["recycledContentPreConsumer"], card["recycledContentPostConsumer"],
            card["recycledContentPeriodStart"], card["recycledContentPeriodEnd"], card["recycledContentMethod"]) == (
        "0.45", "0.15", "0.3", "2026-01-01", "2026-12-31", "ISO 14021 by mass")


def test_the_holder_sees_a_row_per_supplier_its_own_masses_only_and_the_accounts_on_request():
    u = upstream()
    cans, mill = Principal("cans", Role.PRODUCER, "k"), Principal("mill", Role.PRODUCER, "k")
    holder = view(u, cans)
    [level1, level2] = [holder["levels"][0]["sources"], holder["levels"][1]["sources"]]
    assert [(s["kind"], s["share"], s["coc_mass_kg"]) for s in level1] == [
        ("coc_document", "0.800000", "440000"), ("non_coc", "0.200000", "0")]  # the can maker's own account
    assert all(s["coc_mass_kg"] is None for s in level2) and "accounts" not in str(holder)
    assert view(u, mill)["levels"][1]["sources"][0]["coc_mass_kg"] is None  # site:mill's owner is not known yet
    u.sites["mill"] = {"_id": "mill", "organisation_id": "mill", "name": "Sierre", "country": "CH", "activities": []}
    assert [(s["kind"], s["coc_mass_kg"]) for s in view(u, mill)["levels"][1]["sources"]] == [
        ("coc_document", "400000"), ("coc_document", "300000"), ("non_coc", "0")]
    assert view(u, mill)["levels"][0]["sources"][0]["coc_mass_kg"] is None  # the can maker's, not the mill's
    assert all(s["coc_mass_kg"] is None for s in view(u, cans)["levels"][1]["sources"])
    detailed = view(u, cans, accounts=True)
    [part] = detailed["levels"][0]["sources"][0]["accounts"]
    assert part == {"account_id": "site:cans", "period_id": "p", "into_organisation_id": "cans", "share": "0.800000",
                    "document_ids": ["doc-mill"], "coc_mass_kg": "440000"}
    level2_parts = [p for s in detailed["levels"][1]["sources"] for p in s["accounts"]]
    assert sum(Decimal(p["share"]) for p in level2_parts) == 1 and all(p["coc_mass_kg"] is None for p in level2_parts)
    assert "accounts" not in str(view(u, None, accounts=True))  # the public never gets them


def test_the_holders_passport_in_full():
    """Every term a reader of the UNTP passport reads (issue 24); the upstream levels are the view's own."""
    u = upstream()
    holder = view(u, Principal("cans", Role.PRODUCER, "k"))
    dpp = passport.passport("https://asi.example/", "did:web:asi.example", RECORD, holder, issuer_certificates(u),
                            public=False)
    doc = "https://asi.example/documents/doc-cans-1"
    coc = "ASI Chain of Custody Standard"
    assert dpp["credentialSubject"].pop("upstream") == {"method": holder["method"], "levels": holder["levels"]}
    assert dpp == {
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://test.uncefact.org/vocabulary/untp/dpp/0.6.1/"],
        "type": ["DigitalProductPassport", "VerifiableCredential"],
        "id": f"{doc}/passport",
        "issuer": {"type": ["CredentialIssuer"], "id": "did:web:asi.example", "name": "ASI chain-of-custody platform"},
        "validFrom": "2026-05-01T00:00:00Z",
        "credentialSubject": {
            "type": ["ProductPassport"], "id": doc, "granularityLevel": "batch",
            "product": {
                "type": ["Product"], "id": doc, "name": "can-body (aluminium)", "batchNumber": "DN-0001",
                "productionDate": "2026-05-01", "countryOfProduction": "DE",
                "producedByParty": {"id": "urn:asi:member:cans", "name": "Bonn Can Company"},
                "producedAtFacility": {"id": "urn:asi:site:cans", "name": "cans site"},
                "dimensions": {"type": ["Dimension"], "weight": {"type": ["Measure"], "value": 60000.0, "unit": "KGM"}},
            },
            "conformityClaim": [{
                "type": ["Claim", "Declaration"], "id": "https://asi.example/certificates/ASI-COC-0007",
                "description": f"{coc} certificate ASI-COC-0007, active on 2026-05-01",
                "referenceStandard": {"type": ["Standard"], "name": coc, "issuingParty": {
                    "id": "https://aluminium-stewardship.org", "name": "Aluminium Stewardship Initiative"}},
                "assessmentDate": "2026-05-01", "conformityTopic": "governance.transparency", "conformance": True,
            }],
            "materialsProvenance": [
                {"type": ["Material"], "name": "coc_document", "massFraction": 0.8, "upstreamKind": "coc_document",
                 "originCountry": "CH"},
                {"type": ["Material"], "name": "non_coc", "massFraction": 0.2, "upstreamKind": "non_coc"},
            ],
            "circularityScorecard": {
                "type": ["CircularityPerformance"], "recycledContent": 0.428571, "recycledContentExact": "0.428571",
                "recycledContentMethod": "eligible scrap share of the period's CoC inputs (the books)"},
        },
        "cocDocument": {"document": DOCUMENT, "jws": "eyJ.x.y", "keyId": "kid-1"},
    }


def test_the_public_passport_is_its_own_address_and_names_only_what_is_public():
    u = upstream()
    dpp = passport.passport("https://asi.example", "did:web:asi.example", RECORD, view(u, None),
                            issuer_certificates(u), public=True)
    assert dpp["id"] == "https://asi.example/documents/doc-cans-1/passport.json"
    assert set(dpp["credentialSubject"]["product"]) == {"type", "id", "name", "batchNumber", "productionDate",
                                                        "countryOfProduction"}
