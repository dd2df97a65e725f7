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


def group_coverage(
    certificates: Iterable[Certificate], organisation_id: str, day: date
) -> SiteCoverage:
    """A group account is frozen when the organisation holds CoC certificates and none is
    current."""
    mine = coc_certificates(certificates, organisation_id)
    current = [c for c in mine if _current_on(c, day)]
    if current:
        return SiteCoverage(
            Coverage.CURRENT, max(current, key=lambda c: (c.valid_until, c.certificate_id))
        )
    if mine:
        return SiteCoverage(
            Coverage.LAPSED, max(mine, key=lambda c: (c.updated_at, c.certificate_id))
        )
    return SiteCoverage(Coverage.NONE, None)
