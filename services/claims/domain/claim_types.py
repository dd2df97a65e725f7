"""Claim types and whether the secretariat runs them (issue 18 item 3): enabled, pilot or off.

Source: `../shared/domain.md` (beside the repository), Claims: "Recycled-content and footprint
claims are not yet run by ASI: treat them as pilots"; on-pack logo claims are ASI's own. The
certified-text claim is enabled by default too (an ASI text claim with a certificate number,
seeds/001). The secretariat changes a status with `ClaimTypeStatusSet`; the status at the time of
the request is the one a claim keeps (a pilot approval stays a pilot when the type is enabled
later).
"""

from __future__ import annotations

from collections.abc import Mapping

from contracts.claims import ClaimReason, ClaimType, ClaimTypeStatus
from contracts.common import Reason

DEFAULT_STATUS: Mapping[ClaimType, ClaimTypeStatus] = {
    ClaimType.ON_PACK_LOGO: ClaimTypeStatus.ENABLED,
    ClaimType.CERTIFIED_TEXT: ClaimTypeStatus.ENABLED,
    ClaimType.RECYCLED_CONTENT: ClaimTypeStatus.PILOT,
    ClaimType.CARBON_FOOTPRINT: ClaimTypeStatus.PILOT,
}

PILOT_LABEL = "pilot, not an ASI claim"


def status_of(
    claim_type: ClaimType, set_by_secretariat: Mapping[ClaimType, ClaimTypeStatus]
) -> ClaimTypeStatus:
    return set_by_secretariat.get(claim_type, DEFAULT_STATUS[claim_type])


def off_reason(claim_type: ClaimType) -> Reason:
    return Reason(
        code=ClaimReason.CLAIM_TYPE_OFF,
        field="claim_type",
        message=f"the secretariat does not run {claim_type.value.replace('_', ' ')} claims now",
    )
