"""A claim's life as a state machine: request, allocation saga, decision, and afterwards.

Pure: each transition changes the claim and returns the effects (`effects.py`: decisions to
publish, allocations to ask for or release) for the caller to persist and send. Nothing here knows
about topics or MongoDB; the rules it applies are named in `checks.py`, `review.py`, `texts.py`,
`usage.py`, `revocation.py`, `answers.py` and `requests.py`.

    request -> rejected                    (a static check failed: nothing allocated)
      -> pending -> approved + debit       (allocation granted, last checks pass: the mass is spent)
                 -> awaiting_review        (the same, for a claim the secretariat decides: the mass
                                            stays reserved)
                    -> approved + debit    (the secretariat approves and the checks still pass)
                    -> rejected + release  (the secretariat refuses, or a check fails by then)
                 -> rejected + release     (allocation granted, a check on it fails)
                 -> rejected               (allocation refused)
                 -> rejected + release     (no answer before decide_by)
    approved -> revoked                    (a certificate of the claimant's it rests on suspended,
                                            withdrawn, or no longer covering: the mass stays spent)
             -> expired                    (a certificate expired, or the approval reached
                                            valid_until)
             -> withdrawn + return         (the unused part: approved less reported usage)
    pending | awaiting_review -> withdrawn + release; rejected | revoked | expired -> withdrawn
    approved | revoked | expired: usage reports recorded (never beyond the approved quantity)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TypeVar

from contracts.claims import (
    ClaimRequested,
    ClaimReviewDecided,
    ClaimTypeStatus,
    ClaimUsageReported,
    Evidence,
    Review,
    ReviewDecision,
)
from contracts.common import Reason, Role, today_utc
from contracts.registry import Certificate
from services.claims.domain import (
    answers,
    checks,
    claim_types,
    requests,
    review,
    revocation,
    texts,
    usage,
)
from services.claims.domain.checks import Allocation, Registry
from services.claims.domain.effects import (
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
    Status,
    UsageRecorded,
    WithdrawalConfirmed,
)
from services.claims.domain.evidence import approval_code, evidence_of
from services.claims.domain.identity import claim_key, claim_ref
from services.claims.domain.usage import Usage
from services.claims.domain.wording import WordingRules

__all__ = ["Claim", "claim_key", "claim_ref"]

T = TypeVar("T")


@dataclass
class Claim:
    """One claim with its request and where it stands."""

    request: ClaimRequested
    request_hash: str
    status: Status
    decide_by: datetime | None = None
    allocation_held: bool = False
    allocation: Allocation | None = None
    certificate_ids: list[str] = field(default_factory=list)
    approval_code: str | None = None
    valid_until: date | None = None
    evidence: Evidence | None = None
    usage: dict[str, int] = field(default_factory=dict)
    """Units reported per period (`usage.period_key`)."""
    returned_kg: Decimal | None = None
    awaiting_since: datetime | None = None
    """When the claim entered the secretariat's review queue."""
    pilot: bool = False
    """Its claim type was a pilot when requested: decided and recorded, not an ASI claim."""
    version: int = 0

    @property
    def claim_id(self) -> str:
        return self.request.claim_id

    @property
    def key(self) -> str:
        """What identifies the claim: its claimant and the claim id the claimant chose."""
        return claim_key(self.claimant, self.claim_id)

    @property
    def ref(self) -> str:
        """How the claim is named to the secretariat beside other owners' claims."""
        return claim_ref(self.claimant, self.claim_id)

    @property
    def claimant(self) -> str:
        return self.request.claimant_organisation_id

    @property
    def approved_kg(self) -> Decimal | None:
        """Mass the approval spent (the allocation's), once approved."""
        return (
            self.allocation.mass_kg
            if self.allocation is not None and self.approval_code is not None
            else None
        )

    @property
    def used(self) -> Usage:
        return Usage(self.request, self.usage)

    # ---- the request ----

    @classmethod
    def requested(
        cls,
        request: ClaimRequested,
        request_hash: str,
        registry: Registry,
        rules: WordingRules,
        now: datetime,
        timeout: timedelta,
        type_status: ClaimTypeStatus | None = None,
    ) -> tuple[Claim, list[Effect]]:
        """A new claim: reject at once on any static failure or a claim type that is off, else ask
        for the allocation. `type_status` defaults to the claim type's default
        (`domain/claim_types.py`)."""
        status = type_status or claim_types.status_of(request.claim_type, {})
        result = checks.static_checks(request, registry, rules, today_utc(now))
        evidence = evidence_of(result, None, rules, now)
        claim = cls(
            request,
            request_hash,
            Status.PENDING,
            evidence=evidence,
            certificate_ids=[c.certificate_id for c in result.resting_on],
            pilot=status is ClaimTypeStatus.PILOT,
        )
        off = [claim_types.off_reason(request.claim_type)] if status is ClaimTypeStatus.OFF else []
        mass = result.claimed_mass_kg
        if off or not result.passed or mass is None:  # a request that passes states its mass
            claim.status = Status.REJECTED
            return claim, [Rejected(off + result.reasons, evidence)]
        claim.decide_by = now + timeout
        return claim, [
            Allocate(mass),
            Pending(
                claim.decide_by,
                f"allocation of {mass} kg of CoC credits by accounting",
            ),
        ]

    def resubmitted(self, request: ClaimRequested, request_hash: str) -> list[Effect]:
        """The same claim id again: a redelivery is a no-op, a changed request is refused."""
        if request_hash == self.request_hash:
            return []
        return [Refused([requests.changed_request_reason(self.claim_id, self.status.value)])]

    # ---- the allocation saga ----

    def granted(
        self,
        allocation: Allocation,
        registry: Registry,
        rules: WordingRules,
        now: datetime,
        text: texts.ApprovedText | None = None,
    ) -> list[Effect]:
        """Complete the checks on the allocation and on certificates as they are now; approve,
        reject, or (a claim the secretariat decides, unless it uses an enabled approved text:
        `text`, the latest version of the text it names) wait for review."""
        if self.status is not Status.PENDING:
            # Already closed: the release sent on closing follows the allocation on the owner's
            # partition, so accounting has freed this mass already.
            return []
        self.allocation_held = True
        self.allocation = allocation
        result = checks.static_checks(self.request, registry, rules, today_utc(now))
        reasons = result.reasons + checks.allocation_reasons(self.request, allocation, rules)
        self.evidence = evidence_of(result, allocation, rules, now)
        self.decide_by = None
        if reasons:
            self.status = Status.REJECTED
            self.allocation_held = False
            return [
                Rejected(reasons, self.evidence),
                Release(
                    "claim rejected after allocation: "
                    + ", ".join(sorted({r.code for r in reasons}))
                ),
            ]
        self.certificate_ids = [c.certificate_id for c in result.resting_on]
        if review.needs_review(self.request.claim_type) and not texts.approved_without_review(
            self.request, text
        ):
            self.status = Status.AWAITING_REVIEW
            self.awaiting_since = now
            return [
                AwaitingReview(
                    now,
                    self.evidence,
                    self.request.artwork_reference,
                    self.request.wording,
                    self.pilot,
                )
            ]
        return self._approve(result, allocation, None)

    def _approve(
        self, result: checks.CheckResult, allocation: Allocation, by: Review | None
    ) -> list[Effect]:
        evidence = _required(self.evidence, "evidence")
        self.status = Status.APPROVED
        self.certificate_ids = [c.certificate_id for c in result.resting_on]
        self.approval_code = approval_code(self.key)
        self.valid_until = min(c.valid_until for c in result.resting_on)
        return [
            Approved(self.approval_code, self.valid_until, evidence, by, self.pilot),
            Debit(allocation.mass_kg, self.approval_code),
        ]

    # ---- the secretariat's review ----

    def reviewed(
        self, decision: ClaimReviewDecided, registry: Registry, rules: WordingRules, now: datetime
    ) -> list[Effect]:
        """The secretariat approves (the checks run again: weeks may have passed) or refuses (the
        reservation is released). Only a claim awaiting review can be decided, once."""
        if decision.actor.role is not Role.SECRETARIAT:
            return [Refused([review.reviewer_not_secretariat_reason()])]
        if self.status is not Status.AWAITING_REVIEW:
            return [Refused([review.not_awaiting_reason(self.claim_id, self.status.value)])]
        awaiting_since = _required(self.awaiting_since, "awaiting_since")
        allocation = _required(self.allocation, "allocation")
        record = review.record_of(decision, awaiting_since, now)
        if decision.decision is ReviewDecision.REFUSE:
            return self._reject_held(
                [review.refusal_reason(decision.comment)], record, "refused by the secretariat"
            )
        result = checks.static_checks(self.request, registry, rules, today_utc(now))
        reasons = result.reasons + checks.allocation_reasons(self.request, allocation, rules)
        self.evidence = evidence_of(result, allocation, rules, now)
        if reasons:
            return self._reject_held(
                reasons,
                record,
                "checks failed on the secretariat's approval: "
                + ", ".join(sorted({r.code for r in reasons})),
            )
        return self._approve(result, allocation, record)

    def _reject_held(self, reasons: list[Reason], record: Review | None, why: str) -> list[Effect]:
        self.status = Status.REJECTED
        self.allocation_held = False
        return [Rejected(reasons, self.evidence, record), Release(why)]

    def refused(
        self,
        message: str,
        registry: Registry,
        rules: WordingRules,
        now: datetime,
        held_by: tuple[str, ...] = (),
    ) -> list[Effect]:
        """Accounting refused the mass; `held_by`: the claims holding the owner's CoC mass."""
        if self.status is not Status.PENDING:
            return []
        result = checks.static_checks(self.request, registry, rules, today_utc(now))
        others = [c for c in held_by if c != self.claim_id]
        reasons = answers.not_allocated_reasons(message, self.claimant, others) + result.reasons
        self.status = Status.REJECTED
        self.decide_by = None
        self.evidence = evidence_of(result, None, rules, now)
        return [Rejected(reasons, self.evidence)]

    # ---- the clock ----

    def clock(self, now: datetime) -> list[Effect]:
        """Time-driven changes: a pending claim past decide_by, an approval past valid_until."""
        if self.status is Status.PENDING and self.decide_by is not None and now >= self.decide_by:
            self.status = Status.REJECTED
            self.decide_by = None
            return [
                Rejected([answers.timeout_reason()], self.evidence),
                Release("allocation timed out"),
            ]
        if self.status is Status.APPROVED and (
            lapsed := revocation.lapsed(self.valid_until, today_utc(now))
        ):
            return self._close(Status.EXPIRED, lapsed)
        return []

    # ---- the claimant ----

    def withdrawn(self, by_organisation_id: str, reason: str) -> list[Effect]:
        if by_organisation_id != self.claimant:
            what = f"withdraw claim {self.claim_id}"
            return [Refused([requests.not_claimant_reason(self.claimant, what)])]
        if self.status is Status.WITHDRAWN:
            return []
        effects: list[Effect] = []
        confirmed = WithdrawalConfirmed(reason)
        if self.status in (Status.PENDING, Status.AWAITING_REVIEW):
            effects.append(Release(f"withdrawn by the claimant: {reason}"))
        elif self.status is Status.APPROVED:
            approved = _required(self.approved_kg, "approved_kg")
            used = self.used.used_kg
            back = usage.returnable_kg(approved, used)
            if back > 0:
                effects.append(ReturnUnused(back, used, f"withdrawn by the claimant: {reason}"))
            confirmed = WithdrawalConfirmed(reason, used_kg=used, returned_kg=back)
            self.returned_kg = back
        self.status = Status.WITHDRAWN
        self.decide_by = None
        self.allocation_held = False
        return [*effects, confirmed]

    def usage_reported(self, report: ClaimUsageReported, by_organisation_id: str) -> list[Effect]:
        """Record units that carried the claim in a period (approved, revoked or expired claims)."""
        if by_organisation_id != self.claimant:
            what = f"report usage of claim {self.claim_id}"
            return [Refused([requests.not_claimant_reason(self.claimant, what)])]
        if self.status is Status.WITHDRAWN:
            return [Refused([requests.already_withdrawn_reason(self.claim_id)])]
        approved = self.approved_kg
        if self.status not in (Status.APPROVED, Status.REVOKED, Status.EXPIRED) or approved is None:
            return [Refused([requests.never_approved_reason(self.claim_id, self.status.value)])]
        used = self.used
        reasons = usage.report_reasons(used, report)
        if reasons:
            return [Refused(reasons)]
        key = usage.period_key(report.period_start, report.period_end)
        if key in self.usage:
            return []
        self.usage[key] = report.units
        used = self.used
        return [
            UsageRecorded(
                report.period_start,
                report.period_end,
                report.units,
                used.used_units,
                used.used_kg,
                approved,
                usage.returnable_kg(approved, used.used_kg),
            )
        ]

    # ---- afterwards ----

    def certificate_changed(self, certificate: Certificate, today: date) -> list[Effect]:
        """A certificate of the claimant's this approval rests on changed (`revocation.closing`).
        Nothing is released: the mass stays spent (products already carry the claim)."""
        if (
            self.status is not Status.APPROVED
            or certificate.certificate_id not in self.certificate_ids
            or certificate.organisation_id != self.claimant
        ):
            return []
        closed = revocation.closing(certificate, self.request.product.product_id)
        return self._close(*closed) if closed is not None else []

    def _close(self, status: Status, reason: Reason) -> list[Effect]:
        code = _required(self.approval_code, "approval_code")
        self.status = status
        kind = Revoked if status is Status.REVOKED else Expired
        return [kind(code, [reason])]


def _required(value: T | None, what: str) -> T:
    """A field the claim's status guarantees (set by the transition that entered it)."""
    if value is None:
        raise ValueError(f"a claim in this status has its {what}")
    return value
