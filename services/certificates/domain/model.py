"""What the certification rules share: live statuses, a change to publish, an outcome. Pure: no
I/O."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

from contracts.certificates import CertificateChange
from contracts.common import Reason
from contracts.registry import Certificate, CertificateStatus, Finding, Severity

LIVE = frozenset(
    {CertificateStatus.ACTIVE, CertificateStatus.PROVISIONAL, CertificateStatus.SUSPENDED}
)
CURRENT = frozenset({CertificateStatus.ACTIVE, CertificateStatus.PROVISIONAL})


@dataclass(frozen=True)
class Change:
    """One new revision of a certificate, to publish (`audit_id`: the audit that caused it, if
    any)."""

    certificate: Certificate
    change: CertificateChange
    reason: str | None
    occurred_at: datetime
    audit_id: str | None = None


@dataclass(frozen=True)
class Outcome:
    """What one input did: changes to publish, or the reasons it was refused (state unchanged
    except for the audit history when `refused` is a certification decision)."""

    changes: list[Change] = field(default_factory=list)
    refused: list[Reason] | None = None
    organisation_id: str | None = None


def start_of(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def reason(code: str, message: str, field_name: str | None = None) -> Reason:
    return Reason(code=code, message=message[:2000], field=field_name)


def revise(certificate: Certificate, now: datetime, **update: object) -> Certificate:
    return certificate.model_copy(
        update={**update, "revision": certificate.revision + 1, "updated_at": now}
    )


def major_count(findings: Iterable[Finding]) -> int:
    return sum(1 for f in findings if f.severity is Severity.MAJOR)
