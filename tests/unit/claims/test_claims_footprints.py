"""The footprint rule (`services/claims/domain/footprints.py`, issue 18 item 5): a carbon-footprint
claim rests on an assured PACT footprint of its product; every refusal names its reason and field.
And the PACT contract itself (`contracts/pact.py`): PACT property names on the wire, exact
decimals."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from pydantic import ValidationError

from contracts.claims import ClaimReason, ClaimType, FootprintSubmitted
from contracts.common import Actor, Role
from contracts.pact import AssuranceCoverage, ProductFootprint
from services.claims.domain import checks, footprints
from services.claims.domain.footprints import FootprintRules
from services.claims.domain.rule_sets import wording_rules
from tests.unit.claims.builders import (
    BRAND,
    FOOTPRINT_ID,
    NOW,
    PRODUCT_ID,
    TODAY,
    allocation,
    footprint,
    pact,
    registry,
    request,
)

RULES = FootprintRules()


def found(
    claim: Any = None, *kept: footprints.Footprint, rules: FootprintRules = RULES
) -> list[tuple[str, str | None]]:
    wanted = claim or request(ClaimType.CARBON_FOOTPRINT)
    store = {str(f.footprint_id): f for f in (kept or (footprint(),))}
    return [(r.code, r.field) for r in footprints.footprint_reasons(wanted, store, rules, TODAY)]


def test_an_assured_footprint_of_the_claims_product_supports_the_claim():
    assert found() == []


def test_a_claim_naming_no_footprint_or_one_never_submitted_is_footprint_unknown():
    assert found(request(ClaimType.CARBON_FOOTPRINT, footprint_id=None)) == [
        (ClaimReason.FOOTPRINT_UNKNOWN, "footprint_id")
    ]
    other = "0b6ef6b1-5b7a-4b38-9c39-3a5a2c1a9d10"
    assert found(request(ClaimType.CARBON_FOOTPRINT, footprint_id=other)) == [
        (ClaimReason.FOOTPRINT_UNKNOWN, "footprint_id")
    ]


@pytest.mark.parametrize(
    ("assurance", "field"),
    [
        (None, "pcf.assurance"),
        ({"assurance": False, "providerName": "Verifier", "completedAt": "2026-02-15T00:00:00Z"},
         "pcf.assurance.assurance"),
        ({"assurance": True, "providerName": "Verifier GmbH"}, "pcf.assurance.completedAt"),
        ({"assurance": True, "providerName": "   ", "completedAt": "2026-02-15T00:00:00Z"},
         "pcf.assurance.providerName"),
    ],
)  # fmt: skip
def test_a_footprint_without_third_party_assurance_recorded_is_not_assured(assurance, field):
    assert found(None, footprint(pcf={"assurance": assurance})) == [
        (ClaimReason.FOOTPRINT_NOT_ASSURED, field)
    ]


def test_an_assurance_without_provider_is_not_a_pact_document():
    with pytest.raises(ValidationError):
        footprint(pcf={"assurance": {"assurance": True, "completedAt": "2026-02-15T00:00:00Z"}})


def test_a_rule_set_may_restrict_the_coverage_an_assurance_must_have():
    product_level = FootprintRules(accepted_coverages=frozenset({AssuranceCoverage.PRODUCT_LEVEL}))
    assert found(rules=product_level) == []
    corporate = footprint(
        pcf={"assurance": {**pact()["pcf"]["assurance"], "coverage": "corporate level"}}
    )
    assert found(None, corporate, rules=product_level) == [
        (ClaimReason.FOOTPRINT_NOT_ASSURED, "pcf.assurance.coverage")
    ]
    assert found(None, corporate) == []  # the default: PACT leaves coverage to the provider


def test_a_footprint_of_another_product_is_a_product_mismatch():
    assert found(request(ClaimType.CARBON_FOOTPRINT, product_id="GTIN-09999")) == [
        (ClaimReason.FOOTPRINT_PRODUCT_MISMATCH, "product.product_id")
    ]


@pytest.mark.parametrize(
    "urn", [f"urn:gtin:{PRODUCT_ID}", f"URN:GTIN:{PRODUCT_ID.lower()}", PRODUCT_ID]
)
def test_the_product_is_named_by_the_urn_or_its_last_part(urn):
    if not urn.lower().startswith("urn:"):
        urn = f"urn:example:product:{urn}"
    assert footprints.names_product(footprint(productIds=[urn]).document, PRODUCT_ID)
    assert not footprints.names_product(footprint(productIds=[urn + "0"]).document, PRODUCT_ID)


def test_a_footprint_whose_validity_ends_before_the_claim_does_is_expired():
    short = footprint(
        validityPeriodStart="2026-01-01T00:00:00Z", validityPeriodEnd="2027-03-31T00:00:00Z"
    )
    assert found(None, short) == [(ClaimReason.FOOTPRINT_EXPIRED, "period_end")]


def test_without_a_validity_end_a_footprint_is_valid_three_years_after_its_reference_period():
    # reference period 2024 (end exclusive 2025-01-01): valid to 2027-12-31, past the claim's end
    year_2024 = {
        "referencePeriodStart": "2024-01-01T00:00:00Z",
        "referencePeriodEnd": "2025-01-01T00:00:00Z",
    }
    assert footprints.validity_end(footprint(pcf=year_2024).document, RULES) == date(2027, 12, 31)
    assert found(None, footprint(pcf=year_2024)) == []
    year_2023 = {
        "referencePeriodStart": "2023-01-01T00:00:00Z",
        "referencePeriodEnd": "2024-01-01T00:00:00Z",
    }
    assert found(None, footprint(pcf=year_2023)) == [(ClaimReason.FOOTPRINT_EXPIRED, "period_end")]
    assert (
        found(None, footprint(pcf=year_2023), rules=FootprintRules(default_validity_years=4)) == []
    )


def test_a_deprecated_footprint_does_not_support_a_claim():
    assert found(None, footprint(status="Deprecated")) == [
        (ClaimReason.FOOTPRINT_DEPRECATED, "footprint.status")
    ]


def test_a_footprint_from_outside_the_claims_supply_chain_is_refused_a_named_suppliers_is_not():
    assert found(None, footprint(owner="producer-9")) == [
        (ClaimReason.FOOTPRINT_NOT_IN_SUPPLY_CHAIN, "footprint_id")
    ]
    via_supplier = request(ClaimType.CARBON_FOOTPRINT)
    product = via_supplier.product.model_copy(update={"supplier_organisation_ids": ["producer-9"]})
    assert (
        found(via_supplier.model_copy(update={"product": product}), footprint(owner="producer-9"))
        == []
    )


def test_a_footprint_declared_per_another_unit_than_the_kilogram_cannot_support_a_per_kg_figure():
    assert found(None, footprint(pcf={"declaredUnit": "liter"})) == [
        (ClaimReason.FOOTPRINT_UNIT_NOT_KILOGRAM, "pcf.declaredUnit")
    ]


def test_a_claimed_figure_below_the_footprints_is_not_supported():
    below = request(ClaimType.CARBON_FOOTPRINT, carbon_footprint_kg_co2e_per_kg=Decimal("4.19"),
                    wording="Aluminium footprint: 4.19 kg CO2e per kg (mass balance)")  # fmt: skip
    assert found(below) == [
        (ClaimReason.CARBON_FOOTPRINT_UNSUPPORTED, "carbon_footprint_kg_co2e_per_kg")
    ]
    at = request(ClaimType.CARBON_FOOTPRINT, carbon_footprint_kg_co2e_per_kg=Decimal("4.2"),
                 wording="Aluminium footprint: 4.2 kg CO2e per kg (mass balance)")  # fmt: skip
    assert found(at) == []


def test_every_failure_is_reported_together():
    bad = footprint(
        owner="producer-9", status="Deprecated", productIds=["urn:gtin:1"], pcf={"assurance": None}
    )
    assert {code for code, _ in found(None, bad)} == {
        ClaimReason.FOOTPRINT_NOT_IN_SUPPLY_CHAIN,
        ClaimReason.FOOTPRINT_DEPRECATED,
        ClaimReason.FOOTPRINT_NOT_ASSURED,
        ClaimReason.FOOTPRINT_PRODUCT_MISMATCH,
    }


def test_other_claim_types_need_no_footprint():
    assert found(request(ClaimType.CERTIFIED_TEXT), footprint(pcf={"assurance": None})) == []


def test_the_current_rule_set_checks_the_footprint_and_no_longer_the_number_on_the_shipments():
    current = wording_rules()
    claim = request(ClaimType.CARBON_FOOTPRINT)
    unassured = registry(footprints=(footprint(pcf={"assurance": None}),))
    result = checks.static_checks(claim, unassured, current, TODAY)
    assert [(r.code, r.field) for r in result.reasons] == [
        (ClaimReason.FOOTPRINT_NOT_ASSURED, "pcf.assurance")
    ]
    # a shipment's typed footprint above the claim no longer decides anything ...
    assert checks.allocation_reasons(claim, allocation(footprint="9.9"), current) == []
    # ... but still does under the earlier rule sets, whose decisions stand as they were made
    earlier = wording_rules("asi-claims-2026.2")
    assert checks.static_checks(claim, registry(footprints=()), earlier, TODAY).passed
    assert [
        r.code for r in checks.allocation_reasons(claim, allocation(footprint="9.9"), earlier)
    ] == [ClaimReason.CARBON_FOOTPRINT_UNSUPPORTED]


def test_the_evidence_names_the_footprint_and_its_assurance():
    result = checks.static_checks(
        request(ClaimType.CARBON_FOOTPRINT), registry(), wording_rules(), TODAY
    )
    assert result.passed and result.footprint is not None
    evidence = result.footprint
    assert (evidence.footprint_id, evidence.version, evidence.submitted_by) == (
        UUID(FOOTPRINT_ID),
        1,
        BRAND,
    )
    assert (evidence.assurance_provider, evidence.assurance_level) == ("Verifier GmbH", "limited")
    assert evidence.pcf_excluding_biogenic == Decimal("4.2") and evidence.valid_until == date(
        2028, 12, 31
    )


# ---- the PACT contract ---------------------------------------------------------------------------


def test_a_pact_document_keeps_pact_property_names_and_exact_decimals_on_the_wire():
    document = ProductFootprint.model_validate(pact())
    assert document.pcf.p_cf_excluding_biogenic == Decimal("4.2")
    out = document.document()
    assert out["pcf"]["pCfExcludingBiogenic"] == "4.2"
    assert out["pcf"]["assurance"]["providerName"] == "Verifier GmbH"
    assert out["productCategoryCpc"] == "42999" and "product_ids" not in out
    assert ProductFootprint.model_validate_json(json.dumps(out)) == document


@pytest.mark.parametrize("missing", ["fossilGhgEmissions", "declaredUnit", "referencePeriodEnd"])
def test_a_pact_document_without_a_required_pcf_property_is_refused(missing):
    body = pact()
    del body["pcf"][missing]
    with pytest.raises(ValidationError) as refused:
        ProductFootprint.model_validate(body)
    assert missing in str(refused.value)


def test_a_pact_decimal_sent_as_a_binary_float_is_refused():
    with pytest.raises(ValidationError) as refused:
        ProductFootprint.model_validate_json(json.dumps(pact(pcf={"pCfExcludingBiogenic": 4.2})))
    assert "pCfExcludingBiogenic" in str(refused.value)


def test_a_footprint_submission_carries_the_pact_document_with_its_property_names():
    document = ProductFootprint.model_validate(pact())
    actor = Actor(organisation_id=BRAND, role=Role.PRODUCER)
    key = f"footprint:{FOOTPRINT_ID}"
    message = FootprintSubmitted.create(
        actor=actor,
        occurred_at=NOW,
        claim_id=key,
        producer_organisation_id=BRAND,
        footprint=document,
    )
    wire = json.loads(message.model_dump_json())
    assert wire["footprint"]["pcf"]["pCfExcludingBiogenic"] == "4.2"
    assert FootprintSubmitted.model_validate_json(message.model_dump_json()) == message
