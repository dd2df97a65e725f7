"""What a change to a certificate does to an approval resting on it, and when an approval lapses.

Source: `../shared/domain.md`, Claims: an approved claim rests on the claimant's current
certificates; "Claimed mass is spent, not lent": revocation and expiry release nothing (issue 15).
A certificate of the claimant's this approval rests on: suspended or withdrawn revokes, expired
expires, a scope no longer covering the product revokes. A supplier's certificate is not among those
the approval rests on: material received as CoC before a supplier's suspension keeps its status.
"""

from __future__ import annotations

from datetime import date

from contracts.claims import ClaimReason
from contracts.common import Reason
from contracts.registry import Certificate, CertificateStatus
from services.claims.domain.checks import covers
from services.claims.domain.effects import Status

_CLOSING: dict[CertificateStatus, tuple[Status, str, str]] = {
    CertificateStatus.SUSPENDED: (
        Status.REVOKED,
        ClaimReason.CERTIFICATE_SUSPENDED,
        "was suspended",
    ),
    CertificateStatus.WITHDRAWN: (
        Status.REVOKED,
        ClaimReason.CERTIFICATE_WITHDRAWN,
        "was withdrawn",
    ),
    CertificateStatus.EXPIRED: (Status.EXPIRED, ClaimReason.CERTIFICATE_EXPIRED, "expired"),
}


def closing(certificate: Certificate, product_id: str) -> tuple[Status, Reason] | None:
    """The status an approval resting on `certificate` moves to, and why; None: it stands."""
    number = certificate.certificate_number
    if certificate.status in _CLOSING:
        status, code, what = _CLOSING[certificate.status]
        return status, Reason(
            code=code, field="certificates", message=f"certificate {number} {what}"
        )
    if not covers(certificate, product_id):
        return Status.REVOKED, Reason(
            code=ClaimReason.PRODUCT_NOT_COVERED,
            field="certificates",
            message=f"certificate {number} no longer covers product {product_id}",
        )
    return None


def lapsed(valid_until: date | None, today: date) -> Reason | None:
    """An approval past the day it was valid until expires."""
    if valid_until is None or today <= valid_until:
        return None
    return Reason(
        code=ClaimReason.CERTIFICATE_EXPIRED,
        field="valid_until",
        message=f"the approval was valid until {valid_until}",
    )
