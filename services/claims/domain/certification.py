"""Which claims need a full (non-provisional) certificate. Pure: no I/O.

Source: `../shared/domain.md`, Certification ("Any Major non-conformance gives a Provisional
certificate valid 1 year ... ASI expects a provisional certification to move to a full three-year
one ... once the Majors are verified closed") and Claims ("On-product (on-pack) claims always need
ASI approval and PS plus CoC certification covering the product"); issue 17. The normative text
does not say which claims a provisional certificate supports: the claim types that need a full one
are a rule-set setting, `WordingRules.full_certificate_types` (verify), set in `rule_sets.py`.
"""

from __future__ import annotations

from contracts.claims import ClaimReason, ClaimRequested
from contracts.common import Reason
from contracts.registry import Certificate, CertificateStatus
from services.claims.domain.wording import WordingRules


def is_full(c: Certificate) -> bool:
    """A certificate issued without open Major NCs (or upgraded to full since)."""
    return c.status is not CertificateStatus.PROVISIONAL and not c.provisional


def full_certificate_reasons(
    request: ClaimRequested, resting_on: list[Certificate], rules: WordingRules
) -> list[Reason]:
    """One reason per provisional certificate the claim would rest on, when its type needs full
    ones (empty: the claim type accepts provisional certificates, or every one is full)."""
    if request.claim_type not in rules.full_certificate_types:
        return []
    return [
        Reason(
            code=ClaimReason.FULL_CERTIFICATE_REQUIRED,
            field="claimant_organisation_id",
            message=f"a {request.claim_type.value} claim needs a full {c.standard.value} "
            f"certificate; {c.certificate_number} is provisional until its Major "
            f"non-conformities are verified closed (rule set {rules.version})",
        )
        for c in resting_on
        if not is_full(c)
    ]
