"""Each check of a claim fails with its own reason code; all failures are reported together."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from contracts.claims import ClaimReason, ClaimType
from contracts.common import Actor, Role
from contracts.registry import CertificateStatus
from services.claims.domain import checks
from services.claims.domain.rule_sets import wording_rules
from tests.unit.claims.builders import (
    BRAND,
    COC_NUMBER,
    TODAY,
    allocation,
    certificate,
    coc,
    ps,
    registry,
    request,
)

RULES = wording_rules()


def reasons_of(req=None, reg=None, today=TODAY) -> list[str]:
    result = checks.static_checks(req or request(), reg or registry(), RULES, today)
    return [r.code for r in result.reasons]


def test_a_good_request_passes_and_rests_on_one_ps_and_one_coc_certificate():
    result = checks.static_checks(request(), registry(), RULES, TODAY)
    assert result.passed
    assert [c.standard.value for c in result.resting_on] == [
        "performance_standard",
        "chain_of_custody",
    ]
    assert result.claimed_mass_kg == Decimal("13000.000")


@pytest.mark.parametrize(
    "reg, code",
    [
        (registry(members=()), ClaimReason.NOT_A_MEMBER),
        (registry(coc()), ClaimReason.NO_CURRENT_PS),
        (registry(ps()), ClaimReason.NO_CURRENT_COC),
        (registry(ps(status=CertificateStatus.SUSPENDED), coc()), ClaimReason.NO_CURRENT_PS),
        (registry(ps(), coc(status=CertificateStatus.WITHDRAWN)), ClaimReason.NO_CURRENT_COC),
        (registry(ps(), coc(status=CertificateStatus.EXPIRED)), ClaimReason.NO_CURRENT_COC),
        (registry(ps(), coc(status=CertificateStatus.SUPERSEDED)), ClaimReason.NO_CURRENT_COC),
        (registry(ps(), coc(valid_until=TODAY - timedelta(days=1))), ClaimReason.NO_CURRENT_COC),
        (registry(ps(), coc(valid_from=TODAY + timedelta(days=1))), ClaimReason.NO_CURRENT_COC),
        (registry(ps(), coc(org="someone-else")), ClaimReason.NO_CURRENT_COC),
        (registry(ps(), coc(products=("GTIN-other",))), ClaimReason.PRODUCT_NOT_COVERED),
        (registry(ps(products=("GTIN-other",)), coc()), ClaimReason.PRODUCT_NOT_COVERED),
    ],
)
def test_membership_and_certificates(reg, code):
    assert reasons_of(reg=reg) == [code]


@pytest.mark.parametrize(
    "reg",
    [
        registry(
            ps(status=CertificateStatus.PROVISIONAL), coc(status=CertificateStatus.PROVISIONAL)
        ),
        registry(
            ps(products=("GTIN-05000112637922",)), coc(products=("GTIN-x", "GTIN-05000112637922"))
        ),
        registry(
            ps(),
            coc(status=CertificateStatus.SUSPENDED, number="ASI-COC-2024-1", certificate_id="old"),
            coc(),
        ),
        registry(ps(), coc(valid_until=TODAY)),
    ],
)
def test_current_means_active_or_provisional_within_validity_and_an_empty_product_list_covers_all(
    reg,
):
    # certified text: an on-pack logo claim needs full certificates (test_claims_certification)
    assert reasons_of(req=request(ClaimType.CERTIFIED_TEXT), reg=reg) == []


def test_of_several_covering_certificates_the_longest_valid_is_the_one_relied_on():
    short = coc(number="ASI-COC-2025-1", certificate_id="short", valid_until=date(2026, 12, 31))
    long = coc(number="ASI-COC-2025-2", certificate_id="long", valid_until=date(2028, 12, 31))
    result = checks.static_checks(request(), registry(ps(), short, long), RULES, TODAY)
    assert [c.certificate_id for c in result.resting_on][1] == "long"


@pytest.mark.parametrize(
    "reg, number, problem",
    [
        (registry(), "ASI-COC-2099-99999", "not a known"),
        (
            registry(
                ps(), coc(), coc(org="other", number="ASI-COC-2025-55555", certificate_id="o")
            ),
            "ASI-COC-2025-55555",
            "not a certificate of the claimant",
        ),
        (
            registry(
                ps(),
                coc(),
                coc(
                    number="ASI-COC-2022-00001",
                    certificate_id="old",
                    status=CertificateStatus.EXPIRED,
                ),
            ),
            "ASI-COC-2022-00001",
            "not current",
        ),
    ],
)
def test_a_quoted_certificate_number_must_be_the_claimants_and_current(reg, number, problem):
    req = request(
        ClaimType.CERTIFIED_TEXT, certificate_number=number, wording=f"ASI certified {number}"
    )
    result = checks.static_checks(req, reg, RULES, TODAY)
    assert [r.code for r in result.reasons] == [ClaimReason.CERTIFICATE_NUMBER_INVALID]
    assert problem in result.reasons[0].message


def test_a_number_printed_in_the_wording_is_checked_too():
    req = request(wording="ASI Responsible Aluminium Sourcing, see ASI-COC-2020-00001")
    assert reasons_of(req) == [ClaimReason.CERTIFICATE_NUMBER_INVALID]


def test_the_claimants_own_current_number_passes():
    assert reasons_of(request(ClaimType.CERTIFIED_TEXT, certificate_number=COC_NUMBER)) == []


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"units": None}, "product"),
        ({"units": 10, "total_mass_kg": "1"}, "product.total_mass_kg"),
        ({"period_start": date(2027, 1, 1), "period_end": date(2026, 12, 31)}, "period_end"),
        ({"period_start": date(2025, 1, 1), "period_end": date(2025, 12, 31)}, "period_end"),
    ],
)
def test_an_incomplete_or_inconsistent_request_is_invalid(overrides, field):
    result = checks.static_checks(request(**overrides), registry(), RULES, TODAY)
    assert [(r.code, r.field) for r in result.reasons] == [(ClaimReason.INVALID_REQUEST, field)]


def test_only_the_claimant_or_the_secretariat_may_ask():
    assert reasons_of(request(actor=Actor(organisation_id="rival", role=Role.BRAND_OWNER))) == [
        ClaimReason.REQUESTER_NOT_CLAIMANT
    ]
    assert reasons_of(request(actor=Actor(organisation_id="asi", role=Role.SECRETARIAT))) == []


def test_all_failed_checks_are_reported_not_just_the_first():
    req = request(wording="100% carbon neutral", link=None, units=None)
    assert sorted(reasons_of(req, registry(ps(status=CertificateStatus.SUSPENDED)))) == sorted(
        [
            ClaimReason.INVALID_REQUEST,
            ClaimReason.NO_CURRENT_PS,
            ClaimReason.NO_CURRENT_COC,
            ClaimReason.MISLEADING_WORDING,
            ClaimReason.MISLEADING_WORDING,
            ClaimReason.MISSING_ELEMENT,
            ClaimReason.MISSING_ELEMENT,
        ]
    )


@pytest.mark.parametrize(
    "units, per_unit, total, expected",
    [
        (1_000_000, "0.013", None, Decimal("13000")),
        (3, "0.333333333", None, Decimal("0.999999999")),
        (None, "0.013", "22.5", Decimal("22.5")),
        (2, "0.5", "1", Decimal("1")),
    ],
)
def test_the_claimed_mass_is_exact(units, per_unit, total, expected):
    assert (
        checks.claimed_mass(request(units=units, per_unit=per_unit, total_mass_kg=total))
        == expected
    )


@pytest.mark.parametrize(
    "claim_type, claimed, alloc, code",
    [
        (
            ClaimType.RECYCLED_CONTENT,
            {"recycled_content_share": Decimal("0.41"), "wording": "41% recycled"},
            allocation(recycled="0.40"),
            ClaimReason.RECYCLED_CONTENT_UNSUPPORTED,
        ),
        (
            ClaimType.RECYCLED_CONTENT,
            {},
            allocation(recycled=None),
            ClaimReason.RECYCLED_CONTENT_UNSUPPORTED,
        ),
        (
            ClaimType.RECYCLED_CONTENT,
            {"recycled_content_share": Decimal("0.40"), "wording": "40% recycled"},
            allocation(recycled="0.40", split=None),
            ClaimReason.RECYCLED_CONTENT_UNSUPPORTED,
        ),
        (
            ClaimType.CARBON_FOOTPRINT,
            {"carbon_footprint_kg_co2e_per_kg": Decimal("4.1"), "wording": "4.1 kg"},
            allocation(footprint="4.2"),
            ClaimReason.CARBON_FOOTPRINT_UNSUPPORTED,
        ),
        (
            ClaimType.CARBON_FOOTPRINT,
            {},
            allocation(footprint=None),
            ClaimReason.CARBON_FOOTPRINT_UNSUPPORTED,
        ),
        (ClaimType.ON_PACK_LOGO, {}, allocation(mass="12999.999"), ClaimReason.MASS_NOT_COVERED),
        (
            ClaimType.RECYCLED_CONTENT,
            {"recycled_content_share": Decimal("0.40"), "wording": "40% recycled"},
            allocation(recycled="0.40"),
            None,
        ),
        (
            ClaimType.CARBON_FOOTPRINT,
            {"carbon_footprint_kg_co2e_per_kg": Decimal("4.2"), "wording": "4.2 kg"},
            allocation(footprint="4.2"),
            None,
        ),
        (ClaimType.ON_PACK_LOGO, {}, allocation(recycled=None, footprint=None), None),
    ],
)
def test_what_the_documents_behind_the_allocation_support(claim_type, claimed, alloc, code):
    reasons = checks.allocation_reasons(request(claim_type, **claimed), alloc)
    assert [r.code for r in reasons] == ([code] if code else [])


@pytest.mark.parametrize(
    "alloc, says",
    [
        (
            allocation(recycled="0.40"),
            "above the 0.4 accounting computed (0.15 pre-consumer, 0.25 post-consumer)",
        ),
        (allocation(recycled="0.40", split=None), "without its pre- and post-consumer split"),
        (allocation(recycled=None), "state no recycled content"),
    ],
)
def test_a_recycled_content_claim_rests_on_the_share_and_split_accounting_computed(alloc, says):
    claimed = request(
        ClaimType.RECYCLED_CONTENT, recycled_content_share=Decimal("0.41"), wording="41% recycled"
    )
    [refused] = checks.allocation_reasons(claimed, alloc)
    assert (refused.code, refused.field) == (
        ClaimReason.RECYCLED_CONTENT_UNSUPPORTED,
        "recycled_content_share",
    )
    assert says in refused.message


def test_the_evidence_quotes_the_computed_share_with_its_split():
    evidence = allocation(recycled="0.40").evidence()
    assert (
        evidence.recycled_content_share,
        evidence.recycled_pre_consumer_share,
        evidence.recycled_post_consumer_share,
    ) == (Decimal("0.40"), Decimal("0.15"), Decimal("0.25"))


def test_certificate_evidence_records_number_status_and_validity():
    result = checks.static_checks(request(), registry(), RULES, TODAY)
    [_ps_evidence, coc_evidence] = result.certificate_evidence()
    assert (coc_evidence.certificate_number, coc_evidence.status, coc_evidence.valid_until) == (
        COC_NUMBER,
        CertificateStatus.ACTIVE,
        date(2027, 12, 31),
    )
    assert certificate(BRAND).certificate_id == coc_evidence.certificate_id


def test_a_named_supplier_needs_a_current_coc_certificate_but_the_approval_rests_on_the_claimants():
    from contracts.claims import ClaimProduct
    from services.claims.domain.checks import static_checks

    supplier_coc = coc(
        org="can-maker", number="ASI-COC-2026-000077", certificate_id="cert-can-maker"
    )
    product = ClaimProduct(
        product_id="GTIN-05000112637922",
        name="Cola 330 ml can",
        aluminium_mass_per_unit_kg="0.013",
        units=1000,
        supplier_organisation_ids=["can-maker"],
    )
    named = request(product=product)
    passed = static_checks(named, registry(ps(), coc(), supplier_coc), RULES, TODAY)
    assert passed.passed and "cert-can-maker" not in [c.certificate_id for c in passed.resting_on]
    assert "cert-can-maker" in [c.certificate_id for c in passed.suppliers]
    assert "cert-can-maker" in [e.certificate_id for e in passed.certificate_evidence()]

    suspended = supplier_coc.model_copy(update={"status": CertificateStatus.SUSPENDED})
    failed = static_checks(named, registry(ps(), coc(), suspended), RULES, TODAY)
    assert [r.code for r in failed.reasons] == [ClaimReason.SUPPLIER_NOT_CERTIFIED]
    missing = static_checks(named, registry(ps(), coc()), RULES, TODAY)
    assert [r.code for r in missing.reasons] == [ClaimReason.SUPPLIER_NOT_CERTIFIED]
