"""Which CoC certificate covers a site on a day, and which accounts that freezes. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from contracts.common import Standard
from contracts.registry import CURRENT_STATUSES, Certificate


class Coverage(StrEnum):
    CURRENT = "current"
    LAPSED = "lapsed"
    """Covered by a certificate that is suspended, withdrawn, expired or out of its validity."""
    NONE = "none"


@dataclass(frozen=True)
class SiteCoverage:
    coverage: Coverage
    certificate: Certificate | None


def _current_on(certificate: Certificate, day: date) -> bool:
    return (
        certificate.status in CURRENT_STATUSES
        and certificate.valid_from <= day <= certificate.valid_until
    )


def coc_certificates(
    certificates: Iterable[Certificate], organisation_id: str
) -> list[Certificate]:
    return [
        c
        for c in certificates
        if c.organisation_id == organisation_id and c.standard is Standard.CHAIN_OF_CUSTODY
    ]


def site_coverage(
    certificates: Iterable[Certificate], organisation_id: str, site_id: str, day: date
) -> SiteCoverage:
    """The best certificate of the organisation naming the site: current if any is, else the lapsed
    one."""
    covering = [
        c for c in coc_certificates(certificates, organisation_id) if site_id in c.scope.site_ids
    ]
    return best(covering, day)


def group_coverage(
    certificates: Iterable[Certificate], organisation_id: str, day: date
) -> SiteCoverage:
    """A group account is frozen when the organisation holds CoC certificates and none is
    current."""
    return best(coc_certificates(certificates, organisation_id), day)


def best(covering: Iterable[Certificate], day: date) -> SiteCoverage:
    """Of the certificates that name a site (or a scope), the one that decides on `day`: of the
    current ones, the one valid longest (then the highest id); else the lapsed one revised last
    (then the highest id); none when there is none. CoC and PS coverage
    (`scope.performance_standard`) both use it."""
    covering = list(covering)
    current = [c for c in covering if _current_on(c, day)]
    if current:
        return SiteCoverage(
            Coverage.CURRENT, max(current, key=lambda c: (c.valid_until, c.certificate_id))
        )
    if covering:
        return SiteCoverage(
            Coverage.LAPSED, max(covering, key=lambda c: (c.updated_at, c.certificate_id))
        )
    return SiteCoverage(Coverage.NONE, None)
