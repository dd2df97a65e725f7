"""Claims' use cases: one function per incoming message type, chosen by a dispatch table.

Each topic's batch handler reads what its batch needs through the store port in a few queries, then
hands every message, in order, to its use case in `DISPATCH`, which applies it through the pure
saga (`domain/saga.py`); the changed claims are written back in one go and the messages port builds
what the runtime publishes after commit. Nothing here does I/O of its own. The use cases that
only keep reference data (texts, claim type statuses, footprints, sites, members) are in
`handlers_reference.py`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from contracts.certificates import (
    CertificateChanged,
    CertificationDeadlineExtended,
    MemberCertificationOverdue,
    MemberRegistered,
    MembershipForfeited,
    SiteRegistered,
)
from contracts.claims import (
    ClaimRequested,
    ClaimReviewDecided,
    ClaimTextPublished,
    ClaimTypeStatusSet,
    ClaimUsageReported,
    ClaimWithdrawn,
    FootprintSubmitted,
)
from contracts.common import Envelope, today_utc
from contracts.ledger import (
    AllocateForClaim,
    AllocationGranted,
    AllocationRefused,
    CoCDocumentIssued,
    DebitClaimMass,
    LedgerCommandRejected,
    ReturnClaimMass,
)
from libs.logs import get_logger, message_context
from libs.messaging import Incoming, Outgoing, Tx, content_hash
from services.claims.domain import (
    answers,
    claim_types,
    membership,
    plausibility,
    requests,
)
from services.claims.domain.effects import Allocate, Effect, Status
from services.claims.domain.identity import claim_key
from services.claims.domain.reads import answered, keys_of, to_check
from services.claims.domain.requests import request_hash
from services.claims.domain.saga import Claim
from services.claims.domain.wording import WordingRules, quoted_certificate_numbers
from services.claims.handlers_reference import Batch, ReferenceDataHandlers
from services.claims.ports import Messages, StoreFor

log = get_logger("services.claims")

__all__ = ["DISPATCH", "Batch", "ClaimsHandlers", "request_hash"]


UseCase = Callable[["ClaimsHandlers", Any, Batch], Awaitable[None]]


class ClaimsHandlers(ReferenceDataHandlers):
    """The batch handlers the runtime calls, with the rules they apply and the ports they use; the
    use cases that only keep reference data are in `ReferenceDataHandlers`."""

    def __init__(
        self,
        rules: WordingRules,
        allocation_timeout: timedelta,
        store: StoreFor,
        messages: Messages,
        tick_limit: int = 500,
    ) -> None:
        self.rules = rules
        self.timeout = allocation_timeout
        self.store = store
        self.messages = messages
        self.tick_limit = tick_limit

    # ---- the topics' batches ---------------------------------------------------------------------

    async def handle_requests(self, batch: Sequence[Incoming], tx: Tx) -> list[Outgoing]:
        """claims.requests.v1: requests, reviews, withdrawals, usage, texts, claim type statuses."""
        messages: list[Any] = [item.message for item in batch]
        work = Batch(tx, self.store(tx))
        work.loaded = await work.store.load_claims(ids=keys_of(messages))
        fresh, reviewed = to_check(messages, work.loaded)
        await self._read_registry([*fresh, *reviewed], work)
        submitted = [str(m.footprint.id) for m in messages if isinstance(m, FootprintSubmitted)]
        if submitted:
            work.registry.footprints.update(await work.store.load_footprints(submitted))
        work.type_statuses = await work.store.claim_type_statuses() if fresh else {}
        return await self._run(messages, work)

    async def handle_ledger_events(self, batch: Sequence[Incoming], tx: Tx) -> list[Outgoing]:
        """ledger.events.v1: accounting's answers to the allocation requests."""
        messages = [item.message for item in batch]
        work = Batch(tx, self.store(tx))
        ids, command_ids = answered(messages)
        if ids or command_ids:
            work.loaded = await work.store.load_claims(ids=ids, allocate_command_ids=command_ids)
        pending = [c.request for c in work.loaded.claims.values() if c.status is Status.PENDING]
        await self._read_registry(pending, work)
        work.texts = await work.store.latest_texts([r.text_id for r in pending if r.text_id])
        return await self._run(messages, work)

    async def _read_registry(self, requests: list[ClaimRequested], work: Batch) -> None:
        """The members and certificates checking these requests needs."""
        numbers = [n for r in requests for n in quoted_certificate_numbers(r, self.rules)]
        work.registry = await work.store.load_registry(requests, numbers)

    async def handle_certificate_events(self, batch: Sequence[Incoming], tx: Tx) -> list[Outgoing]:
        """certificates.events.v1: the registry projection, members' standing, and the approvals
        resting on a certificate that changed."""
        messages = [item.message for item in batch]
        work = Batch(tx, self.store(tx))
        changes = [m.certificate for m in messages if isinstance(m, CertificateChanged)]
        newer = await work.store.newer_certificates(changes) if changes else []
        if newer:
            await work.store.save_certificates(newer)
            work.newer = {id(c) for c in newer}
            changed_ids = list({c.certificate_id for c in newer})
            work.loaded = await work.store.load_approved_resting_on(changed_ids)
        out = await self._run(messages, work)
        await work.store.save_members(work.members)
        return out

    async def tick(self, tx: Tx) -> list[Outgoing]:
        """The clock: time out pending allocations and expire approvals past valid_until;
        idempotent by state."""
        work = Batch(tx, self.store(tx))
        work.loaded = await work.store.load_due(tx.now, self.tick_limit)
        for claim in work.loaded.claims.values():
            cause = f"clock:{claim.version}"
            self._apply(claim, claim.clock(tx.now), work, cause=cause, causation_id=None)
        await work.store.save_claims(work.loaded)
        return work.out

    def on_conflict(self, item: Incoming, now: datetime) -> list[Outgoing]:
        """A reused event id with other content: refused, the first one stands."""
        message: Any = item.message
        refusal = self.messages.refusal(
            message,
            requests.event_id_reused_reason(),
            now,
            salt=content_hash(message),
            claim_id=message.claim_id,
            claimant=getattr(message, "claimant_organisation_id", None)
            or message.actor.organisation_id,
        )
        return [refusal]

    async def _run(self, messages: Sequence[Envelope], work: Batch) -> list[Outgoing]:
        for message in messages:
            use_case = DISPATCH.get(type(message))
            if use_case is None:
                continue
            claim_id = getattr(message, "claim_id", None)
            with message_context(event_id=str(message.event_id), claim_id=claim_id):
                await use_case(self, message, work)
        await work.store.save_claims(work.loaded)
        return work.out

    def _apply(
        self,
        claim: Claim,
        effects: Sequence[Effect],
        work: Batch,
        *,
        cause: str | UUID,
        causation_id: UUID | None,
        refused_event_id: UUID | None = None,
    ) -> None:
        if not effects:
            return
        out = self.messages.decisions(
            claim,
            effects,
            cause=cause,
            causation_id=causation_id,
            now=work.tx.now,
            refused_event_id=refused_event_id,
        )
        for effect, outgoing in zip(effects, out, strict=True):
            if isinstance(effect, Allocate):
                work.loaded.commands[claim.key] = str(outgoing.message.event_id)
        work.loaded.record(claim.key, [o.message for o in out])
        work.out.extend(out)

    # ---- claims.requests.v1 ----------------------------------------------------------------------

    async def claim_requested(self, message: ClaimRequested, work: Batch) -> None:
        """A new claim is checked and asks for its allocation; the same request again is a no-op, a
        changed one is refused."""
        claim = work.loaded.claims.get(
            claim_key(message.claimant_organisation_id, message.claim_id)
        )
        digest = request_hash(message)
        effects: list[Effect]
        if claim is None:
            status = claim_types.status_of(message.claim_type, work.type_statuses)
            claim, effects = Claim.requested(
                message, digest, work.registry, self.rules, work.tx.now, self.timeout, status
            )
            work.loaded.add_new(claim)
            effects = [*effects, *await self._same_product_and_artwork(claim, work)]
        else:
            effects = claim.resubmitted(message, digest)
        self._answer(claim, effects, message, work)

    async def _same_product_and_artwork(self, claim: Claim, work: Batch) -> list[Effect]:
        """Plausibility: other open claims with this product and artwork (stored, or new in this
        batch); only for a claim that passed its checks and is open."""
        if claim.status not in plausibility.OPEN:
            return []
        product, artwork = claim.request.product.product_id, claim.request.artwork_reference
        stored = await work.store.open_claims_with(product, artwork)
        in_batch = [
            c.ref
            for c in work.loaded.claims.values()
            if c.status in plausibility.OPEN
            and c.request.product.product_id == product
            and c.request.artwork_reference == artwork
        ]
        others = [*stored, *in_batch]
        return list(plausibility.same_product_and_artwork(claim.request, claim.ref, others))

    async def review_decided(self, message: ClaimReviewDecided, work: Batch) -> None:
        if claim := self._known(message, work):
            effects = claim.reviewed(message, work.registry, self.rules, work.tx.now)
            self._answer(claim, effects, message, work)

    async def claim_withdrawn(self, message: ClaimWithdrawn, work: Batch) -> None:
        if claim := self._known(message, work):
            effects = claim.withdrawn(requests.acting_for(message), message.reason)
            self._answer(claim, effects, message, work)

    async def usage_reported(self, message: ClaimUsageReported, work: Batch) -> None:
        if claim := self._known(message, work):
            effects = claim.usage_reported(message, requests.acting_for(message))
            self._answer(claim, effects, message, work)

    def _known(
        self, message: ClaimReviewDecided | ClaimWithdrawn | ClaimUsageReported, work: Batch
    ) -> Claim | None:
        """The claim the message is about (the claimant's claim of that id); an unknown claim is
        refused."""
        claim = work.loaded.claims.get(
            claim_key(message.claimant_organisation_id, message.claim_id)
        )
        if claim is None:
            reason = requests.unknown_claim_reason(message)
            claimant = message.claimant_organisation_id
            work.out.append(self._refusal(message, reason, work, "unknown", claimant))
        return claim

    def _answer(self, claim: Claim, effects: Sequence[Effect], message: Any, work: Batch) -> None:
        """Apply a claims.requests.v1 message's effects (a refusal names that message)."""
        cause = message.event_id
        self._apply(claim, effects, work, cause=cause, causation_id=cause, refused_event_id=cause)

    # ---- ledger.events.v1 ------------------------------------------------------------------------

    async def allocation_granted(self, message: AllocationGranted, work: Batch) -> None:
        """Accounting reserved the mass: the last checks approve, reject or queue for review."""
        if claim := self._claim_answered(message, work):
            text = work.texts.get(claim.request.text_id or "")
            allocation = answers.allocation_of(message)
            effects = claim.granted(allocation, work.registry, self.rules, work.tx.now, text)
            if claim.status in plausibility.OPEN:
                effects = [
                    *effects,
                    *plausibility.above_documented_supply(claim.request, allocation),
                ]
            self._apply(claim, effects, work, cause=message.event_id, causation_id=message.event_id)

    async def allocation_refused(self, message: AllocationRefused, work: Batch) -> None:
        if claim := self._claim_answered(message, work):
            why, held_by = answers.refused_because(message), tuple(message.held_by_claim_ids)
            effects = claim.refused(why, work.registry, self.rules, work.tx.now, held_by=held_by)
            self._apply(claim, effects, work, cause=message.event_id, causation_id=message.event_id)

    async def ledger_command_rejected(self, message: LedgerCommandRejected, work: Batch) -> None:
        """An allocation request accounting could not read rejects its claim; spending and returning
        are never rejected when sent in order: say so if they are."""
        if message.rejected_event_type in (DebitClaimMass.TYPE, ReturnClaimMass.TYPE):
            log.warning(
                "claim_mass_command_rejected",
                rejected_event_id=str(message.rejected_event_id),
                type=message.rejected_event_type,
                reasons=[r.code for r in message.reasons],
            )
            return
        if message.rejected_event_type != AllocateForClaim.TYPE:
            return
        claim = work.loaded.claim_of_command(str(message.rejected_event_id))
        if claim is None:
            return
        with message_context(claim_id=claim.claim_id):
            why = answers.rejected_because(message)
            effects = claim.refused(why, work.registry, self.rules, work.tx.now)
            self._apply(claim, effects, work, cause=message.event_id, causation_id=message.event_id)

    def _claim_answered(
        self, message: AllocationGranted | AllocationRefused, work: Batch
    ) -> Claim | None:
        """The claim an answer is about (the owner's claim of that id), if this service holds it."""
        return work.loaded.claims.get(claim_key(message.owner_organisation_id, message.claim_id))

    # ---- certificates.events.v1 ------------------------------------------------------------------

    async def certificate_changed(self, message: CertificateChanged, work: Batch) -> None:
        """A current PS certificate restores a member's standing; a newer revision revokes or
        expires the approvals resting on it (`Claim.certificate_changed`)."""
        certificate = message.certificate
        if membership.restores_standing(certificate):
            await work.store.clear_at_risk(certificate.organisation_id)
        if id(certificate) not in work.newer:
            return
        today = today_utc(work.tx.now)
        for claim in work.loaded.claims.values():
            effects = claim.certificate_changed(certificate, today)
            self._apply(claim, effects, work, cause=message.event_id, causation_id=message.event_id)


DISPATCH: dict[type[Envelope], UseCase] = {
    ClaimRequested: ClaimsHandlers.claim_requested,
    ClaimReviewDecided: ClaimsHandlers.review_decided,
    ClaimWithdrawn: ClaimsHandlers.claim_withdrawn,
    ClaimUsageReported: ClaimsHandlers.usage_reported,
    ClaimTypeStatusSet: ClaimsHandlers.claim_type_status_set,
    ClaimTextPublished: ClaimsHandlers.claim_text_published,
    FootprintSubmitted: ClaimsHandlers.footprint_submitted,
    AllocationGranted: ClaimsHandlers.allocation_granted,
    AllocationRefused: ClaimsHandlers.allocation_refused,
    LedgerCommandRejected: ClaimsHandlers.ledger_command_rejected,
    CoCDocumentIssued: ClaimsHandlers.coc_document_issued,
    CertificateChanged: ClaimsHandlers.certificate_changed,
    MemberRegistered: ClaimsHandlers.member_registered,
    SiteRegistered: ClaimsHandlers.site_registered,
    MemberCertificationOverdue: ClaimsHandlers.member_certification_overdue,
    MembershipForfeited: ClaimsHandlers.membership_forfeited,
    CertificationDeadlineExtended: ClaimsHandlers.certification_deadline_extended,
}
"""Incoming message type -> use case, applied in the batch's order. Types not listed (other ledger
and certificate events) are ignored."""
