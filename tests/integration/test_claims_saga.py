"""Claims through the real broker and database. The test plays certificates (MemberRegistered,
CertificateChanged) and accounting (AllocationGranted / AllocationRefused)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

import pytest

from contracts.certificates import CertificateChange, CertificateChanged, MemberRegistered
from contracts.claims import (
    ClaimApproved,
    ClaimAwaitingReview,
    ClaimPending,
    ClaimReason,
    ClaimRejected,
    ClaimRequestRefused,
    ClaimRevoked,
    ClaimUsageRecorded,
    ClaimUsageReported,
    ClaimWithdrawalConfirmed,
    ClaimWithdrawn,
)
from contracts.common import Role
from contracts.ledger import (
    AllocateForClaim,
    AllocationGranted,
    AllocationRefused,
    DebitClaimMass,
    DocumentShare,
    ReleaseAllocation,
    ReturnClaimMass,
)
from contracts.registry import Certificate, CertificateStatus, Member, MembershipClass
from libs.clock import ManualClock
from services.claims import cli
from services.claims.app import CLOCK_TICK, build_runtime
from services.claims.domain import rule_sets
from services.claims.config import Settings
from tests.support import NOW, actor, running, service_settings, unique
from tests.unit.claims.builders import coc, ps, request, review

pytestmark = pytest.mark.integration

ACCOUNTING = actor("accounting", Role.SERVICE)
CERTIFICATES = actor("certificates", Role.SERVICE)


def member(org: str) -> MemberRegistered:
    return MemberRegistered.create(actor=CERTIFICATES, occurred_at=NOW, member=Member(
        organisation_id=org, name="Fizzy Drinks", membership_class=MembershipClass.INDUSTRIAL_USERS,
        joined_on=NOW.date().replace(year=2024)))


def changed(certificate: Certificate, change: CertificateChange = CertificateChange.ISSUED) -> CertificateChanged:
    return CertificateChanged.create(actor=CERTIFICATES, occurred_at=NOW, change=change, certificate=certificate)


async def certified_brand(sender, runtime) -> tuple[str, Certificate, Certificate]:
    """A member with a current PS and CoC certificate, projected into the claims database."""
    org = unique("brand")
    ps_cert = ps(org=org, number=f"ASI-PS-2025-{unique('n')[-6:]}", certificate_id=unique("ps"))
    coc_cert = coc(org=org, number=f"ASI-COC-2025-{unique('n')[-6:]}".upper(), certificate_id=unique("coc"))
    for message in (member(org), changed(ps_cert), changed(coc_cert)):
        await sender.send(message)
    await until(lambda: runtime.db["registry"].count_documents({"organisation_id": org}), 3)
    return org, ps_cert, coc_cert


async def until(count, expected: int, timeout: float = 60.0) -> None:
    """Poll the service's own database for a projection (it publishes nothing we could await)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while await count() != expected:
        assert asyncio.get_running_loop().time() < deadline, "projection not written in time"
        await asyncio.sleep(0.05)


def granted(claim_id: str, org: str, mass: str, cause) -> AllocationGranted:
    return AllocationGranted.create(
        actor=ACCOUNTING, occurred_at=NOW, cause=cause, claim_id=claim_id, owner_organisation_id=org,
        mass_kg=mass, account_ids=[f"group:{org}"],
        documents=[DocumentShare(document_id="doc-1", mass_kg=mass, recycled_content_share="0.4",
                                 recycled_pre_consumer_share="0.1", recycled_post_consumer_share="0.3")],
        recycled_content_share="0.4", recycled_pre_consumer_share="0.1", recycled_post_consumer_share="0.3",
        carbon_footprint_kg_co2e_per_kg="4.2",
    )


async def approve_on_review(sender, recorder, claim_id: str, org: str) -> ClaimAwaitingReview:
    """An on-pack claim waits for the secretariat; the secretariat approves it."""
    [waiting] = await recorder.wait_for(ClaimAwaitingReview, of(claim_id))
    await sender.send(review(claim_id=claim_id, org=org, comment="artwork checked"))
    return waiting


def of(claim_id: str):
    return lambda m: getattr(m, "claim_id", None) == claim_id


async def test_granted_allocation_approves_and_spends_once_and_a_suspension_revokes_keeping_it_spent(
        stack, recorder, sender):
    settings = service_settings(Settings, stack)
    async with running(build_runtime, settings, clock=ManualClock(NOW)) as runtime:
        org, _, coc_cert = await certified_brand(sender, runtime)
        claim_id = unique("claim")
        req = request(claim_id=claim_id, org=org, units=1_000_000, per_unit="0.013")
        await sender.send(req)
        [allocate] = await recorder.wait_for(AllocateForClaim, of(claim_id))
        assert allocate.mass_kg == Decimal("13000") and allocate.owner_organisation_id == org
        [pending] = await recorder.wait_for(ClaimPending, of(claim_id))
        assert pending.decide_by == NOW + timedelta(seconds=settings.allocation_timeout_s)

        # The same request again (redelivered, and resent under a new event id): nothing new.
        await sender.send(req)
        await sender.send(request(claim_id=claim_id, org=org, units=1_000_000, per_unit="0.013"))
        # A changed request under the same claim id is refused; the original stands.
        changed_req = request(claim_id=claim_id, org=org, units=2_000_000)
        await sender.send(changed_req)
        [conflict] = await recorder.wait_for(ClaimRequestRefused, of(claim_id))
        assert conflict.reasons[0].code == ClaimReason.REQUEST_CONFLICT
        assert conflict.refused_event_id == changed_req.event_id

        await sender.send(granted(claim_id, org, "13000", allocate))
        waiting = await approve_on_review(sender, recorder, claim_id, org)
        assert waiting.artwork_reference == req.artwork_reference and waiting.evidence.allocation.mass_kg == 13000
        [approved] = await recorder.wait_for(ClaimApproved, of(claim_id))
        assert (approved.review.decided_by, approved.review.comment) == ("asi-secretariat", "artwork checked")
        assert approved.valid_until == min(coc_cert.valid_until, ps(org=org).valid_until)
        assert approved.evidence.allocation.mass_kg == Decimal("13000")
        assert {c.certificate_number for c in approved.evidence.certificates} >= {coc_cert.certificate_number}
        assert approved.correlation_id == req.correlation_id
        [debit] = await recorder.wait_for(DebitClaimMass, of(claim_id))
        assert (debit.mass_kg, debit.owner_organisation_id, debit.approval_code) == (
            Decimal("13000"), org, approved.approval_code)

        # Answers about claims this service does not hold are ignored.
        stranger = unique("claim")
        await sender.send(granted(stranger, org, "1", allocate))

        # Afterwards: the CoC certificate is suspended -> revoked; the mass stays spent (nothing released).
        suspended = coc_cert.model_copy(update={"status": CertificateStatus.SUSPENDED, "revision": 2})
        await sender.send(changed(coc_cert.model_copy(update={"revision": 1})))  # a stale revision: ignored
        await sender.send(changed(suspended, CertificateChange.SUSPENDED))
        [revoked] = await recorder.wait_for(ClaimRevoked, of(claim_id))
        assert revoked.approval_code == approved.approval_code
        assert revoked.reasons[0].code == ClaimReason.CERTIFICATE_SUSPENDED

        await recorder.settle(quiet_s=0.5)
        assert not recorder.messages(kind=ReleaseAllocation, where=of(claim_id))
        assert len(recorder.messages(kind=DebitClaimMass, where=of(claim_id))) == 1
        assert len(recorder.messages(kind=AllocateForClaim, where=of(claim_id))) == 1
        assert len(recorder.messages(kind=ClaimPending, where=of(claim_id))) == 1
        assert len(recorder.messages(kind=ClaimApproved, where=of(claim_id))) == 1
        assert not recorder.messages(topic="claims.decisions.v1", where=of(stranger))

        shown = await cli.show(runtime.db, claim_id)
        assert shown["status"] == "revoked" and shown["approval_code"] == approved.approval_code
        assert [d["type"] for d in shown["decisions"]] == [
            "allocate_for_claim", "claim_pending", "claim_request_refused", "claim_awaiting_review", "claim_approved",
            "debit_claim_mass", "claim_revoked"]
        assert shown["mass"]["approved_kg"] == "13000" and shown["mass"]["used_kg"] == "0"
        assert shown["decisions"][4]["evidence"]["wording_rules_version"] == rule_sets.CURRENT
        [row] = await cli.by_owner(runtime.db, org)
        assert (row["claim_id"], row["status"]) == (claim_id, "revoked")


async def test_refusals_static_failures_timeouts_and_withdrawals(stack, recorder, sender):
    settings = service_settings(Settings, stack, allocation_timeout_s=5)
    clock = ManualClock(NOW)
    async with running(build_runtime, settings, clock=clock) as runtime:
        org, _, _ = await certified_brand(sender, runtime)
        refused, bad, slow, kept = (unique(p) for p in ("refused", "bad", "slow", "kept"))

        # A static failure is rejected at once with every reason, and nothing is allocated.
        await sender.send(request(claim_id=bad, org=org, wording="100% traceable to the mine", link=None))
        [rejected_bad] = await recorder.wait_for(ClaimRejected, of(bad))
        assert sorted(r.code for r in rejected_bad.reasons) == sorted([
            ClaimReason.MISLEADING_WORDING, ClaimReason.MISLEADING_WORDING, ClaimReason.MISSING_ELEMENT,
            ClaimReason.MISSING_ELEMENT])

        # Accounting refuses -> rejected, mass not covered.
        for claim_id in (refused, slow, kept):
            await sender.send(request(claim_id=claim_id, org=org))
        allocations = await recorder.wait_for(AllocateForClaim, lambda m: m.claim_id in {refused, slow, kept}, count=3)
        by_claim = {a.claim_id: a for a in allocations}
        await sender.send(AllocationRefused.create(
            actor=ACCOUNTING, occurred_at=NOW, cause=by_claim[refused], claim_id=refused, owner_organisation_id=org,
            requested_kg="13000", available_kg="12", reasons=[{"code": "insufficient_credits", "message": "short"}]))
        [rejected] = await recorder.wait_for(ClaimRejected, of(refused))
        assert [r.code for r in rejected.reasons] == [ClaimReason.MASS_NOT_COVERED]

        # An approved claim: usage reported (beyond the approval refused), then withdrawn -> the unused
        # part returns, and only that.
        await sender.send(granted(kept, org, "13000", by_claim[kept]))
        await approve_on_review(sender, recorder, kept, org)
        await recorder.wait_for(ClaimApproved, of(kept))
        brand = actor(org, Role.BRAND_OWNER)
        start = request(claim_id=kept, org=org).period_start
        used = ClaimUsageReported.create(actor=brand, occurred_at=NOW, claim_id=kept, claimant_organisation_id=org,
                                         period_start=start, period_end=start + timedelta(days=30), units=400_000)
        await sender.send(used)
        [recorded] = await recorder.wait_for(ClaimUsageRecorded, of(kept))
        assert (recorded.used_kg, recorded.unused_kg) == (Decimal("5200"), Decimal("7800"))
        too_much = ClaimUsageReported.create(actor=brand, occurred_at=NOW, claim_id=kept, claimant_organisation_id=org,
                                             period_start=start + timedelta(days=31),
                                             period_end=start + timedelta(days=60), units=600_001)
        await sender.send(too_much)
        [over] = await recorder.wait_for(ClaimRequestRefused, of(kept))
        assert [(r.code, r.field) for r in over.reasons] == [(ClaimReason.USAGE_EXCEEDS_APPROVED, "units")]
        await sender.send(ClaimWithdrawn.create(actor=brand, occurred_at=NOW, claim_id=kept,
                                                claimant_organisation_id=org, reason="relaunch"))
        [confirmed] = await recorder.wait_for(ClaimWithdrawalConfirmed, of(kept))
        assert (confirmed.used_kg, confirmed.returned_kg) == (Decimal("5200"), Decimal("7800"))
        [back] = await recorder.wait_for(ReturnClaimMass, of(kept))
        assert (back.mass_kg, back.used_kg) == (Decimal("7800"), Decimal("5200"))

        # No answer for `slow`: past decide_by the tick rejects and releases (exactly once).
        clock.advance(timedelta(seconds=6))
        [timed_out] = await recorder.wait_for(ClaimRejected, of(slow))
        assert timed_out.reasons[0].code == ClaimReason.ALLOCATION_TIMEOUT
        [release] = await recorder.wait_for(ReleaseAllocation, of(slow))
        assert release.owner_organisation_id == org
        assert await runtime.run_tick(CLOCK_TICK) == 0

        await recorder.settle(quiet_s=0.5)
        assert not recorder.messages(kind=AllocateForClaim, where=of(bad))
        assert len(recorder.messages(kind=ClaimRejected, where=of(slow))) == 1
        assert not recorder.messages(kind=ReleaseAllocation, where=of(refused))
        assert not recorder.messages(kind=ReleaseAllocation, where=of(kept))
