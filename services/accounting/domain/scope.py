"""Accounts follow the certificate: which account a movement belongs to, whether it may earn
credits, and whether its site may issue CoC Documents. Pure: no I/O.

Sources: domain.md ("Credits belong to a certification scope: a receipt at a site no current CoC
certificate covers earns none, and two certificates of one member are two pools"; "Only an entity
certified against both PS and CoC can pass material on as CoC Material; anyone may buy it"), issue
15 items 2 and 3.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from contracts.common import Reason, Standard
from contracts.ledger import LedgerReason
from contracts.registry import Certificate
from services.accounting.domain import certification
from services.accounting.domain.certification import Coverage, SiteCoverage
from services.accounting.domain.rules import RuleSet


def scope_id(certificate: Certificate, certificates: Iterable[Certificate]) -> str:
    """A certification scope is named after the first certificate of its chain of re-certifications
    (each new certificate names the one it supersedes), so a renewal keeps the pool's credits."""
    by_id = {c.certificate_id: c for c in certificates}
    current, seen = certificate, {certificate.certificate_id}
    while current.supersedes_certificate_id and current.supersedes_certificate_id in by_id:
        current = by_id[current.supersedes_certificate_id]
        if current.certificate_id in seen:
            break
        seen.add(current.certificate_id)
    return current.certificate_id


@dataclass(frozen=True)
class Placement:
    """Where a movement at a site is booked, and what the CoC certificate covering the site says."""

    account_id: str
    coverage: SiteCoverage

    @property
    def credits_allowed(self) -> bool:
        """Only a site a current CoC certificate covers on the day earns credits."""
        return self.coverage.coverage is Coverage.CURRENT


def place(
    rules: RuleSet,
    certificates: Iterable[Certificate],
    organisation_id: str,
    site_id: str,
    day: date,
) -> Placement:
    certificates = list(certificates)
    covered = certification.site_coverage(certificates, organisation_id, site_id, day)
    scope = scope_id(covered.certificate, certificates) if covered.certificate is not None else None
    return Placement(rules.account_id(organisation_id, site_id, scope), covered)


def performance_standard(
    certificates: Iterable[Certificate], organisation_id: str, site_id: str, day: date
) -> SiteCoverage:
    """The organisation's PS certificate naming the site: current if any is, else a lapsed one."""
    covering = [
        c
        for c in certificates
        if c.organisation_id == organisation_id
        and c.standard is Standard.PERFORMANCE_STANDARD
        and site_id in c.scope.site_ids
    ]
    return certification.best(covering, day)


def may_designate(
    certificates: Iterable[Certificate],
    organisation_id: str,
    site_id: str,
    day: date,
    rules: RuleSet,
) -> tuple[Certificate | None, list[Reason]]:
    """Issuing a CoC Document needs a current CoC certificate and (rule set permitting, all of
    today's do) a current PS certificate of the organisation, both naming the shipping site on the
    shipment date. Returns the CoC certificate (for the document) and the reasons it may not, if
    any."""
    certificates = list(certificates)
    reasons: list[Reason] = []
    covered = certification.site_coverage(certificates, organisation_id, site_id, day)
    certificate = covered.certificate
    if covered.coverage is Coverage.LAPSED and certificate is not None:
        reasons.append(
            Reason(
                code=LedgerReason.ACCOUNT_FROZEN,
                message=(
                    f"certificate {certificate.certificate_number} covering {site_id} is "
                    f"{certificate.status.value} on {day}"
                ),
            )
        )
    elif covered.coverage is Coverage.NONE:
        reasons.append(
            Reason(
                code=LedgerReason.NOT_CERTIFIED,
                message=f"no CoC certificate of {organisation_id} covers site {site_id}",
            )
        )
    if rules.require_performance_standard:
        ps = performance_standard(certificates, organisation_id, site_id, day)
        both = (
            "only an entity certified against both PS and CoC may pass material on as CoC Material"
        )
        if ps.coverage is Coverage.LAPSED and ps.certificate is not None:
            reasons.append(
                Reason(
                    code=LedgerReason.PS_LAPSED,
                    message=(
                        f"Performance Standard certificate {ps.certificate.certificate_number} "
                        f"covering {site_id} is "
                        f"{ps.certificate.status.value} on {day}: {both}"
                    ),
                )
            )
        elif ps.coverage is Coverage.NONE:
            reasons.append(
                Reason(
                    code=LedgerReason.PS_NOT_CERTIFIED,
                    message=(
                        f"no Performance Standard certificate of {organisation_id} covers site "
                        f"{site_id}: {both}"
                    ),
                )
            )
    return certificate, reasons
