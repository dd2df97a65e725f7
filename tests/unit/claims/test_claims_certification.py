"""An on-pack logo claim rests only on full certificates (rule set asi-claims-2026.2, issue 17);
other claim types still accept provisional ones."""

from __future__ import annotations

import pytest

from contracts.claims import ClaimReason, ClaimType
from contracts.registry import CertificateStatus
from services.claims.domain import checks
from services.claims.domain.rule_sets import wording_rules
from tests.unit.claims.builders import COC_NUMBER, PS_NUMBER, TODAY, coc, ps, registry, request

RULES = wording_rules()
PROVISIONAL = CertificateStatus.PROVISIONAL


def test_the_current_rule_set_names_the_on_pack_logo_claim_and_the_first_named_none():
    assert RULES.full_certificate_types == frozenset({ClaimType.ON_PACK_LOGO})
    assert wording_rules("asi-claims-2026.1").full_certificate_types == frozenset()


@pytest.mark.parametrize(
    "reg, provisional_numbers",
    [
        (registry(ps(), coc(status=PROVISIONAL)), [COC_NUMBER]),
        (registry(ps(status=PROVISIONAL), coc()), [PS_NUMBER]),
        (registry(ps(status=PROVISIONAL), coc(status=PROVISIONAL)), [PS_NUMBER, COC_NUMBER]),
    ],
)
def test_an_on_pack_logo_claim_on_a_provisional_certificate_is_refused_naming_it(
    reg, provisional_numbers
):
    result = checks.static_checks(request(ClaimType.ON_PACK_LOGO), reg, RULES, TODAY)
    assert [r.code for r in result.reasons] == [ClaimReason.FULL_CERTIFICATE_REQUIRED] * len(
        provisional_numbers
    )
    assert {r.field for r in result.reasons} == {"claimant_organisation_id"}
    assert [n for n in provisional_numbers if not any(n in r.message for r in result.reasons)] == []


def test_the_same_claim_on_full_certificates_passes_and_rests_on_them():
    result = checks.static_checks(
        request(ClaimType.ON_PACK_LOGO), registry(ps(), coc()), RULES, TODAY
    )
    assert result.passed
    assert [c.certificate_number for c in result.resting_on] == [PS_NUMBER, COC_NUMBER]


def test_a_full_certificate_beside_a_provisional_one_is_the_one_relied_on_when_it_covers():
    # An upgraded certificate is the same certificate, status active; an older provisional
    # certificate of the same standard that outlives it would still be preferred by validity, and
    # is refused: the rule reads what the claim would rest on.
    full = coc(certificate_id="full", number="ASI-COC-2025-1")
    longer_provisional = coc(status=PROVISIONAL, valid_until=TODAY.replace(year=TODAY.year + 3))
    refused = checks.static_checks(
        request(ClaimType.ON_PACK_LOGO), registry(ps(), full, longer_provisional), RULES, TODAY
    )
    assert [r.code for r in refused.reasons] == [ClaimReason.FULL_CERTIFICATE_REQUIRED]
    passed = checks.static_checks(
        request(ClaimType.ON_PACK_LOGO), registry(ps(), full), RULES, TODAY
    )
    assert passed.passed


@pytest.mark.parametrize(
    "claim_type", [ClaimType.CERTIFIED_TEXT, ClaimType.RECYCLED_CONTENT, ClaimType.CARBON_FOOTPRINT]
)
def test_other_claim_types_accept_a_provisional_certificate(claim_type):
    reg = registry(ps(status=PROVISIONAL), coc(status=PROVISIONAL))
    assert checks.static_checks(request(claim_type), reg, RULES, TODAY).passed


def test_the_first_rule_set_still_decides_as_it_did():
    reg = registry(ps(status=PROVISIONAL), coc(status=PROVISIONAL))
    old = wording_rules("asi-claims-2026.1")
    assert checks.static_checks(request(ClaimType.ON_PACK_LOGO), reg, old, TODAY).passed
