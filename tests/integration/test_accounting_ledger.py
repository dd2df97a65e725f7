"""The mass-balance ledger through the real broker and database."""

from __future__ import annotations

import asyncio
import json
from datetime import date
from decimal import Decimal

import pytest

from contracts.certificates import CertificateChange, CertificateChanged
from contracts.common import Actor, DueDiligenceStatus, Role
from contracts.ledger import (
    AccountFrozen,
    AllocateForClaim,
    AllocationGranted,
    AllocationRefused,
    AllocationReleased,
    ClaimMassDebited,
    ClaimMassReturned,
    ClosePeriod,
    CoCDocumentIssued,
    DebitClaimMass,
    DesignationRefused,
    LedgerCommandRejected,
    LedgerEntryPosted,
    LedgerReason,
    PeriodClosed,
    CertificationBodyAlerted,
    ReleaseAllocation,
    ReturnClaimMass,
    scope_account_id,
)
from contracts.registry import CertificateStatus
from libs.clock import ManualClock
from services.accounting import cli
from services.accounting.adapters import encoding
from services.accounting.app import PERIOD_CLOCK, build_runtime
from services.accounting.config import Settings
from services.accounting.domain.chain import verify_chain
from services.accounting.signing import verify
from tests.support import NOW, running, service_settings, unique
from tests.unit.accounting.factories import certificate, ps_certificate, receipt, ship

pytestmark = pytest.mark.integration

CLAIMS = Actor(organisation_id="claims", role=Role.SERVICE)


def certified(org: str, site: str, status: CertificateStatus = CertificateStatus.ACTIVE, revision: int = 1):
    cert = certificate(org=org, sites=(site,), status=status, revision=revision, certificate_id=f"cert-{org}")
    return CertificateChanged.create(actor=Actor(organisation_id="certificates", role=Role.SERVICE), occurred_at=NOW,
                                     change=CertificateChange.ISSUED if revision == 1 else CertificateChange.SUSPENDED,
                                     certificate=cert)


def ps_certified(org: str, site: str):
    """Designating needs a current PS certificate beside the CoC one."""
    return CertificateChanged.create(actor=Actor(organisation_id="certificates", role=Role.SERVICE), occurred_at=NOW,
                                     change=CertificateChange.ISSUED,
                                     certificate=ps_certificate(org=org, sites=(site,), certificate_id=f"ps-{org}"))


def scope_account(org: str) -> str:
    """The pool of the organisation's CoC certification scope (named after its certificate)."""
    return scope_account_id(org, f"cert-{org}")


async def projected(runtime, org: str, timeout: float = 30.0, certificate_id: str | None = None) -> None:
    """Certificates arrive on their own topic: wait until accounting has projected the issuer's."""
    deadline = asyncio.get_running_loop().time() + timeout
    while await runtime.db["certificates"].find_one({"_id": certificate_id or f"cert-{org}"}) is None:
        assert asyncio.get_running_loop().time() < deadline, "certificate never projected"
        await asyncio.sleep(0.05)


async def certify(sender, runtime, org: str, site: str) -> None:
    await sender.send(certified(org, site))
    await sender.send(ps_certified(org, site))
    await projected(runtime, org)
    await projected(runtime, org, certificate_id=f"ps-{org}")


async def test_a_receipt_credits_a_designation_issues_a_signed_document_and_an_overdraft_is_refused(
        stack, recorder, sender):
    settings = service_settings(Settings, stack)
    org, site = unique("org"), unique("site")
    account = scope_account(org)
    async with running(build_runtime, settings) as runtime:
        await certify(sender, runtime, org, site)
        await sender.send(receipt("10000", "2000", org=org, site=site))
        [credit] = await recorder.wait_for(LedgerEntryPosted, lambda m: m.entry.account_id == account)
        assert credit.entry.coc_credit_kg == Decimal(2000) and credit.entry.rule_set_id == "v2-2022-group-percentage"

        await sender.send(ship("5000", "1000", org=org, site=site))
        [issued] = await recorder.wait_for(CoCDocumentIssued, lambda m: m.account_id == account)
        assert issued.document.coc_mass_kg == Decimal(1000)
        assert issued.document.issuer_certificate_number == f"ASI-COC-2026-cert-{org}"
        public = runtime.consumers[0].handler.__self__.signer.public_key
        assert verify(issued.signature, public, issued.document)["coc_mass_kg"] == "1000.000"

        overdraft = ship("5000", "1500", org=org, site=site)
        await sender.send(overdraft)
        [refused] = await recorder.wait_for(DesignationRefused, lambda m: m.movement_id == overdraft.movement_id)
        assert {r.code for r in refused.reasons} >= {"insufficient_credits"}
        assert refused.available_coc_kg == Decimal(1000)

        balance = await runtime.db["accounts"].find_one({"_id": account})
        assert balance["balance"] == Decimal(1000) and balance["sequence"] == 2
        entries = [encoding.entry_from(d) async for d in runtime.db["entries"].find(encoding.entries_filter(account)).sort("_id")]
        assert [e.kind.value for e in entries] == ["receipt_credit", "designation_debit"]
        assert verify_chain(entries) == []


async def test_allocations_are_granted_against_free_credits_only_once_released_or_spent(stack, recorder, sender):
    settings = service_settings(Settings, stack)
    owner, site = unique("brand"), unique("site")
    async with running(build_runtime, settings) as runtime:
        await sender.send(certified(owner, site))  # a receipt earns credits only inside a CoC scope
        await projected(runtime, owner)
        await sender.send(receipt("1000", "1000", org=owner, site=site, document="doc-can-1", recycled="0.5",
                                  footprint="2"))
        await recorder.wait_for(LedgerEntryPosted, lambda m: m.entry.account_id == scope_account(owner))
        claim, other = unique("claim"), unique("claim")
        ask = AllocateForClaim.create(actor=CLAIMS, occurred_at=NOW, claim_id=claim, owner_organisation_id=owner,
                                      mass_kg=Decimal(600))
        await sender.send(ask)
        await sender.send(AllocateForClaim.create(actor=CLAIMS, occurred_at=NOW, claim_id=claim,
                                                  owner_organisation_id=owner, mass_kg=Decimal(600)))
        grants = await recorder.wait_for(AllocationGranted, lambda m: m.claim_id == claim, count=2)
        assert grants[0].documents == grants[1].documents
        assert grants[0].documents[0].document_id == "doc-can-1"
        assert grants[0].recycled_content_share == Decimal("0.5")

        await sender.send(AllocateForClaim.create(actor=CLAIMS, occurred_at=NOW, claim_id=other,
                                                  owner_organisation_id=owner, mass_kg=Decimal(600)))
        [refused] = await recorder.wait_for(AllocationRefused, lambda m: m.claim_id == other)
        assert refused.available_kg == Decimal(400)

        await sender.send(ReleaseAllocation.create(actor=CLAIMS, occurred_at=NOW, claim_id=claim,
                                                   owner_organisation_id=owner, reason="claim withdrawn"))
        [released] = await recorder.wait_for(AllocationReleased, lambda m: m.claim_id == claim)
        assert released.mass_kg == Decimal(600)
        retry = AllocateForClaim.create(actor=CLAIMS, occurred_at=NOW, claim_id=other, owner_organisation_id=owner,
                                        mass_kg=Decimal(600))
        await sender.send(retry)
        await recorder.wait_for(AllocationGranted, lambda m: m.claim_id == other)

        # Approved: the mass is spent (a claim_debit), and a release can no longer give it back.
        await sender.send(DebitClaimMass.create(actor=CLAIMS, occurred_at=NOW, claim_id=other,
                                                owner_organisation_id=owner, mass_kg=Decimal(600)))
        [debited] = await recorder.wait_for(ClaimMassDebited, lambda m: m.claim_id == other)
        assert debited.account_ids == [scope_account(owner)]
        late_release = ReleaseAllocation.create(actor=CLAIMS, occurred_at=NOW, claim_id=other,
                                                owner_organisation_id=owner, reason="claim revoked")
        await sender.send(late_release)
        [kept] = await recorder.wait_for(LedgerCommandRejected, lambda m: m.rejected_event_id == late_release.event_id)
        assert [(r.code, r.field) for r in kept.reasons] == [(LedgerReason.CLAIM_MASS_SPENT, "claim_id")]
        # The same tonnes asked again: refused, naming the claim that spent them.
        third = unique("claim")
        await sender.send(AllocateForClaim.create(actor=CLAIMS, occurred_at=NOW, claim_id=third,
                                                  owner_organisation_id=owner, mass_kg=Decimal(600)))
        [again] = await recorder.wait_for(AllocationRefused, lambda m: m.claim_id == third)
        assert again.held_by_claim_ids == [other] and again.available_kg == Decimal(400)
        # Withdrawn after 450 kg were used: 150 kg come back, once, referencing the debit.
        await sender.send(ReturnClaimMass.create(actor=CLAIMS, occurred_at=NOW, claim_id=other,
                                                 owner_organisation_id=owner, mass_kg=Decimal(150),
                                                 used_kg=Decimal(450), reason="withdrawn"))
        [back] = await recorder.wait_for(ClaimMassReturned, lambda m: m.claim_id == other)
        assert (back.mass_kg, back.debited_kg, back.used_kg) == (Decimal(150), Decimal(600), Decimal(450))
        [return_entry] = await recorder.wait_for(LedgerEntryPosted, lambda m: m.entry.kind.value == "claim_return"
                                                 and m.entry.claim_id == other)
        [debit_entry] = recorder.messages(kind=LedgerEntryPosted, where=lambda m: m.entry.kind.value == "claim_debit"
                                          and m.entry.claim_id == other)
        assert return_entry.entry.reverses_entry_id == debit_entry.entry.entry_id
        account = await runtime.db["accounts"].find_one({"_id": scope_account(owner)})
        assert (account["balance"], account["reserved"]) == (Decimal(550), Decimal(0))


async def test_a_suspended_certificate_freezes_designations_and_the_clock_closes_periods_once(
        stack, recorder, sender):
    clock = ManualClock(NOW)
    settings = service_settings(Settings, stack)
    org, site = unique("org"), unique("site")
    account = scope_account(org)
    async with running(build_runtime, settings, clock=clock) as runtime:
        await certify(sender, runtime, org, site)
        await sender.send(receipt("1000", "1000", org=org, site=site))
        await recorder.wait_for(LedgerEntryPosted, lambda m: m.entry.account_id == account)
        await sender.send(certified(org, site, CertificateStatus.SUSPENDED, revision=2))
        await recorder.wait_for(AccountFrozen, lambda m: m.account_id == account)
        frozen = ship("100", "100", org=org, site=site)
        await sender.send(frozen)
        [refused] = await recorder.wait_for(DesignationRefused, lambda m: m.movement_id == frozen.movement_id)
        assert [r.code for r in refused.reasons] == ["account_frozen"]

        clock.set(NOW.replace(year=2028, month=1, day=2))
        await runtime.run_tick(PERIOD_CLOCK)
        await runtime.run_tick(PERIOD_CLOCK)
        closed = await recorder.wait_for(PeriodClosed, lambda m: m.statement.account_id == account, count=2)
        assert [c.statement.period_id for c in closed] == ["2026-01-01", "2027-01-01"]
        assert closed[0].statement.forfeited_kg == Decimal(1000)
        await sender.send(ClosePeriod.create(actor=Actor(organisation_id="asi", role=Role.SECRETARIAT),
                                             occurred_at=NOW, account_id=account))
        third = await recorder.wait_for(PeriodClosed, lambda m: m.statement.account_id == account, count=3)
        assert third[2].statement.period_id == "2028-01-01"
        assert third[2].statement.period_end == date(2028, 1, 2)
        assert await runtime.db["statements"].count_documents({"account_id": account}) == 3


async def test_the_cli_prints_balances_verifies_documents_and_detects_a_tampered_chain(
        stack, recorder, sender, monkeypatch, capsys, tmp_path):
    settings = service_settings(Settings, stack)
    monkeypatch.setenv("MONGODB_URI", stack.mongodb_uri)
    monkeypatch.setenv("ACCOUNTING_DATABASE", settings.database)
    org, site = unique("org"), unique("site")
    account = scope_account(org)
    async with running(build_runtime, settings) as runtime:
        await certify(sender, runtime, org, site)
        await sender.send(receipt("1000", "500", org=org, site=site))
        await sender.send(ship("1000", "400", org=org, site=site))
        [issued] = await recorder.wait_for(CoCDocumentIssued, lambda m: m.account_id == account)

        assert cli.main(["balance", account]) == 0
        assert "free         100.000 kg" in capsys.readouterr().out
        assert cli.main(["statement", account]) == 0
        assert "designation_debit" in capsys.readouterr().out
        assert cli.main(["public-key"]) == 0
        public = json.loads(capsys.readouterr().out)["public_key"]
        document = tmp_path / "document.json"
        document.write_text(issued.model_dump_json())
        # `=`: a base64url key may start with "-", which argparse would take for an option (1 key in 64)
        assert cli.main(["verify-document", str(document), f"--public-key={public}"]) == 0
        forged = json.loads(issued.model_dump_json())
        forged["document"]["coc_mass_kg"] = "4000"
        document.write_text(json.dumps(forged))
        assert cli.main(["verify-document", str(document)]) == 1

        assert cli.main(["shadow", account]) == 0
        shadowed = capsys.readouterr().out
        assert all(r in shadowed for r in ("v2-2022-group-percentage *", "v3-draft-site-credit", "v3-draft-group-credit"))
        assert "2 movements" in shadowed

        assert cli.main(["verify-chain", account]) == 0
        first = await runtime.db["entries"].find_one({"_id": encoding.entry_key(account, 1)})
        forged_entry = first["entry"].replace('"coc_credit_kg":"500.000"', '"coc_credit_kg":"5000.000"')
        assert forged_entry != first["entry"]
        await runtime.db["entries"].update_one({"_id": first["_id"]}, {"$set": {"entry": forged_entry}})
        assert cli.main(["verify-chain", account]) == 1
        assert "TAMPERED" in capsys.readouterr().out


async def test_a_receipt_that_failed_due_diligence_is_recorded_without_credit_and_alerts_the_certification_body(
        stack, recorder, sender):
    settings = service_settings(Settings, stack)
    org, site = unique("org"), unique("site")
    account = scope_account(org)
    async with running(build_runtime, settings) as runtime:
        await certify(sender, runtime, org, site)
        failed = receipt("1000", "0", org=org, site=site).model_copy(
            update={"due_diligence_status": DueDiligenceStatus.FAILED, "due_diligence_reference": "dd-9"})
        await sender.send(failed)
        [alert] = await recorder.wait_for(CertificationBodyAlerted, lambda m: m.movement_id == failed.movement_id)
        assert (alert.alert_kind.value, alert.account_id, alert.mass_kg) == ("due_diligence_failed", account, Decimal(1000))
        [entry] = await recorder.wait_for(LedgerEntryPosted, lambda m: m.entry.movement_id == failed.movement_id)
        assert (entry.entry.coc_credit_kg, entry.entry.total_input_kg) == (0, Decimal(1000))
        doc = await runtime.db["accounts"].find_one({"_id": account})
        assert encoding.account_from(doc).period.non_coc_inputs == {"due_diligence_failed": Decimal(1000)}
