"""Claims' use cases through the handlers on the in-memory fake store, one incoming message type
at a time, with the real messages adapter: the tests assert on what would be published (message,
topic and key) and on what the store holds afterwards."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from contracts import topics
from contracts.certificates import (
    CertificateChange,
    CertificateChanged,
    CertificationDeadlineExtended,
    MemberCertificationOverdue,
    MemberRegistered,
    MembershipForfeited,
)
from contracts.claims import (
    ClaimApproved,
    ClaimPending,
    ClaimReason,
    ClaimRejected,
    ClaimRequestRefused,
    ClaimRevoked,
    ClaimTextPublished,
    ClaimType,
    ClaimTypeStatus,
    ClaimTypeStatusSet,
    ClaimUsageRecorded,
    ClaimWithdrawalConfirmed,
    ClaimWithdrawn,
    FootprintSubmitted,
    footprint_key,
)
from contracts.common import Actor, Envelope, Reason, Role
from contracts.ledger import (
    AllocateForClaim,
    AllocationGranted,
    AllocationRefused,
    DebitClaimMass,
    DocumentShare,
    LedgerCommandRejected,
    LedgerReason,
    ReleaseAllocation,
)
from contracts.pact import ProductFootprint
from contracts.registry import Certificate, CertificateStatus
from libs.messaging import Incoming, Outgoing, Record, Tx
from services.claims.app import build_handlers
from services.claims.config import Settings
from services.claims.domain.effects import Status
from services.claims.domain.membership import AT_RISK
from services.claims.domain.saga import claim_key
from services.claims.handlers import DISPATCH, ClaimsHandlers
from tests.unit.claims.builders import (
    BRAND,
    FOOTPRINT_ID,
    NOW,
    coc,
    pact,
    ps,
    request,
    review,
    usage,
)
from tests.unit.claims.fakes import FakeStore
from tests.unit.claims.store_suite import member

SERVICE = Actor(organisation_id="certificates", role=Role.SERVICE)
ACCOUNTING = Actor(organisation_id="accounting", role=Role.SERVICE)
SECRETARIAT = Actor(organisation_id="asi-secretariat", role=Role.SECRETARIAT)
BRAND_ACTOR = Actor(organisation_id=BRAND, role=Role.BRAND_OWNER)


class Service:
    """The handlers wired by the composition root on a fake store, and a way to deliver batches."""

    def __init__(self) -> None:
        self.store = FakeStore()
        self.handlers: ClaimsHandlers = build_handlers(
            Settings(allocation_timeout_s=30), store_for=self.store
        )
        self.offset = 0

    def batch(self, messages: tuple[Envelope, ...]) -> list[Incoming]:
        items = []
        for message in messages:
            self.offset += 1
            items.append(Incoming(message, Record("t", 0, self.offset, None, None)))
        return items

    async def requests(self, *messages: Envelope, seconds: float = 0) -> list[Outgoing]:
        return await self.handlers.handle_requests(self.batch(messages), tx(seconds))

    async def ledger(self, *messages: Envelope) -> list[Outgoing]:
        return await self.handlers.handle_ledger_events(self.batch(messages), tx())

    async def certificates(self, *messages: Envelope) -> list[Outgoing]:
        return await self.handlers.handle_certificate_events(self.batch(messages), tx())

    async def registered(self) -> None:
        await self.certificates(
            MemberRegistered.create(actor=SERVICE, occurred_at=NOW, member=member(BRAND)),
            changed(ps()),
            changed(coc()),
        )

    def status(self, claim_id: str = "claim-1") -> Status:
        return self.store.claims[claim_key(BRAND, claim_id)].claim.status

    async def pending(self, claim_type: ClaimType = ClaimType.ON_PACK_LOGO) -> AllocateForClaim:
        await self.registered()
        out = await self.requests(request(claim_type))
        command = out[0].message
        assert isinstance(command, AllocateForClaim)
        return command

    async def granted(self, claim_type: ClaimType = ClaimType.ON_PACK_LOGO) -> list[Outgoing]:
        command = await self.pending(claim_type)
        return await self.ledger(grant(command))


def tx(seconds: float = 0) -> Tx:
    """A transaction without a database: the fake store ignores it."""
    none: Any = None
    return Tx(none, none, NOW + timedelta(seconds=seconds))


def changed(
    c: Certificate, change: CertificateChange = CertificateChange.ISSUED
) -> CertificateChanged:
    return CertificateChanged.create(actor=SERVICE, occurred_at=NOW, change=change, certificate=c)


def grant(command: AllocateForClaim, owner: str = BRAND) -> AllocationGranted:
    return AllocationGranted.create(
        actor=ACCOUNTING,
        occurred_at=NOW,
        cause=command,
        claim_id=command.claim_id,
        owner_organisation_id=owner,
        mass_kg=command.mass_kg,
        account_ids=[f"group:{owner}"],
        documents=[DocumentShare(document_id="doc-1", mass_kg=command.mass_kg)],
        recycled_content_share=Decimal("0.40"),
        carbon_footprint_kg_co2e_per_kg=Decimal("4.2"),
    )


def published(out: list[Outgoing]) -> list[tuple[str, str, str]]:
    """(message type, topic, key) of each message, as the runtime would publish it."""
    return [
        (o.message.type, o.resolved_topic().name, o.key or o.resolved_topic().key_of(o.message))
        for o in out
    ]


def only(out: list[Outgoing]) -> Any:
    assert len(out) == 1, out
    return out[0].message


def codes(message: Any) -> list[str]:
    return [r.code for r in message.reasons]


def test_every_incoming_message_type_has_a_use_case():
    # The use cases below each deliver one of these; a type missing from DISPATCH is ignored.
    assert {t.TYPE for t in DISPATCH} == {
        "claim_requested", "claim_review_decided", "claim_withdrawn", "claim_usage_reported",
        "claim_type_status_set", "claim_text_published", "allocation_granted",
        "allocation_refused", "ledger_command_rejected", "certificate_changed",
        "member_registered", "member_certification_overdue", "membership_forfeited",
        "certification_deadline_extended", "footprint_submitted", "coc_document_issued",
        "site_registered",
    }  # fmt: skip


# ---- claims.requests.v1 --------------------------------------------------------------------------


async def test_a_request_asks_accounting_for_its_mass_and_its_redelivery_changes_nothing():
    service = Service()
    await service.registered()
    out = await service.requests(request(ClaimType.ON_PACK_LOGO))
    assert published(out) == [
        ("allocate_for_claim", topics.LEDGER_COMMANDS.name, f"owner:{BRAND}"),
        ("claim_pending", topics.CLAIMS_DECISIONS.name, "claim-1"),
    ]
    command, pending = (o.message for o in out)
    assert isinstance(command, AllocateForClaim) and command.mass_kg == Decimal("13000.000")
    assert isinstance(pending, ClaimPending) and pending.decide_by == NOW + timedelta(seconds=30)
    stored = service.store.claims[claim_key(BRAND, "claim-1")]
    assert stored.claim.status is Status.PENDING
    assert stored.allocate_command_id == str(command.event_id)
    assert [d["type"] for d in stored.decisions] == ["allocate_for_claim", "claim_pending"]
    assert await service.requests(request(ClaimType.ON_PACK_LOGO)) == []
    assert service.store.claims[claim_key(BRAND, "claim-1")].claim.version == 1


async def test_the_same_claim_id_with_other_content_is_refused_and_the_first_request_stands():
    service = Service()
    await service.pending()
    refusal = only(await service.requests(request(units=2_000_000)))
    assert isinstance(refusal, ClaimRequestRefused)
    assert codes(refusal) == [ClaimReason.REQUEST_CONFLICT]
    assert (
        service.store.claims[claim_key(BRAND, "claim-1")].claim.request.product.units == 1_000_000
    )


async def test_two_owners_claims_of_the_same_id_are_checked_answered_and_withdrawn_apart():
    """Issue 23 item 6: a claim id is its claimant's own, not a global name one owner can take."""
    service = Service()
    await service.registered()
    command, _ = (o.message for o in await service.requests(request()))
    other = only(await service.requests(request(org="brand-2", units=5)))  # brand-2 is no member
    assert isinstance(other, ClaimRejected) and other.claimant_organisation_id == "brand-2"
    assert codes(other) == [ClaimReason.NOT_A_MEMBER]  # its own checks, not a request_conflict
    # accounting answers brand-1's claim-1; brand-2's claim-1 is not touched
    approved_or_queued = await service.ledger(grant(command))
    assert {o.message.claimant_organisation_id for o in approved_or_queued} == {BRAND}
    assert service.status() is Status.AWAITING_REVIEW
    assert service.store.claims[claim_key("brand-2", "claim-1")].claim.status is Status.REJECTED
    withdrawal = ClaimWithdrawn.create(
        actor=Actor(organisation_id="brand-2", role=Role.BRAND_OWNER), occurred_at=NOW,
        claim_id="claim-1", claimant_organisation_id="brand-2", reason="artwork changed",
    )  # fmt: skip
    confirmed = only(await service.requests(withdrawal))
    assert isinstance(confirmed, ClaimWithdrawalConfirmed)
    assert confirmed.claimant_organisation_id == "brand-2"
    assert service.status() is Status.AWAITING_REVIEW
    assert service.store.claims[claim_key("brand-2", "claim-1")].claim.status is Status.WITHDRAWN


async def test_a_request_by_a_non_member_is_rejected_at_once_and_nothing_is_allocated():
    service = Service()
    rejected = only(await service.requests(request()))
    assert isinstance(rejected, ClaimRejected) and ClaimReason.NOT_A_MEMBER in codes(rejected)
    assert service.status() is Status.REJECTED


async def test_the_secretariat_reviews_an_on_pack_claim_and_the_approval_spends_the_mass():
    service = Service()
    await service.granted(ClaimType.ON_PACK_LOGO)
    assert service.status() is Status.AWAITING_REVIEW
    out = await service.requests(review("approve"))
    assert published(out) == [
        ("claim_approved", topics.CLAIMS_DECISIONS.name, "claim-1"),
        ("debit_claim_mass", topics.LEDGER_COMMANDS.name, f"owner:{BRAND}"),
    ]
    approved, debit = (o.message for o in out)
    assert isinstance(approved, ClaimApproved) and approved.review is not None
    assert isinstance(debit, DebitClaimMass) and debit.mass_kg == Decimal("13000.000")
    assert service.status() is Status.APPROVED


async def test_a_review_of_an_unknown_claim_is_refused_as_unknown():
    service = Service()
    refusal = only(await service.requests(review("approve", claim_id="claim-9")))
    assert isinstance(refusal, ClaimRequestRefused) and codes(refusal) == [
        ClaimReason.UNKNOWN_CLAIM
    ]
    assert refusal.claim_id == "claim-9" and service.store.claims == {}


async def test_a_withdrawal_releases_a_pending_claims_reservation_only_for_the_claimant():
    service = Service()
    await service.pending()
    by_other = ClaimWithdrawn.create(
        actor=Actor(organisation_id="brand-2", role=Role.BRAND_OWNER), occurred_at=NOW,
        claim_id="claim-1", claimant_organisation_id=BRAND, reason="changed our mind",
    )  # fmt: skip
    refusal = only(await service.requests(by_other))
    assert codes(refusal) == [ClaimReason.REQUESTER_NOT_CLAIMANT]
    assert service.status() is Status.PENDING
    mine = ClaimWithdrawn.create(
        actor=BRAND_ACTOR, occurred_at=NOW, claim_id="claim-1", claimant_organisation_id=BRAND,
        reason="changed our mind",
    )  # fmt: skip
    out = await service.requests(mine)
    assert [type(o.message) for o in out] == [ReleaseAllocation, ClaimWithdrawalConfirmed]
    assert service.status() is Status.WITHDRAWN


async def test_usage_of_an_approved_claim_is_recorded_against_the_approved_mass():
    service = Service()
    await service.granted(ClaimType.CERTIFIED_TEXT)
    assert service.status() is Status.APPROVED
    recorded = only(await service.requests(usage(400_000)))
    assert isinstance(recorded, ClaimUsageRecorded)
    assert (recorded.used_kg, recorded.unused_kg) == (Decimal("5200.000"), Decimal("7800.000"))
    assert service.store.claims[claim_key(BRAND, "claim-1")].claim.usage == {
        "2026-07-01/2026-09-30": 400_000
    }


async def test_only_the_secretariat_sets_a_claim_type_status_and_off_rejects_new_requests():
    service = Service()
    await service.registered()

    def set_status(actor: Actor) -> ClaimTypeStatusSet:
        return ClaimTypeStatusSet.create(
            actor=actor, occurred_at=NOW, claim_id="type:on_pack_logo",
            claim_type=ClaimType.ON_PACK_LOGO, status=ClaimTypeStatus.OFF,
        )  # fmt: skip

    refusal = only(await service.requests(set_status(BRAND_ACTOR)))
    assert codes(refusal) == [ClaimReason.REVIEWER_NOT_SECRETARIAT]
    assert refusal.claimant_organisation_id == BRAND and service.store.claim_types == {}
    assert await service.requests(set_status(SECRETARIAT)) == []
    assert service.store.claim_types == {ClaimType.ON_PACK_LOGO: ClaimTypeStatus.OFF}
    rejected = only(await service.requests(request(ClaimType.ON_PACK_LOGO)))
    assert isinstance(rejected, ClaimRejected) and codes(rejected) == [ClaimReason.CLAIM_TYPE_OFF]


async def test_a_text_version_is_stored_once_and_other_content_for_it_is_refused():
    service = Service()

    def text(template: str, actor: Actor = SECRETARIAT) -> ClaimTextPublished:
        return ClaimTextPublished.create(
            actor=actor, occurred_at=NOW, claim_id="text:t1", text_id="t1", version=1,
            claim_type=ClaimType.CERTIFIED_TEXT, language="en", template=template,
            auto_approve=True,
        )  # fmt: skip

    template = "Made by an ASI certified company, certificate {certificate_number}"
    assert await service.requests(text(template)) == []
    assert await service.requests(text(template)) == []
    conflict = only(await service.requests(text(template + " ({link})")))
    assert codes(conflict) == [ClaimReason.REQUEST_CONFLICT] and conflict.claim_id == "text:t1"
    not_secretariat = only(await service.requests(text(template, BRAND_ACTOR)))
    assert codes(not_secretariat) == [ClaimReason.REVIEWER_NOT_SECRETARIAT]
    assert [t.template for t in service.store.texts.values()] == [template]


def submitted(
    producer: str = BRAND, actor: Actor | None = None, **overrides: Any
) -> FootprintSubmitted:
    document = ProductFootprint.model_validate(pact(**overrides))
    return FootprintSubmitted.create(
        actor=actor or Actor(organisation_id=producer, role=Role.PRODUCER), occurred_at=NOW,
        claim_id=footprint_key(document.id), producer_organisation_id=producer, footprint=document,
    )  # fmt: skip


async def test_a_footprint_is_kept_by_version_and_a_conflicting_one_is_refused_naming_the_field():
    service = Service()
    assert await service.requests(submitted()) == []
    assert await service.requests(submitted()) == []  # the same version again: nothing new
    changed_v1 = only(await service.requests(submitted(comment="other")))
    assert isinstance(changed_v1, ClaimRequestRefused)
    assert changed_v1.claim_id == f"footprint:{FOOTPRINT_ID}"
    assert [(r.code, r.field) for r in changed_v1.reasons] == [
        (ClaimReason.REQUEST_CONFLICT, "footprint.version")
    ]
    other_owner = only(await service.requests(submitted("producer-2", version=2)))
    assert [(r.code, r.field) for r in other_owner.reasons] == [
        (ClaimReason.REQUEST_CONFLICT, "footprint.id")
    ]
    not_sender = only(await service.requests(submitted("producer-2", actor=BRAND_ACTOR)))
    assert codes(not_sender) == [ClaimReason.REQUESTER_NOT_CLAIMANT]
    wrong_key = only(
        await service.requests(submitted().model_copy(update={"claim_id": "footprint:x"}))
    )
    assert [(r.code, r.field) for r in wrong_key.reasons] == [
        (ClaimReason.INVALID_REQUEST, "claim_id")
    ]
    assert await service.requests(submitted(version=2, comment="v2")) == []
    older = only(await service.requests(submitted(version=1)))
    assert [(r.code, r.field) for r in older.reasons] == [
        (ClaimReason.REQUEST_CONFLICT, "footprint.version")
    ]
    kept = service.store.footprints[FOOTPRINT_ID]
    assert (kept.version, kept.owner, kept.document.comment) == (2, BRAND, "v2")


async def test_a_footprint_claim_rests_on_the_assured_footprint_sent_in_the_same_batch():
    service = Service()
    await service.registered()
    out = await service.requests(submitted(), request(ClaimType.CARBON_FOOTPRINT))
    assert [o.message.type for o in out] == ["allocate_for_claim", "claim_pending"]
    approved = only(
        [
            o
            for o in await service.ledger(grant(out[0].message))
            if o.message.type == "claim_approved"
        ]
    )
    assert approved.evidence.footprint.footprint_id == UUID(FOOTPRINT_ID)
    assert approved.evidence.footprint.assurance_provider == "Verifier GmbH"
    assert approved.pilot  # the footprint claim type is a pilot by default


async def test_a_footprint_claim_on_an_unassured_footprint_is_rejected_naming_what_is_missing():
    service = Service()
    await service.registered()
    unassured = submitted(pcf={"assurance": None})
    rejected = only(await service.requests(unassured, request(ClaimType.CARBON_FOOTPRINT)))
    assert isinstance(rejected, ClaimRejected)
    assert [(r.code, r.field) for r in rejected.reasons] == [
        (ClaimReason.FOOTPRINT_NOT_ASSURED, "pcf.assurance")
    ]
    assert rejected.evidence is not None and rejected.evidence.footprint is not None
    assert rejected.evidence.footprint.assurance_provider is None


def test_a_reused_event_id_with_other_content_is_refused_naming_the_claimant():
    service = Service()
    message = request()
    [out] = service.handlers.on_conflict(Incoming(message, Record("t", 0, 1, None, None)), NOW)
    assert published([out]) == [("claim_request_refused", topics.CLAIMS_DECISIONS.name, "claim-1")]
    assert codes(out.message) == [ClaimReason.REQUEST_CONFLICT]


# ---- ledger.events.v1 ----------------------------------------------------------------------------


async def test_a_granted_allocation_approves_a_certified_text_claim_and_debits_its_mass():
    service = Service()
    out = await service.granted(ClaimType.CERTIFIED_TEXT)
    assert published(out) == [
        ("claim_approved", topics.CLAIMS_DECISIONS.name, "claim-1"),
        ("debit_claim_mass", topics.LEDGER_COMMANDS.name, f"owner:{BRAND}"),
    ]
    assert (
        service.store.claims[claim_key(BRAND, "claim-1")].claim.approval_code
        == out[0].message.approval_code
    )


async def test_a_grant_for_another_owner_or_an_unknown_claim_changes_nothing():
    service = Service()
    command = await service.pending()
    assert await service.ledger(grant(command, owner="brand-2")) == []
    unknown = command.model_copy(update={"claim_id": "claim-9"})
    assert await service.ledger(grant(unknown)) == []
    assert service.status() is Status.PENDING


async def test_a_refused_allocation_rejects_the_claim_naming_the_claims_holding_the_mass():
    service = Service()
    command = await service.pending()
    refused = AllocationRefused.create(
        actor=ACCOUNTING, occurred_at=NOW, cause=command, claim_id="claim-1",
        owner_organisation_id=BRAND, requested_kg=command.mass_kg, available_kg=Decimal(100),
        reasons=[Reason(code=LedgerReason.INSUFFICIENT_CREDITS, message="not enough")],
        held_by_claim_ids=["claim-0"],
    )  # fmt: skip
    rejected = only(await service.ledger(refused))
    assert isinstance(rejected, ClaimRejected)
    assert codes(rejected)[:2] == [ClaimReason.MASS_NOT_COVERED, ClaimReason.MASS_ALREADY_CLAIMED]
    assert service.status() is Status.REJECTED


async def test_a_rejected_allocation_command_rejects_its_claim_and_a_rejected_debit_only_warns():
    service = Service()
    command = await service.pending()

    def rejected(type_: str) -> LedgerCommandRejected:
        return LedgerCommandRejected.create(
            actor=ACCOUNTING, occurred_at=NOW, rejected_event_id=command.event_id,
            rejected_event_type=type_,
            reasons=[Reason(code=LedgerReason.ALLOCATION_CONFLICT, message="unreadable")],
        )  # fmt: skip

    assert await service.ledger(rejected(DebitClaimMass.TYPE)) == []
    assert service.status() is Status.PENDING
    decision = only(await service.ledger(rejected(AllocateForClaim.TYPE)))
    assert (
        isinstance(decision, ClaimRejected) and codes(decision)[0] == ClaimReason.MASS_NOT_COVERED
    )
    assert service.status() is Status.REJECTED


# ---- certificates.events.v1 ----------------------------------------------------------------------


async def test_a_suspended_certificate_revokes_the_approval_resting_on_it_once():
    service = Service()
    await service.granted(ClaimType.CERTIFIED_TEXT)
    suspended = changed(
        coc(status=CertificateStatus.SUSPENDED, revision=2), CertificateChange.SUSPENDED
    )
    revoked = only(await service.certificates(suspended))
    assert isinstance(revoked, ClaimRevoked) and codes(revoked) == [
        ClaimReason.CERTIFICATE_SUSPENDED
    ]
    assert service.status() is Status.REVOKED
    assert await service.certificates(suspended) == []  # the same revision again
    assert service.store.certificates[coc().certificate_id].revision == 2


async def test_a_member_flagged_at_risk_makes_no_new_claims_until_its_deadline_is_extended():
    service = Service()
    await service.registered()
    overdue = MemberCertificationOverdue.create(
        actor=SERVICE, occurred_at=NOW, organisation_id=BRAND, reason="no PS certificate"
    )
    assert await service.certificates(overdue) == []
    assert service.store.standing[BRAND][0] == AT_RISK
    rejected = only(await service.requests(request(claim_id="claim-1")))
    assert ClaimReason.MEMBERSHIP_AT_RISK in codes(rejected)
    extended = CertificationDeadlineExtended.create(
        actor=SERVICE, occurred_at=NOW, organisation_id=BRAND, until=date(2026, 12, 31),
        reason="audit booked",
    )  # fmt: skip
    assert await service.certificates(extended) == []
    assert BRAND not in service.store.standing
    assert isinstance(
        (await service.requests(request(claim_id="claim-2")))[1].message, ClaimPending
    )


async def test_a_forfeited_membership_is_no_membership_until_the_member_registers_again():
    service = Service()
    await service.registered()
    forfeited = MembershipForfeited.create(
        actor=SERVICE, occurred_at=NOW, organisation_id=BRAND, forfeited_on=date(2026, 5, 1),
        reason="not certified in time",
    )  # fmt: skip
    await service.certificates(forfeited)
    rejected = only(await service.requests(request(claim_id="claim-1")))
    assert ClaimReason.NOT_A_MEMBER in codes(rejected)
    again = MemberRegistered.create(
        actor=SERVICE, occurred_at=NOW, member=member(BRAND, joined_on=date(2026, 5, 20))
    )
    await service.certificates(again, changed(ps(revision=2)))
    assert BRAND not in service.store.standing
    assert service.store.members[BRAND].joined_on == date(2026, 5, 20)
    assert isinstance(
        (await service.requests(request(claim_id="claim-2")))[1].message, ClaimPending
    )


# ---- the clock -----------------------------------------------------------------------------------


async def test_the_clock_rejects_a_claim_accounting_did_not_answer_in_time_and_releases_it():
    service = Service()
    await service.pending()
    assert await service.handlers.tick(tx(seconds=29)) == []
    out = await service.handlers.tick(tx(seconds=30))
    assert [type(o.message) for o in out] == [ClaimRejected, ReleaseAllocation]
    assert codes(out[0].message) == [ClaimReason.ALLOCATION_TIMEOUT]
    assert service.status() is Status.REJECTED
    assert await service.handlers.tick(tx(seconds=60)) == []
