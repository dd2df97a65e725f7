"""The only place claims builds contract messages: the saga's effects as decisions and ledger
commands, and refusals, with deterministic event ids (a re-run emits the same ids). Each message's
topic and key come from the contracts' topic table (`contracts.topics`): decisions and refusals on
`claims.decisions.v1` by claim, ledger commands on `ledger.commands.v1` by owner."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from contracts.claims import (
    ClaimApproved,
    ClaimAwaitingReview,
    ClaimExpired,
    ClaimPending,
    ClaimRejected,
    ClaimRequestRefused,
    ClaimRevoked,
    ClaimUsageRecorded,
    ClaimWithdrawalConfirmed,
    PlausibilityAlertRaised,
    PlausibilityEvidence,
)
from contracts.common import Actor, Envelope, Reason, Role, derived_event_id
from contracts.ledger import AllocateForClaim, DebitClaimMass, ReleaseAllocation, ReturnClaimMass
from libs.messaging import Outgoing
from services.claims.domain.effects import (
    Alert,
    Allocate,
    Approved,
    AwaitingReview,
    Debit,
    Effect,
    Expired,
    Pending,
    Refused,
    Rejected,
    Release,
    ReturnUnused,
    Revoked,
    UsageRecorded,
    WithdrawalConfirmed,
)
from services.claims.domain.identity import claim_key
from services.claims.domain.plausibility import CapacityAlert
from services.claims.domain.saga import Claim

ACTOR = Actor(organisation_id="claims", role=Role.SERVICE)


class KafkaMessages:
    """`ports.Messages` on the contracts."""

    def decisions(
        self,
        claim: Claim,
        effects: Sequence[Effect],
        *,
        cause: str | uuid.UUID,
        causation_id: uuid.UUID | None,
        now: datetime,
        refused_event_id: uuid.UUID | None = None,
    ) -> list[Outgoing]:
        messages = translate(
            claim.claim_id,
            claim.claimant,
            effects,
            cause=cause,
            causation_id=causation_id,
            correlation_id=claim.request.correlation_id,
            now=now,
            refused_event_id=refused_event_id,
        )
        return [Outgoing(m) for m in messages]

    def refusal(
        self,
        message: Envelope,
        reason: Reason,
        now: datetime,
        *,
        salt: str,
        claim_id: str,
        claimant: str,
    ) -> Outgoing:
        return Outgoing(
            ClaimRequestRefused(
                event_id=derived_event_id(message.event_id, ClaimRequestRefused.TYPE, salt),
                occurred_at=now,
                correlation_id=message.correlation_id,
                causation_id=message.event_id,
                actor=ACTOR,
                claim_id=claim_id,
                claimant_organisation_id=claimant,
                refused_event_id=message.event_id,
                reasons=[reason],
            )
        )

    def capacity_alert(self, alert: CapacityAlert, cause: Envelope, now: datetime) -> Outgoing:
        return Outgoing(
            PlausibilityAlertRaised(
                event_id=derived_event_id(
                    cause.event_id, PlausibilityAlertRaised.TYPE, alert.alert_id
                ),
                occurred_at=now,
                correlation_id=cause.correlation_id,
                causation_id=cause.event_id,
                actor=ACTOR,
                claim_id=alert.alert_id,
                claimant_organisation_id=alert.organisation_id,
                reasons=[alert.reason],
                evidence=PlausibilityEvidence(
                    document_ids=list(alert.document_ids),
                    site_id=alert.site_id,
                    year=alert.year,
                    coc_output_kg=alert.coc_output_kg,
                    capacity_kg=alert.capacity_kg,
                ),
            )
        )


def translate(
    claim_id: str,
    claimant: str,
    effects: Sequence[Effect],
    *,
    cause: str | uuid.UUID,
    causation_id: uuid.UUID | None,
    correlation_id: uuid.UUID,
    now: datetime,
    refused_event_id: uuid.UUID | None = None,
) -> list[Envelope]:
    """One message per effect; ids derive from (cause, claim key, message type): the clock's cause
    (`clock:<version>`) is the same for two owners' claims of the same id."""
    out: list[Envelope] = []
    for effect in effects:
        kind, body = _body(effect, claimant, refused_event_id)
        out.append(
            kind(
                event_id=derived_event_id(cause, claim_key(claimant, claim_id), kind.TYPE),
                occurred_at=now,
                correlation_id=correlation_id,
                causation_id=causation_id,
                actor=ACTOR,
                claim_id=claim_id,
                **body,
            )
        )
    return out


def _body(
    effect: Effect, claimant: str, refused_event_id: uuid.UUID | None
) -> tuple[Any, dict[str, Any]]:
    """The contract type an effect is sent as and its fields besides the envelope's."""
    if isinstance(effect, (Allocate, Release, Debit, ReturnUnused)):
        return _command_body(effect, claimant)
    if isinstance(effect, (Pending, AwaitingReview, Approved, Rejected)):
        return _decision_body(effect, claimant)
    return _afterwards_body(effect, claimant, refused_event_id)


def _command_body(
    effect: Allocate | Release | Debit | ReturnUnused, claimant: str
) -> tuple[Any, dict[str, Any]]:
    """A command to accounting about the claimant's CoC mass."""
    match effect:
        case Allocate(mass_kg=mass):
            return AllocateForClaim, {"owner_organisation_id": claimant, "mass_kg": mass}
        case Release(reason=reason):
            return ReleaseAllocation, {"owner_organisation_id": claimant, "reason": reason[:2000]}
        case Debit(mass_kg=mass, approval_code=code):
            return DebitClaimMass, {
                "owner_organisation_id": claimant,
                "mass_kg": mass,
                "approval_code": code,
            }
        case ReturnUnused(mass_kg=mass, used_kg=used, reason=reason):
            return ReturnClaimMass, {
                "owner_organisation_id": claimant,
                "mass_kg": mass,
                "used_kg": used,
                "reason": reason[:2000],
            }


def _decision_body(
    effect: Pending | AwaitingReview | Approved | Rejected, claimant: str
) -> tuple[Any, dict[str, Any]]:
    """A decision of the allocation saga or the secretariat's review."""
    match effect:
        case Pending(decide_by=decide_by, waiting_for=waiting_for):
            return ClaimPending, {
                "claimant_organisation_id": claimant,
                "decide_by": decide_by,
                "waiting_for": waiting_for,
            }
        case AwaitingReview(
            since=since, evidence=evidence, artwork_reference=artwork, wording=wording, pilot=pilot
        ):
            return ClaimAwaitingReview, {
                "claimant_organisation_id": claimant,
                "awaiting_since": since,
                "evidence": evidence,
                "artwork_reference": artwork,
                "wording": wording,
                "pilot": pilot,
            }
        case Approved(
            approval_code=code,
            valid_until=valid_until,
            evidence=evidence,
            review=review,
            pilot=pilot,
        ):
            return ClaimApproved, {
                "claimant_organisation_id": claimant,
                "approval_code": code,
                "valid_until": valid_until,
                "evidence": evidence,
                "review": review,
                "pilot": pilot,
            }
        case Rejected(reasons=reasons, evidence=evidence, review=review):
            return ClaimRejected, {
                "claimant_organisation_id": claimant,
                "reasons": reasons,
                "evidence": evidence,
                "review": review,
            }


def _afterwards_body(
    effect: Revoked | Expired | WithdrawalConfirmed | UsageRecorded | Refused | Alert,
    claimant: str,
    refused_event_id: uuid.UUID | None,
) -> tuple[Any, dict[str, Any]]:
    """What follows a decision (revocation, expiry, usage, withdrawal), an alert, a refusal."""
    match effect:
        case UsageRecorded() as u:
            return ClaimUsageRecorded, {
                "claimant_organisation_id": claimant,
                "period_start": u.period_start,
                "period_end": u.period_end,
                "units": u.units,
                "used_units": u.used_units,
                "used_kg": u.used_kg,
                "approved_kg": u.approved_kg,
                "unused_kg": u.unused_kg,
            }
        case Revoked(approval_code=code, reasons=reasons):
            return ClaimRevoked, {
                "claimant_organisation_id": claimant,
                "approval_code": code,
                "reasons": reasons,
            }
        case Expired(approval_code=code, reasons=reasons):
            return ClaimExpired, {
                "claimant_organisation_id": claimant,
                "approval_code": code,
                "reasons": reasons,
            }
        case WithdrawalConfirmed(reason=reason, used_kg=used, returned_kg=back):
            return ClaimWithdrawalConfirmed, {
                "claimant_organisation_id": claimant,
                "reason": reason,
                "used_kg": used,
                "returned_kg": back,
            }
        case Alert() as a:
            return PlausibilityAlertRaised, {
                "claimant_organisation_id": claimant,
                "reasons": [a.reason],
                "evidence": PlausibilityEvidence(
                    product_id=a.product_id,
                    artwork_reference=a.artwork_reference,
                    related_claim_ids=list(a.related_claim_ids),
                    document_ids=list(a.document_ids),
                    claimed_mass_kg=a.claimed_mass_kg,
                    documented_mass_kg=a.documented_mass_kg,
                ),
            }
        case Refused(reasons=reasons):
            if refused_event_id is None:
                raise ValueError("a refusal names the event it refuses")
            return ClaimRequestRefused, {
                "claimant_organisation_id": claimant,
                "refused_event_id": refused_event_id,
                "reasons": reasons,
            }
    raise TypeError(f"unknown effect {effect!r}")
