"""Use cases of the claims service: one batch handler per consumed topic and the clock tick.

Each handler reads what its batch needs in a few `$in` queries, applies the messages in order
through the pure saga (`domain/saga.py`), then writes the changed claims back in one bulk write
inside the batch's transaction. The runtime publishes what they return after commit.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from contracts.certificates import CertificateChanged, MemberRegistered
from contracts.claims import (
    ClaimReason,
    ClaimRequested,
    ClaimRequestRefused,
    ClaimReviewDecided,
    ClaimTextPublished,
    ClaimTypeStatusSet,
    ClaimUsageReported,
    ClaimWithdrawn,
)
from contracts.common import Envelope, Reason, Role, derived_event_id, today_utc
from contracts.ledger import (
    AllocateForClaim,
    AllocationGranted,
    AllocationRefused,
    DebitClaimMass,
    LedgerCommandRejected,
    ReturnClaimMass,
)
from libs.logs import get_logger, message_context
from libs.messaging import Incoming, Outgoing, Tx, content_hash
from services.claims.adapters import store
from services.claims.adapters.messages import ACTOR, translate
from services.claims.domain import claim_types, saga, texts
from services.claims.domain.checks import Allocation
from services.claims.domain.saga import Claim, Status
from services.claims.domain.wording import WordingRules, quoted_certificate_numbers

log = get_logger("services.claims")

_ENVELOPE_ONLY = {"event_id", "occurred_at", "correlation_id", "causation_id"}


def request_hash(request: ClaimRequested) -> str:
    """What makes two requests 'the same': everything but the envelope's ids and time."""
    body = request.model_dump(mode="json", exclude=_ENVELOPE_ONLY)
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


@dataclass
class _Batch:
    """Claims of one transaction and what it publishes."""

    loaded: store.Loaded
    out: list[Outgoing]
    changed: set[str]
    allocate_command_ids: dict[str, str]

    @classmethod
    def start(cls, loaded: store.Loaded | None = None) -> _Batch:
        return cls(loaded or store.Loaded(), [], set(), {})

    def apply(self, claim: Claim, effects: Sequence[saga.Effect], *, cause: str | UUID,
              causation_id: UUID | None, now: datetime, refused_event_id: UUID | None = None) -> None:
        if not effects:
            return
        messages = translate(claim.claim_id, claim.claimant, effects, cause=cause, causation_id=causation_id,
                             correlation_id=claim.request.correlation_id, now=now,
                             refused_event_id=refused_event_id)
        for message in messages:
            if isinstance(message, AllocateForClaim):
                self.allocate_command_ids[claim.claim_id] = str(message.event_id)
        self.loaded.record(claim.claim_id, messages)
        self.changed.add(claim.claim_id)
        self.out.extend(Outgoing(m) for m in messages)

    async def save(self, tx: Tx) -> list[Outgoing]:
        await store.save_claims(tx, self.loaded, self.changed, self.allocate_command_ids)
        return self.out


class ClaimsService:
    """The claims use cases, configured with the wording rules and the allocation timeout."""

    def __init__(self, rules: WordingRules, allocation_timeout: timedelta, tick_limit: int = 500) -> None:
        self.rules = rules
        self.timeout = allocation_timeout
        self.tick_limit = tick_limit

    # ---- claims.requests.v1 ----

    async def handle_requests(self, batch: Sequence[Incoming], tx: Tx) -> list[Outgoing]:
        messages = [item.message for item in batch]
        work = _Batch.start(await store.load_claims(tx, store.Loaded(), ids=[m.claim_id for m in messages]))
        fresh = [m for m in messages if isinstance(m, ClaimRequested) and m.claim_id not in work.loaded.claims]
        reviewed = [c.request for m in messages if isinstance(m, ClaimReviewDecided)
                    and (c := work.loaded.claims.get(m.claim_id)) is not None and c.status is Status.AWAITING_REVIEW]
        numbers = [n for m in (*fresh, *reviewed) for n in quoted_certificate_numbers(m, self.rules)]
        registry = await store.load_registry(tx, [*fresh, *reviewed], numbers)
        type_statuses = await store.claim_type_statuses(tx) if fresh else {}
        for message in messages:
            if isinstance(message, ClaimTypeStatusSet):
                if message.actor.role is Role.SECRETARIAT:
                    await store.set_claim_type_status(tx, message.claim_type, message.status, tx.now)
                    type_statuses[message.claim_type] = message.status
                else:
                    work.out.append(_secretariat_only(message, tx.now, "sets the status of a claim type"))
                continue
            if isinstance(message, ClaimTextPublished):
                refusal = await _publish_text(message, tx)
                if refusal is not None:
                    work.out.append(refusal)
                continue
            with message_context(event_id=str(message.event_id), claim_id=message.claim_id):
                claim = work.loaded.claims.get(message.claim_id)
                if isinstance(message, ClaimRequested):
                    digest = request_hash(message)
                    if claim is None:
                        claim, effects = Claim.requested(
                            message, digest, registry, self.rules, tx.now, self.timeout,
                            claim_types.status_of(message.claim_type, type_statuses))
                        work.loaded.add_new(claim)
                    else:
                        effects = claim.resubmitted(message, digest)
                elif isinstance(message, ClaimReviewDecided):
                    if claim is None:
                        work.out.append(_unknown_claim(message, tx.now))
                        continue
                    effects = claim.reviewed(message, registry, self.rules, tx.now)
                elif isinstance(message, ClaimWithdrawn | ClaimUsageReported):
                    if claim is None:
                        work.out.append(_unknown_claim(message, tx.now))
                        continue
                    by = message.actor.organisation_id
                    if message.actor.role is Role.SECRETARIAT:
                        by = message.claimant_organisation_id
                    if isinstance(message, ClaimWithdrawn):
                        effects = claim.withdrawn(by, message.reason)
                    else:
                        effects = claim.usage_reported(message, by)
                else:
                    continue
                work.apply(claim, effects, cause=message.event_id, causation_id=message.event_id, now=tx.now,
                           refused_event_id=message.event_id)
        return await work.save(tx)

    # ---- ledger.events.v1: accounting's answers ----

    async def handle_ledger_events(self, batch: Sequence[Incoming], tx: Tx) -> list[Outgoing]:
        for item in batch:  # spending and returning are never refused when sent in order: say so if they are
            m = item.message
            if isinstance(m, LedgerCommandRejected) and m.rejected_event_type in (DebitClaimMass.TYPE,
                                                                                   ReturnClaimMass.TYPE):
                log.warning("claim_mass_command_rejected", rejected_event_id=str(m.rejected_event_id),
                            type=m.rejected_event_type, reasons=[r.code for r in m.reasons])
        answers = [item.message for item in batch
                   if isinstance(item.message, AllocationGranted | AllocationRefused)
                   or (isinstance(item.message, LedgerCommandRejected)
                       and item.message.rejected_event_type == AllocateForClaim.TYPE)]
        if not answers:
            return []
        ids = [m.claim_id for m in answers if not isinstance(m, LedgerCommandRejected)]
        command_ids = [str(m.rejected_event_id) for m in answers if isinstance(m, LedgerCommandRejected)]
        work = _Batch.start(await store.load_claims(tx, store.Loaded(), ids=ids, allocate_command_ids=command_ids))
        if not work.loaded.claims:
            return []  # answers about claims this service does not hold
        pending = [c.request for c in work.loaded.claims.values() if c.status is Status.PENDING]
        numbers = [n for r in pending for n in quoted_certificate_numbers(r, self.rules)]
        registry = await store.load_registry(tx, pending, numbers)
        approved_texts = await store.latest_texts(tx, [r.text_id for r in pending if r.text_id])
        for message in answers:
            if isinstance(message, LedgerCommandRejected):
                claim = work.loaded.claims.get(work.loaded.allocate_command_ids.get(str(message.rejected_event_id), ""))
            else:
                claim = work.loaded.claims.get(message.claim_id)
                if claim is not None and claim.claimant != message.owner_organisation_id:
                    log.warning("allocation_owner_mismatch", claim_id=message.claim_id)
                    claim = None
            if claim is None:
                continue
            with message_context(event_id=str(message.event_id), claim_id=claim.claim_id):
                if isinstance(message, AllocationGranted):
                    allocation = Allocation(
                        mass_kg=message.mass_kg, account_ids=tuple(message.account_ids),
                        document_ids=tuple(d.document_id for d in message.documents),
                        recycled_content_share=message.recycled_content_share,
                        carbon_footprint_kg_co2e_per_kg=message.carbon_footprint_kg_co2e_per_kg,
                    )
                    effects = claim.granted(allocation, registry, self.rules, tx.now,
                                            approved_texts.get(claim.request.text_id or ""))
                elif isinstance(message, AllocationRefused):
                    codes = ", ".join(r.code for r in message.reasons)
                    effects = claim.refused(
                        f"accounting could not allocate {message.requested_kg} kg: {message.available_kg} kg of "
                        f"CoC credits free ({codes})", registry, self.rules, tx.now,
                        held_by=tuple(message.held_by_claim_ids))
                else:
                    codes = ", ".join(f"{r.code}: {r.message}" for r in message.reasons)
                    effects = claim.refused(f"accounting rejected the allocation request ({codes})"[:2000],
                                            registry, self.rules, tx.now)
                work.apply(claim, effects, cause=message.event_id, causation_id=message.event_id, now=tx.now)
        return await work.save(tx)

    # ---- certificates.events.v1: the registry projection, and what depends on it ----

    async def handle_certificate_events(self, batch: Sequence[Incoming], tx: Tx) -> list[Outgoing]:
        members = [item.message.member for item in batch if isinstance(item.message, MemberRegistered)]
        changes = [item.message for item in batch if isinstance(item.message, CertificateChanged)]
        await store.save_members(tx, members)
        if not changes:
            return []
        newer = await store.newer_certificates(tx, [m.certificate for m in changes])
        if not newer:
            return []
        await store.save_certificates(tx, newer)
        kept = {id(c) for c in newer}
        changed_ids = list({c.certificate_id for c in newer})
        work = _Batch.start(await store.load_claims(
            tx, store.Loaded(), query={"certificate_ids": {"$in": changed_ids}, "status": Status.APPROVED.value}))
        today = today_utc(tx.now)
        for message in changes:
            if id(message.certificate) not in kept:
                continue
            for claim in work.loaded.claims.values():
                effects = claim.certificate_changed(message.certificate, today)
                work.apply(claim, effects, cause=message.event_id, causation_id=message.event_id, now=tx.now)
        return await work.save(tx)

    # ---- the clock ----

    async def tick(self, tx: Tx) -> list[Outgoing]:
        """Time out pending allocations and expire approvals past valid_until; idempotent by state."""
        due = {"$or": [
            {"status": Status.PENDING.value, "decide_by": {"$lte": tx.now}},
            {"status": Status.APPROVED.value, "valid_until": {"$lt": today_utc(tx.now).isoformat()}},
        ]}
        work = _Batch.start(await store.load_claims(tx, store.Loaded(), query=due, limit=self.tick_limit))
        for claim in work.loaded.claims.values():
            version = claim.version
            work.apply(claim, claim.clock(tx.now), cause=f"clock:{version}", causation_id=None, now=tx.now)
        return await work.save(tx)

    # ---- a reused event id with other content ----

    def on_conflict(self, item: Incoming, now: datetime) -> list[Outgoing]:
        message = item.message
        reason = Reason(code=ClaimReason.REQUEST_CONFLICT, field="event_id",
                        message="this event id was already used with different content; the first one stands")
        return [Outgoing(_refusal(message, reason, now, content_hash(message)))]


async def _publish_text(message: ClaimTextPublished, tx: Tx) -> Outgoing | None:
    """Store a version of an approved text; the refusal to send, if any (nothing changed then)."""
    text = texts.ApprovedText.of(message)
    if message.actor.role is not Role.SECRETARIAT:
        reason = Reason(code=ClaimReason.REVIEWER_NOT_SECRETARIAT, field="actor",
                        message="only the secretariat publishes approved claim texts")
    elif reasons := texts.template_reasons(text):
        reason = reasons[0]
    elif not await store.save_text(tx, text):
        reason = Reason(code=ClaimReason.REQUEST_CONFLICT, field="version",
                        message=f"version {text.version} of text {text.text_id} was published with other content; "
                                "the first stands (publish a new version)")
    else:
        log.info("claim_text_published", text_id=text.text_id, version=text.version, auto_approve=text.auto_approve)
        return None
    return Outgoing(ClaimRequestRefused(
        event_id=derived_event_id(message.event_id, ClaimRequestRefused.TYPE, "text"),
        occurred_at=tx.now, correlation_id=message.correlation_id, causation_id=message.event_id, actor=ACTOR,
        claim_id=message.claim_id, claimant_organisation_id=message.actor.organisation_id,
        refused_event_id=message.event_id, reasons=[reason]))


def _secretariat_only(message: ClaimTypeStatusSet, now: datetime, what: str) -> Outgoing:
    reason = Reason(code=ClaimReason.REVIEWER_NOT_SECRETARIAT, field="actor", message=f"only the secretariat {what}")
    return Outgoing(ClaimRequestRefused(
        event_id=derived_event_id(message.event_id, ClaimRequestRefused.TYPE, "type"),
        occurred_at=now, correlation_id=message.correlation_id, causation_id=message.event_id, actor=ACTOR,
        claim_id=message.claim_id, claimant_organisation_id=message.actor.organisation_id,
        refused_event_id=message.event_id, reasons=[reason]))


def _unknown_claim(message: ClaimWithdrawn | ClaimUsageReported | ClaimReviewDecided, now: datetime) -> Outgoing:
    what = {ClaimWithdrawn: "to withdraw", ClaimUsageReported: "to report usage of",
            ClaimReviewDecided: "to review"}[type(message)]
    reason = Reason(code=ClaimReason.UNKNOWN_CLAIM, field="claim_id", message=f"no claim {message.claim_id} {what}")
    return Outgoing(_refusal(message, reason, now, "unknown"))


def _refusal(message: Envelope, reason: Reason, now: datetime, salt: str) -> ClaimRequestRefused:
    return ClaimRequestRefused(
        event_id=derived_event_id(message.event_id, ClaimRequestRefused.TYPE, salt),
        occurred_at=now, correlation_id=message.correlation_id, causation_id=message.event_id, actor=ACTOR,
        claim_id=message.claim_id, claimant_organisation_id=message.claimant_organisation_id,
        refused_event_id=message.event_id, reasons=[reason],
    )
