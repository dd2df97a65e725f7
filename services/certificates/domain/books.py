"""The state one batch works on (`Books`), and the identities derived in it: certificate ids,
certificate numbers, audit digests. Pure: no I/O."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field

from contracts.audits import AuditOutcomeSubmitted
from contracts.common import Standard
from contracts.registry import Certificate, CertificationBody, Member, Site
from services.certificates.domain.model import Change
from services.certificates.domain.rules import Rules

CERTIFICATE_ID_NAMESPACE = uuid.UUID("0b8f6a3e-7d7c-4a53-9a0e-2f6f0f9c1c44")
_ENVELOPE_FIELDS = {
    "event_id",
    "schema_version",
    "occurred_at",
    "correlation_id",
    "causation_id",
    "actor",
}


@dataclass(frozen=True)
class AuditRecord:
    """An accepted audit, kept in the history with what it led to."""

    audit: AuditOutcomeSubmitted
    digest: str
    outcome: str
    certificate_id: str | None


@dataclass
class Books:
    """The state a batch works on: loaded by the store port, changed by the domain, saved by the
    store port. `loaded`: the revision of each certificate (and the value of each counter, as
    `counter:<key>`) when it was read, which guards the write against concurrent instances."""

    members: dict[str, Member] = field(default_factory=dict)
    sites: dict[str, Site] = field(default_factory=dict)
    bodies: dict[str, CertificationBody] = field(default_factory=dict)
    certificates: dict[str, Certificate] = field(default_factory=dict)
    audit_digests: dict[str, str] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)
    new_audits: list[AuditRecord] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    loaded: dict[str, int] = field(default_factory=dict)

    def next_number(self, rules: Rules, standard: Standard, year: int) -> str:
        key = counter_key(rules, standard, year)
        self.counters[key] = self.counters.get(key, 0) + 1
        return f"{key}-{self.counters[key]:06d}"

    def record(self, changes: list[Change]) -> list[Change]:
        for change in changes:
            self.certificates[change.certificate.certificate_id] = change.certificate
        self.changes.extend(changes)
        return changes

    def remember(
        self, audit: AuditOutcomeSubmitted, digest: str, outcome: str, cid: str | None
    ) -> None:
        """An audit taken (issued, surveillance, or refused for too many Majors): same id again
        with the same content changes nothing."""
        self.audit_digests[audit.audit_id] = digest
        self.new_audits.append(AuditRecord(audit, digest, outcome, cid))


def counter_key(rules: Rules, standard: Standard, year: int) -> str:
    """Certificate numbers count per (prefix, standard, year of issue): `ASI-PS-2026`."""
    code = "PS" if standard is Standard.PERFORMANCE_STANDARD else "COC"
    return f"{rules.number_prefix}-{code}-{year}"


def certificate_id_for(audit_id: str) -> str:
    """Derived from the audit that issued it: stable, and the same on any replay."""
    return f"cert-{uuid.uuid5(CERTIFICATE_ID_NAMESPACE, audit_id).hex[:20]}"


def audit_digest(audit: AuditOutcomeSubmitted) -> str:
    """The audit's content without its envelope: the same audit under another event id is the
    same."""
    body = audit.model_dump(mode="json", exclude=_ENVELOPE_FIELDS)
    text = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
