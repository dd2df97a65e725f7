"""Membership at risk (seeds/002): a must-certify member without a PS certificate two years after
joining risks its membership. Claims refuses a new claim by a member the certificates service
flagged (`MemberCertificationOverdue`) until it is certified or the secretariat extends its
deadline, and treats a member that forfeited as no member. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from contracts.claims import ClaimReason, ClaimRequested
from contracts.common import Reason, Standard
from contracts.registry import CURRENT_STATUSES, Certificate

AT_RISK = "certification_overdue"
FORFEITED = "forfeited"


def membership_reasons(request: ClaimRequested, standing: Mapping[str, str]) -> list[Reason]:
    claimant = request.claimant_organisation_id
    if standing.get(claimant) == AT_RISK:
        return [
            Reason(
                code=ClaimReason.MEMBERSHIP_AT_RISK,
                field="claimant_organisation_id",
                message=f"{claimant} has no Performance Standard certificate past its "
                "certification deadline: its membership is at risk and it makes no new claims",
            )
        ]
    if standing.get(claimant) == FORFEITED:
        return [
            Reason(
                code=ClaimReason.NOT_A_MEMBER,
                field="claimant_organisation_id",
                message=f"{claimant} forfeited its ASI membership",
            )
        ]
    return []


def restores_standing(certificate: Certificate) -> bool:
    """A current Performance Standard certificate clears a member's at-risk flag (a forfeited
    membership is only cleared by registering again, `rejoins`)."""
    return (
        certificate.standard is Standard.PERFORMANCE_STANDARD
        and certificate.status in CURRENT_STATUSES
    )


def rejoins(forfeited_on: date, joined_on: date) -> bool:
    """A registration clears a forfeiture only when it joins after the forfeiture."""
    return forfeited_on < joined_on
