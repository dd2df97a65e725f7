"""Non-conformance figures as the secretariat publishes them (seeds/004), and the registry rebuilt
from certificate events. Pure: no I/O."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from contracts.certificates import CertificateChanged
from contracts.registry import Certificate, CertificateStatus, Finding, Severity
from services.certificates.domain.rules import add_months

WINDOWS_MONTHS = (12, 18)


def _share(part: int, whole: int) -> str | None:
    if whole == 0:
        return None
    return str(
        (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_EVEN)
    )


@dataclass
class _Tally:
    major: int = 0
    minor: int = 0
    closed: int = 0

    def __post_init__(self) -> None:
        self.matured = dict.fromkeys(WINDOWS_MONTHS, 0)
        self.closed_within = dict.fromkeys(WINDOWS_MONTHS, 0)

    def add(self, finding: Finding, as_of: date) -> None:
        if finding.severity is Severity.MAJOR:
            self.major += 1
        else:
            self.minor += 1
        if finding.closed_on is not None and finding.closed_on <= as_of:
            self.closed += 1
        for months in WINDOWS_MONTHS:
            limit = add_months(finding.raised_on, months)
            if limit <= as_of:
                self.matured[months] += 1
                if finding.closed_on is not None and finding.closed_on <= limit:
                    self.closed_within[months] += 1

    def as_dict(self) -> dict[str, Any]:
        total = self.major + self.minor
        figures: dict[str, Any] = {
            "major": self.major,
            "minor": self.minor,
            "total": total,
            "closed": self.closed,
            "open": total - self.closed,
        }
        for months in WINDOWS_MONTHS:
            figures[f"closed_within_{months}_months"] = _share(
                self.closed_within[months], self.matured[months]
            )
            figures[f"raised_at_least_{months}_months_ago"] = self.matured[months]
        return figures


def nc_figures(certificates: Iterable[Certificate], as_of: date) -> dict[str, Any]:
    """NCs by principle and severity; the share closed within 12 and 18 months of being raised,
    over the NCs raised at least that long before `as_of`; entities with provisional status."""
    certificates = list(certificates)
    by_principle: dict[str, _Tally] = defaultdict(_Tally)
    total = _Tally()
    for finding in _unique_findings(certificates):
        if finding.raised_on > as_of:
            continue
        by_principle[finding.principle].add(finding, as_of)
        total.add(finding, as_of)
    return {
        "as_of": as_of.isoformat(),
        "by_principle": {p: by_principle[p].as_dict() for p in sorted(by_principle)},
        "total": total.as_dict(),
        "entities_with_provisional_status": _provisional_entities(certificates),
    }


def _unique_findings(certificates: list[Certificate]) -> list[Finding]:
    """Every finding once: one carried to the certificate that replaced its own counts as its
    newest holder has it."""
    unique: dict[tuple[str, str, str], tuple[bool, Finding]] = {}
    for certificate in certificates:
        current = certificate.status is not CertificateStatus.SUPERSEDED
        for finding in certificate.findings:
            key = (
                certificate.organisation_id,
                finding.audit_id or certificate.certificate_id,
                finding.finding_id,
            )
            if key not in unique or (current and not unique[key][0]):
                unique[key] = (current, finding)
    return [finding for _, finding in unique.values()]


def _provisional_entities(certificates: list[Certificate]) -> list[dict[str, Any]]:
    """The organisations holding a provisional certificate, with those certificates' numbers."""
    provisional: dict[str, list[str]] = defaultdict(list)
    for certificate in certificates:
        if certificate.status is CertificateStatus.PROVISIONAL:
            provisional[certificate.organisation_id].append(certificate.certificate_number)
    return [
        {"organisation_id": org, "certificate_numbers": sorted(numbers)}
        for org, numbers in sorted(provisional.items())
    ]


def rebuild(events: Iterable[Any]) -> dict[str, Certificate]:
    """The registry of certificates as a subscriber rebuilds it from `certificates.events.v1`:
    the highest revision seen of each certificate (events may be replayed or duplicated)."""
    registry: dict[str, Certificate] = {}
    for event in events:
        if not isinstance(event, CertificateChanged):
            continue
        current = registry.get(event.certificate.certificate_id)
        if current is None or event.certificate.revision > current.revision:
            registry[event.certificate.certificate_id] = event.certificate
    return registry
