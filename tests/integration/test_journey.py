"""The whole chain, as `make demo` runs it, over the real broker and database, asserted on the events
recorded from the topics."""

from __future__ import annotations

from collections import defaultdict
from contextlib import AsyncExitStack
from decimal import Decimal

import pytest

from contracts import certificates, claims, intake, ledger, movements
from contracts.claims import ClaimReason
from contracts.intake import IntakeReason
from contracts.ledger import EntryKind, LedgerReason
from services.accounting.app import build_runtime as accounting
from services.accounting.config import Settings as AccountingSettings
from services.certificates.app import build_runtime as certification
from services.certificates.config import Settings as CertificatesSettings
from services.claims.app import build_runtime as claim_verification
from services.claims.config import Settings as ClaimsSettings
from services.intake.app import build_runtime as material_intake
from services.intake.config import Settings as IntakeSettings
from devstack.scenario import Platform, Story, main_story
from tests.support import running, service_settings

pytestmark = pytest.mark.integration


def codes(message) -> list[str]:
    return [reason.code for reason in message.reasons]


async def test_the_supply_chain_from_mine_to_can_with_claims_and_a_suspension(stack):
    said: list[str] = []
    settings = {
        "certificates": service_settings(CertificatesSettings, stack),
        "intake": service_settings(IntakeSettings, stack),
        "accounting": service_settings(AccountingSettings, stack),
        "claims": service_settings(ClaimsSettings, stack),
    }
    builders = {"certificates": certification, "intake": material_intake, "accounting": accounting,
                "claims": claim_verification}
    async with AsyncExitStack() as services:
        for name, build in builders.items():
            await services.enter_async_context(running(build, settings[name]))
        async with Platform(stack, lambda source, line: said.append(f"{source}: {line}")) as platform:
            story = Story(platform, suffix=f"-{platform.run}")
            groups = tuple(settings[name].group_id for name in ("intake", "accounting", "claims"))
            outcome = await main_story(platform, story, groups)
            records = list(platform.records)
    mine = story.cast

    # Every decision the story expected, each with its own reason.
    assert outcome.as_expected, "\n".join(said[-30:])
    assert codes(outcome.refused_mass) == [ClaimReason.MASS_NOT_COVERED, ClaimReason.MASS_ALREADY_CLAIMED]
    assert set(codes(outcome.refused_wording)) == {ClaimReason.MISLEADING_WORDING}
    assert codes(outcome.refused_designation) == [LedgerReason.ACCOUNT_FROZEN]
    assert IntakeReason.SUPPLIER_NOT_CERTIFIED in codes(outcome.late_receipt)

    # Claims spend mass: the approval debited the brand's 13 t, the supplier's suspension did not revoke
    # it (the can bodies were received before it), and after the reinstatement the same tonnes claimed
    # again were refused with a reason that names the first claim.
    good = outcome.approved.claim_id
    # The on-pack claim waited for the secretariat, which approved it from its queue (issue 18 item 1).
    assert [m for m in records if isinstance(m, claims.ClaimAwaitingReview) and m.claim_id == good]
    assert outcome.approved.review is not None and outcome.approved.review.decided_by == "asi-secretariat"
    assert outcome.revocations == []
    assert not [m for m in records if isinstance(m, claims.ClaimRevoked | ledger.AllocationReleased)
                and m.claim_id == good]
    [debited] = [m for m in records if isinstance(m, ledger.ClaimMassDebited) and m.claim_id == good]
    assert debited.mass_kg == Decimal(13000) and debited.owner_organisation_id == mine["brand"].org
    debit_entries = [m.entry for m in records if isinstance(m, ledger.LedgerEntryPosted)
                     and m.entry.kind is EntryKind.CLAIM_DEBIT and m.entry.claim_id == good]
    assert sum(-e.coc_credit_kg for e in debit_entries) == Decimal(13000)
    assert any(isinstance(m, certificates.CertificateChanged) and m.certificate.organisation_id == mine["cans"].org
               and m.change.value == "reinstated" for m in records)
    again = outcome.same_tonnes_again
    assert isinstance(again, claims.ClaimRejected)
    [named] = [r for r in again.reasons if r.code == ClaimReason.MASS_ALREADY_CLAIMED]
    assert named.field == "product" and good in named.message

    # The suspension reached every service: certificates, accounting, claims and intake.
    suspended = [m for m in records if isinstance(m, certificates.CertificateChanged)
                 and m.certificate.organisation_id == mine["cans"].org and m.change.value == "suspended"]
    assert len(suspended) == 1
    assert any(isinstance(m, ledger.AccountFrozen) and ledger.account_organisation_id(m.account_id) == mine["cans"].org
               for m in records)

    # The ledger of each account of this run: a gapless hash chain, never negative, and
    # certified tonnes in (receipts and origin) + conversion = designated + balance, per rule set.
    ours = {p.org for p in mine.values()} | {p.site for p in mine.values()}
    entries = defaultdict(list)
    for m in records:
        # group accounts are per certification scope: group:<org>/<scope>
        if isinstance(m, ledger.LedgerEntryPosted) and m.entry.account_id.split(":", 1)[1].split("/")[0] in ours:
            entries[m.entry.account_id].append(m.entry)
    assert len(entries) >= 6
    per_rule_set: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for account, chain in entries.items():
        chain.sort(key=lambda e: e.sequence)
        assert [e.sequence for e in chain] == list(range(1, len(chain) + 1)), account
        assert all(b.previous_hash == a.hash for a, b in zip(chain, chain[1:], strict=False)), account
        assert all(e.balance_after_kg >= 0 for e in chain), account
        totals = per_rule_set[chain[-1].rule_set_id]
        for e in chain:
            kind = ("in" if e.kind is EntryKind.RECEIPT_CREDIT or (e.kind is EntryKind.TRANSFORMATION and e.coc_input_kg)
                    else "designated" if e.kind is EntryKind.DESIGNATION_DEBIT
                    else "conversion" if e.kind is EntryKind.TRANSFORMATION else "other")
            totals[kind] += e.coc_credit_kg
        totals["balance"] += chain[-1].balance_after_kg
    assert set(per_rule_set) == {"v2-2022-group-percentage", "v3-draft-site-credit", "v3-draft-group-credit"}
    for rule_set, t in per_rule_set.items():
        assert t["in"] > 0, rule_set
        assert t["in"] + t["conversion"] + t["designated"] + t["other"] == t["balance"], (rule_set, dict(t))
        assert t["conversion"] <= 0 and t["designated"] <= 0, (rule_set, dict(t))

    # Every CoC Document of this run was signed for exactly the mass designated, and every receipt
    # matched against a document took no more than its mass (the two-party match).
    documents = {m.document.document_id: m.document for m in records if isinstance(m, ledger.CoCDocumentIssued)
                 and m.document.issuer_organisation_id in ours}
    assert len(documents) == 7  # six along the chain and the shipment still on the road at the suspension
    designated = {e.movement_id: -e.coc_credit_kg for chain in entries.values() for e in chain
                  if e.kind is EntryKind.DESIGNATION_DEBIT}
    assert all(designated[d.movement_id] == d.coc_mass_kg for d in documents.values())
    received = defaultdict(Decimal)
    for m in records:
        if isinstance(m, movements.MaterialReceivedRecorded) and m.coc_document_id in documents:
            received[m.coc_document_id] += m.coc_quantity_kg
    assert len(received) == 6 and all(received[d] <= documents[d].coc_mass_kg for d in received)

    # Every refusal carries machine-readable reasons and a human message.
    refusals = [m for m in records if isinstance(m, intake.PlantEventRejected | ledger.DesignationRefused
                                                 | ledger.AllocationRefused | claims.ClaimRejected)]
    assert refusals and all(r.reasons and all(x.code and x.message for x in r.reasons) for r in refusals)
