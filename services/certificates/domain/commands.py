"""The secretariat's lifecycle commands on a certificate: suspend, reinstate, withdraw, change
scope. Pure: no I/O."""

from __future__ import annotations

from datetime import datetime

from contracts.certificates import (
    CertificateChange,
    ChangeCertificateScope,
    ReinstateCertificate,
    SuspendCertificate,
    WithdrawCertificate,
)
from contracts.certificates import CertificateReason as R
from contracts.common import Reason, Role
from contracts.registry import (
    CertificateStatus,
)
from services.certificates.domain.books import Books
from services.certificates.domain.model import CURRENT, LIVE, Change, Outcome
from services.certificates.domain.model import reason as _reason
from services.certificates.domain.model import revise as _revise
from services.certificates.domain.validation import (
    scope_reasons,
    status_reasons,
)

LifecycleCommand = (
    SuspendCertificate | ReinstateCertificate | WithdrawCertificate | ChangeCertificateScope
)


def apply_command(books: Books, command: LifecycleCommand, now: datetime) -> Outcome:
    """Suspend, reinstate, withdraw or change the scope of a certificate (secretariat only)."""
    certificate = books.certificates.get(command.certificate_id)
    org = certificate.organisation_id if certificate else command.actor.organisation_id
    reasons: list[Reason] = []
    if command.actor.role is not Role.SECRETARIAT:
        reasons.append(
            _reason(
                R.NOT_SECRETARIAT, "only the ASI secretariat changes certificates", "actor.role"
            )
        )
    if certificate is None:
        reasons.append(
            _reason(
                R.UNKNOWN_CERTIFICATE,
                f"certificate {command.certificate_id} does not exist",
                "certificate_id",
            )
        )
        return Outcome(refused=reasons, organisation_id=org)
    if isinstance(command, SuspendCertificate):
        reasons += status_reasons(certificate, CURRENT, "suspend")
        update: dict[str, object] = {"status": CertificateStatus.SUSPENDED}
        change = CertificateChange.SUSPENDED
    elif isinstance(command, ReinstateCertificate):
        if certificate.status is not CertificateStatus.SUSPENDED:
            reasons += status_reasons(certificate, LIVE, "reinstate") or [
                _reason(
                    R.NOT_SUSPENDED,
                    f"{certificate.certificate_number} is not suspended",
                    "certificate_id",
                )
            ]
        status = (
            CertificateStatus.PROVISIONAL if certificate.provisional else CertificateStatus.ACTIVE
        )
        update = {"status": status}
        change = CertificateChange.REINSTATED
    elif isinstance(command, WithdrawCertificate):
        reasons += status_reasons(certificate, LIVE, "withdraw")
        update = {"status": CertificateStatus.WITHDRAWN}
        change = CertificateChange.WITHDRAWN
    else:
        reasons += status_reasons(certificate, LIVE, "change the scope of")
        reasons += scope_reasons(books, certificate.organisation_id, command.scope, "scope")
        if not reasons and command.scope == certificate.scope:
            return Outcome()
        update = {"scope": command.scope}
        change = CertificateChange.SCOPE_CHANGED
    if reasons:
        return Outcome(refused=reasons, organisation_id=org)
    revised = _revise(certificate, now, status_reason=command.reason, **update)
    return Outcome(books.record([Change(revised, change, command.reason, now)]))
