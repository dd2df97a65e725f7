"""Which CoC certificate covers a site or a group account on a day (`domain/certification.py`): the
validity boundaries on both sides, which certificate decides when several name the site, and the
answer when none does. Written against the survivors of `make mutation SERVICE=accounting
MODULE=certification` (2026-12-03)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from contracts.ledger import LedgerReason
from contracts.registry import CertificateStatus
from services.accounting.domain.certification import (
    Coverage,
    SiteCoverage,
    group_coverage,
    site_coverage,
)
from services.accounting.domain.rules import V3_DRAFT_SITE_CREDIT
from services.accounting.domain.scope import may_designate, performance_standard, scope_id
from services.accounting.domain.state import add_to
from tests.unit.accounting.factories import NOW, ORG, certificate, ps_certificate

VALID_FROM, VALID_UNTIL = date(2025, 1, 1), date(2027, 12, 31)  # the factory's certificate


@pytest.mark.parametrize(
    ("day", "coverage"),
    [
        (VALID_FROM - timedelta(days=1), Coverage.LAPSED),
        (VALID_FROM, Coverage.CURRENT),
        (VALID_UNTIL, Coverage.CURRENT),
        (VALID_UNTIL + timedelta(days=1), Coverage.LAPSED),
    ],
)
def test_a_certificate_is_current_from_its_first_to_its_last_valid_day_inclusive(day, coverage):
    cert = certificate()
    assert site_coverage([cert], ORG, "site-a", day) == SiteCoverage(coverage, cert)
    assert group_coverage([cert], ORG, day) == SiteCoverage(coverage, cert)


def _valid_until(cert_id: str, until: date, status: CertificateStatus = CertificateStatus.ACTIVE):
    return certificate(certificate_id=cert_id, status=status).model_copy(
        update={"valid_until": until}
    )


def test_of_several_current_certificates_the_one_valid_longest_decides_then_the_highest_id():
    short, long_ = (
        _valid_until("cert-9", date(2026, 12, 31)),
        _valid_until("cert-2", date(2027, 12, 31)),
    )
    twin = _valid_until("cert-3", date(2027, 12, 31))
    day = date(2026, 6, 1)
    for certificates in ([long_, short], [short, long_]):
        assert site_coverage(certificates, ORG, "site-a", day) == SiteCoverage(
            Coverage.CURRENT, long_
        )
        assert group_coverage(certificates, ORG, day) == SiteCoverage(Coverage.CURRENT, long_)
    for certificates in ([twin, long_], [long_, twin]):
        assert site_coverage(certificates, ORG, "site-a", day).certificate == twin
        assert group_coverage(certificates, ORG, day).certificate == twin


def test_of_several_lapsed_certificates_the_latest_revision_decides_then_the_highest_id():
    older = certificate(certificate_id="cert-9", status=CertificateStatus.SUSPENDED)
    newer = certificate(certificate_id="cert-2", status=CertificateStatus.WITHDRAWN).model_copy(
        update={"updated_at": NOW + timedelta(days=1)}
    )
    twin = certificate(certificate_id="cert-3", status=CertificateStatus.WITHDRAWN).model_copy(
        update={"updated_at": NOW + timedelta(days=1)}
    )
    day = date(2026, 6, 1)
    for certificates in ([newer, older], [older, newer]):
        assert site_coverage(certificates, ORG, "site-a", day) == SiteCoverage(
            Coverage.LAPSED, newer
        )
        assert group_coverage(certificates, ORG, day) == SiteCoverage(Coverage.LAPSED, newer)
    for certificates in ([twin, newer], [newer, twin]):
        assert site_coverage(certificates, ORG, "site-a", day).certificate == twin
        assert group_coverage(certificates, ORG, day).certificate == twin


def test_without_a_coc_certificate_naming_it_a_site_or_group_is_not_covered():
    other_site = certificate(sites=("site-z",))
    other_org = certificate(org="someone-else")
    day = date(2026, 6, 1)
    assert site_coverage([other_site, other_org], ORG, "site-a", day) == SiteCoverage(
        Coverage.NONE, None
    )
    assert group_coverage([other_org], ORG, day) == SiteCoverage(Coverage.NONE, None)
    assert group_coverage([], ORG, day).coverage is Coverage.NONE


def test_performance_standard_coverage_is_chosen_the_same_way_and_ignores_coc_certificates():
    day = date(2026, 6, 1)
    ps_short = ps_certificate(certificate_id="ps-9").model_copy(
        update={"valid_until": date(2026, 12, 31)}
    )
    ps_long = ps_certificate(certificate_id="ps-2")
    for certificates in ([ps_long, ps_short, certificate()], [certificate(), ps_short, ps_long]):
        assert performance_standard(certificates, ORG, "site-a", day) == SiteCoverage(
            Coverage.CURRENT, ps_long
        )
    suspended = ps_certificate(status=CertificateStatus.SUSPENDED)
    assert performance_standard([suspended], ORG, "site-a", day) == SiteCoverage(
        Coverage.LAPSED, suspended
    )
    assert performance_standard([certificate()], ORG, "site-a", day) == SiteCoverage(
        Coverage.NONE, None
    )


def test_a_scope_is_named_after_the_first_certificate_of_its_chain_of_renewals():
    first = certificate(certificate_id="cert-1")
    second = certificate(certificate_id="cert-2", supersedes="cert-1")
    third = certificate(certificate_id="cert-3", supersedes="cert-2")
    everything = [first, second, third]
    assert [scope_id(c, everything) for c in everything] == ["cert-1", "cert-1", "cert-1"]
    # a predecessor not known (not on the platform): the chain starts at the first one known
    assert scope_id(third, [second, third]) == "cert-2"
    assert scope_id(certificate(certificate_id="cert-5", supersedes="cert-4"), []) == "cert-5"
    # a cycle (bad data) ends where it closes instead of looping
    a = certificate(certificate_id="cert-a", supersedes="cert-b")
    b = certificate(certificate_id="cert-b", supersedes="cert-a")
    assert scope_id(a, [a, b]) == "cert-a" and scope_id(b, [a, b]) == "cert-b"


def test_a_scope_chain_that_loops_back_on_itself_ends_where_it_closes():
    a = certificate(certificate_id="cert-a", supersedes="cert-b")
    b = certificate(certificate_id="cert-b", supersedes="cert-c")
    c = certificate(certificate_id="cert-c", supersedes="cert-b")
    assert scope_id(a, [a, b, c]) == "cert-b"


@pytest.mark.parametrize(
    ("ps", "code"),
    [
        ([], LedgerReason.PS_NOT_CERTIFIED),
        ([ps_certificate(status=CertificateStatus.SUSPENDED)], LedgerReason.PS_LAPSED),
    ],
)
def test_designating_without_a_current_ps_certificate_says_both_standards_are_needed(ps, code):
    cert, reasons = may_designate(
        [certificate(), *ps], ORG, "site-a", date(2026, 6, 1), V3_DRAFT_SITE_CREDIT
    )
    assert cert == certificate()
    [refusal] = reasons
    assert refusal.code == code
    assert refusal.message.endswith(
        "only an entity certified against both PS and CoC may pass material on as CoC Material"
    )


def test_adding_nothing_to_an_absent_product_leaves_it_absent():
    buckets: dict[str, Decimal] = {}
    add_to(buckets, "aluminium|ingot", Decimal("0"))
    assert buckets == {}
