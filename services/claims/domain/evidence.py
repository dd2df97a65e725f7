"""What a decision records: the evidence of the checks, and the approval code printed on products.

Source: `../shared/domain.md`, Claims: "automatic checks prepare the decision" with evidence (the
certificates relied on, the allocation, the wording rules applied); approval codes are our format.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from decimal import Decimal

from contracts.claims import Evidence
from services.claims.domain import checks
from services.claims.domain.checks import Allocation
from services.claims.domain.wording import WordingRules


def approval_code(claim_id: str) -> str:
    """Short, printable, unique per claim id (60 bits of its hash), e.g. RAS-7KQ2M-9XD4H-PA3B."""
    digest = base64.b32encode(hashlib.sha256(claim_id.encode()).digest()).decode()[:12]
    return f"RAS-{digest[:4]}-{digest[4:8]}-{digest[8:]}"


def evidence_of(
    result: checks.CheckResult, allocation: Allocation | None, rules: WordingRules, now: datetime
) -> Evidence:
    return Evidence(
        certificates=result.certificate_evidence(),
        allocation=allocation.evidence() if allocation else None,
        claimed_mass_kg=result.claimed_mass_kg or Decimal(0),
        wording_rules_version=rules.version,
        checked_at=now,
        footprint=result.footprint,
    )
