"""Wording rules, one table row per rule and spelling."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from contracts.claims import ClaimReason, ClaimType
from services.claims.domain.rule_sets import CURRENT, wording_rules
from services.claims.domain.wording import check_wording, normalise, quoted_certificate_numbers
from tests.unit.claims.builders import COC_NUMBER, LINK, WORDING, request

RULES = wording_rules()


def codes(reasons) -> list[str]:
    return [r.code for r in reasons]


@pytest.mark.parametrize(
    "text, rule",
    [
        ("100% certified aluminium", "hundred_percent"),
        ("100 % recycled can", "hundred_percent"),
        ("100.0% responsibly sourced", "hundred_percent"),
        ("One-Hundred Percent responsible", "hundred_percent"),
        ("100 per cent ASI aluminium", "hundred_percent"),
        ("100\uff05 ASI", "hundred_percent"),
        ("Fully certified aluminium", "fully_certified"),
        ("fully traceable metal", "fully_traceable"),
        ("FULLY-TRACEABLE metal", "fully_traceable"),
        ("full traceability guaranteed", "fully_traceable"),
        ("From mine to can", "mine_to_product"),
        ("mine\u2014to\u2014can responsibility", "mine_to_product"),
        ("Responsible from mine to shelf!", "mine_to_product"),
        ("Carbon neutral packaging", "carbon_neutral"),
        ("carbon-neutral", "carbon_neutral"),
        ("CO\u2082-neutral can", "carbon_neutral"),
        ("a net-zero can", "carbon_neutral"),
        ("Traceable to the mine.", "traceable_to_source"),
        ("traceable, to the MINE", "traceable_to_source"),
        ("traceable back to the mine", "traceable_to_source"),
    ],
)
@pytest.mark.parametrize("claim_type", list(ClaimType))
def test_a_mass_balance_claim_may_not_say_or_imply_more_than_the_books_support(
    text, rule, claim_type
):
    wording = f"{WORDING[claim_type]}. {text}"
    reasons = check_wording(request(claim_type, wording=wording), RULES)
    misleading = [r for r in reasons if r.code == ClaimReason.MISLEADING_WORDING]
    assert len(misleading) == 1 and rule in misleading[0].message, reasons
    assert misleading[0].field == "wording"


@pytest.mark.parametrize(
    "text",
    [
        "1000 cans a day",
        "100 g of aluminium in a pack of 1000",
        "recyclable, carbonated, determined",
        "supports responsible aluminium production",
        "mined responsibly, cast in Europe",
        "traceable documentation at the casthouse",
        "neutral colours",
        "2100% better taste",
    ],
)
def test_ordinary_wording_passes(text):
    wording = f"{WORDING[ClaimType.ON_PACK_LOGO]}. {text}"
    assert check_wording(request(wording=wording), RULES) == []


def test_every_broken_rule_is_reported():
    wording = f"{WORDING[ClaimType.ON_PACK_LOGO]}: 100% carbon neutral, from mine to can"
    reasons = check_wording(request(wording=wording), RULES)
    assert codes(reasons) == [ClaimReason.MISLEADING_WORDING] * 3


@pytest.mark.parametrize(
    "claim_type, overrides, field",
    [
        (ClaimType.ON_PACK_LOGO, {"wording": "Responsibly sourced aluminium"}, "wording"),
        (ClaimType.ON_PACK_LOGO, {"wording": "ASI Responsible Sourcing of Aluminium"}, "wording"),
        (ClaimType.ON_PACK_LOGO, {"link": None}, "link"),
        (ClaimType.ON_PACK_LOGO, {"link": "aluminium-stewardship.org"}, "link"),
        (ClaimType.ON_PACK_LOGO, {"link": "ftp://example.org/x"}, "link"),
        (ClaimType.CERTIFIED_TEXT, {"certificate_number": None}, "certificate_number"),
        (ClaimType.CERTIFIED_TEXT, {"wording": "Made by an ASI certified company"}, "wording"),
        (ClaimType.RECYCLED_CONTENT, {"recycled_content_share": None}, "recycled_content_share"),
        (ClaimType.RECYCLED_CONTENT, {"wording": "Contains recycled aluminium"}, "wording"),
        (ClaimType.RECYCLED_CONTENT, {"wording": "Contains 30% recycled aluminium"}, "wording"),
        (ClaimType.RECYCLED_CONTENT, {"link": None}, "link"),
        (
            ClaimType.CARBON_FOOTPRINT,
            {"carbon_footprint_kg_co2e_per_kg": None},
            "carbon_footprint_kg_co2e_per_kg",
        ),
        (
            ClaimType.CARBON_FOOTPRINT,
            {"wording": "Low carbon aluminium: 45 kg CO2e per kg"},
            "wording",
        ),
        (ClaimType.CARBON_FOOTPRINT, {"link": ""}, "link"),
    ],
)
def test_each_claim_type_needs_its_elements(claim_type, overrides, field):
    reasons = check_wording(request(claim_type, **overrides), RULES)
    assert [(r.code, r.field) for r in reasons] == [(ClaimReason.MISSING_ELEMENT, field)]


@pytest.mark.parametrize(
    "claim_type, overrides",
    [
        (ClaimType.ON_PACK_LOGO, {}),
        (ClaimType.ON_PACK_LOGO, {"wording": "asi responsible aluminum sourcing"}),
        (ClaimType.CERTIFIED_TEXT, {"link": None}),
        (ClaimType.CERTIFIED_TEXT, {"wording": f"ASI certified: {COC_NUMBER.lower()}"}),
        (ClaimType.RECYCLED_CONTENT, {"wording": "35 per cent recycled aluminium"}),
        (
            ClaimType.RECYCLED_CONTENT,
            {"recycled_content_share": Decimal("0.355"), "wording": "35.5% recycled"},
        ),
        (
            ClaimType.RECYCLED_CONTENT,
            {"recycled_content_share": Decimal("0.355"), "wording": "35,5 % recycled"},
        ),
        (ClaimType.CARBON_FOOTPRINT, {"wording": "4.50 kg CO2e/kg"}),
        (ClaimType.CARBON_FOOTPRINT, {"wording": "4,5 kg CO2e je kg"}),
    ],
)
def test_complete_claims_pass(claim_type, overrides):
    assert check_wording(request(claim_type, **overrides), RULES) == []


def test_a_missing_logo_wording_is_named_in_its_first_spelling():
    [reason] = check_wording(request(wording="Responsibly sourced aluminium"), RULES)
    assert (reason.code, reason.field) == (ClaimReason.MISSING_ELEMENT, "wording")
    assert RULES.logo_wordings[0] == "ASI Responsible Aluminium Sourcing"
    assert reason.message == (
        "the on-pack logo claim must carry the wording 'ASI Responsible Aluminium Sourcing'"
    )


def test_a_claim_type_the_rules_require_nothing_of_needs_no_element_but_keeps_the_phrase_rules():
    bare = request(wording="Responsibly sourced aluminium", link=None)
    assert [(r.code, r.field) for r in check_wording(bare, RULES)] == [
        (ClaimReason.MISSING_ELEMENT, "link"),
        (ClaimReason.MISSING_ELEMENT, "wording"),
    ]
    no_requirements = replace(RULES, required={})
    assert check_wording(bare, no_requirements) == []
    misleading = request(wording="100% responsibly sourced aluminium", link=None)
    assert [(r.code, r.field) for r in check_wording(misleading, no_requirements)] == [
        (ClaimReason.MISLEADING_WORDING, "wording")
    ]


def test_the_rules_carry_a_version_for_the_evidence():
    assert RULES.version == CURRENT == "asi-claims-2026.3"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("100%", "100 percent"),
        ("  Mine-To-Can!! ", "mine to can"),
        ("100,0 %", "100 percent"),
        ("CO\u2082", "co2"),
        ("4.0kg CO2e", "4kg co2e"),  # "4.0" is "4", with or without a space before the unit
    ],
)
def test_normal_form(text, expected):
    assert normalise(text) == expected


def test_certificate_numbers_quoted_in_the_field_and_the_wording():
    r = request(
        ClaimType.CERTIFIED_TEXT,
        wording=f"Certificates {COC_NUMBER} and asi-ps-2024-00001",
        link=LINK,
    )
    assert quoted_certificate_numbers(r, RULES) == [COC_NUMBER, "asi-ps-2024-00001"]
