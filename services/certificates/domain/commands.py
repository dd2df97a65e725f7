"""The secretariat's lifecycle commands on a certificate: suspend, reinstate, withdraw, change
scope. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Callable
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
    Certificate,
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
    if isinstance(command, ChangeCertificateScope):
        found, update, change = change_scope(books, certificate, command)
    else:
        found, update, change = STATUS_COMMANDS[type(command)](certificate)
    reasons += found
    if not reasons and update == {"scope": certificate.scope}:
        return Outcome()  # the same scope again: nothing to do
    if reasons:
        return Outcome(refused=reasons, organisation_id=org)
    revised = _revise(certificate, now, status_reason=command.reason, **update)
    return Outcome(books.record([Change(revised, change, command.reason, now)]))


Decision = tuple[list[Reason], dict[str, object], CertificateChange]
"""Why a command is refused (empty: it is not), what it changes, and the change to publish."""


def suspend(certificate: Certificate) -> Decision:
    """A current (active or provisional) certificate can be suspended."""
    reasons = status_reasons(certificate, CURRENT, "suspend")
    return reasons, {"status": CertificateStatus.SUSPENDED}, CertificateChange.SUSPENDED


def reinstate(certificate: Certificate) -> Decision:
    """A suspended certificate returns to provisional or active, as its `provisional` flag says."""
    reasons: list[Reason] = []
    if certificate.status is not CertificateStatus.SUSPENDED:
        reasons = status_reasons(certificate, LIVE, "reinstate") or [
            _reason(
                R.NOT_SUSPENDED,
                f"{certificate.certificate_number} is not suspended",
                "certificate_id",
            )
        ]
    status = CertificateStatus.PROVISIONAL if certificate.provisional else CertificateStatus.ACTIVE
    return reasons, {"status": status}, CertificateChange.REINSTATED


def withdraw(certificate: Certificate) -> Decision:
    """Any live certificate can be withdrawn; that is final."""
    reasons = status_reasons(certificate, LIVE, "withdraw")
    return reasons, {"status": CertificateStatus.WITHDRAWN}, CertificateChange.WITHDRAWN


def change_scope(
    books: Books, certificate: Certificate, command: ChangeCertificateScope
) -> Decision:
    """A live certificate's scope changes to sites of its member doing the scope's activities."""
    reasons = status_reasons(certificate, LIVE, "change the scope of")
    reasons += scope_reasons(books, certificate.organisation_id, command.scope, "scope")
    return reasons, {"scope": command.scope}, CertificateChange.SCOPE_CHANGED


STATUS_COMMANDS: dict[type[LifecycleCommand], Callable[[Certificate], Decision]] = {
    SuspendCertificate: suspend,
    ReinstateCertificate: reinstate,
    WithdrawCertificate: withdraw,
}
