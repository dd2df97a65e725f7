"""Accounting's use cases through the handlers on the in-memory fake store, one incoming message
type at a time, with the real messages adapter: the tests assert on what would be published
(message, topic and key) and on what the store holds afterwards."""

from __future__ import annotations

import copy
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from contracts import topics
from contracts.certificates import CertificateChange, CertificateChanged, SiteRegistered
from contracts.common import Activity, Actor, Envelope, MaterialCategory, Role
from contracts.ledger import (
    AccountFrozen,
    AccountThawed,
    AllocateForClaim,
    AllocationGranted,
    AllocationRefused,
    AllocationReleased,
    AssignRuleSet,
    ClaimMassDebited,
    ClaimMassReturned,
    ClosePeriod,
    CoCDocumentIssued,
    DebitClaimMass,
    DesignationRefused,
    EntryKind,
    LedgerCommandRejected,
    LedgerEntryPosted,
    LedgerReason,
    MovementRefused,
    PeriodClosed,
    ReleaseAllocation,
    RequestShadowReport,
    ReturnClaimMass,
    RuleSetAssigned,
    ShadowReportPublished,
)
from contracts.registry import Certificate, CertificateStatus, Site
from libs.messaging import Incoming, Outgoing, Record, Tx
from services.accounting.app import build_handlers
from services.accounting.config import Settings
from services.accounting.domain.chain import verify_chain
from services.accounting.domain.rules import CATALOGUE, Assignment
from services.accounting.domain.state import allocation_key
from services.accounting.handlers import DISPATCH, AccountingHandlers
from services.accounting.signing import verify
from tests.unit.accounting.factories import (
    NOW,
    ORG,
    cancel,
    certificate,
    group,
    ps_certificate,
    receipt,
    ship,
    transform,
)
from tests.unit.accounting.fakes import FakeStore

CERTIFIER = Actor(organisation_id="certificates", role=Role.SERVICE)
CLAIMS = Actor(organisation_id="claims", role=Role.SERVICE)
SECRETARIAT = Actor(organisation_id="asi", role=Role.SECRETARIAT)
CREDIT = "v3-draft-group-credit"


class Service:
    """The handlers wired by the composition root on a fake store; a way to deliver batches."""

    def __init__(self) -> None:
        self.store = FakeStore()
        self.handlers: AccountingHandlers = build_handlers(
            Settings(database="unit"), store_for=self.store
        )
        self.offset = 0

    def batch(self, messages: tuple[Envelope, ...]) -> list[Incoming]:
        items = []
        for message in messages:
            self.offset += 1
            items.append(Incoming(message, Record("t", 0, self.offset, None, None)))
        return items

    async def movements(self, *messages: Envelope, days: int = 0) -> list[Outgoing]:
        return await self.handlers.movements(self.batch(messages), tx(days))

    async def commands(self, *messages: Envelope, days: int = 0) -> list[Outgoing]:
        return await self.handlers.commands(self.batch(messages), tx(days))

    async def certificates(self, *messages: Envelope) -> list[Outgoing]:
        return await self.handlers.certificates(self.batch(messages), tx())

    async def certified(self, org: str = ORG, *, rule_set: str | None = None) -> None:
        await self.certificates(changed(certificate(org=org)), changed(ps_certificate(org=org)))
        if rule_set:
            await self.store.add_assignment(org, Assignment(date(2000, 1, 1), rule_set))


def tx(days: int = 0) -> Tx:
    """A transaction without a database: the fake store ignores it."""
    none: Any = None
    return Tx(none, none, NOW + timedelta(days=days))


def changed(c: Certificate, change: CertificateChange = CertificateChange.ISSUED) -> Envelope:
    return CertificateChanged.create(actor=CERTIFIER, occurred_at=NOW, change=change, certificate=c)


def messages(out: list[Outgoing], kind: type[Envelope] | None = None) -> list[Any]:
    """What would be published, after checking every message goes to ledger.events.v1 with the
    topic's key."""
    for o in out:
        assert o.topic is topics.LEDGER_EVENTS
        assert o.key == topics.LEDGER_EVENTS.key_of(o.message)
    return [o.message for o in out if kind is None or isinstance(o.message, kind)]


def test_every_incoming_message_type_has_a_use_case() -> None:
    assert set(DISPATCH) == {
        type(m)
        for m in (
            receipt("1"),
            ship("1", "1"),
            cancel(receipt("1").movement_id),
            transform(
                [(MaterialCategory.ALUMINA, "powder", "2")],
                [(MaterialCategory.ALUMINIUM, "ingot", "1")],
                "0.5",
            ),
        )
    } | {
        AssignRuleSet,
        AllocateForClaim,
        ReleaseAllocation,
        DebitClaimMass,
        ReturnClaimMass,
        ClosePeriod,
        RequestShadowReport,
        SiteRegistered,
        CertificateChanged,
    }


# ---- material.movements.v1 ----------------------------------------------------------------------


async def test_movements_are_booked_while_the_runtime_writes_the_inbox() -> None:
    """The movements consumer declares `inbox_while_computing`: the inbox records the runtime left
    pending are written during the booking (before the books are saved), not after the handler."""
    service = Service()
    await service.certified()
    order: list[str] = []

    async def inbox() -> None:
        order.append("inbox")

    saving = service.store.save

    async def save(books: Any) -> None:
        order.append("save")
        await saving(books)

    service.store.save = save  # type: ignore[method-assign]  # records when the books are saved
    none: Any = None
    out = await service.handlers.movements(
        service.batch((receipt("100"),)), Tx(none, none, NOW, pending=inbox)
    )
    assert order == ["inbox", "save"]
    assert [type(m.message) for m in out] == [LedgerEntryPosted]


async def test_a_receipt_credits_the_account_once() -> None:
    service = Service()
    await service.certified()
    first = receipt("100")
    [posted] = messages(await service.movements(first), LedgerEntryPosted)
    assert posted.entry.kind is EntryKind.RECEIPT_CREDIT
    assert posted.entry.coc_credit_kg == Decimal(100) and posted.entry.account_id == group()
    assert await service.movements(first) == []  # the same movement again: nothing new
    [account] = await service.store.load_accounts([group()])
    assert (account.balance, account.version) == (Decimal(100), 1)
    verify_chain(service.store.entries)


async def test_a_transformation_converts_credits_with_its_factor() -> None:
    service = Service()
    await service.certified()
    await service.movements(receipt("200", category=MaterialCategory.ALUMINA, form="powder"))
    step = transform(
        [(MaterialCategory.ALUMINA, "powder", "200")],
        [(MaterialCategory.ALUMINIUM, "ingot", "100")],
        "0.5",
    )
    [posted] = messages(await service.movements(step), LedgerEntryPosted)
    assert posted.entry.kind is EntryKind.TRANSFORMATION
    [account] = await service.store.load_accounts([group()])
    assert account.buckets == {"aluminium|ingot": Decimal(100)}


async def test_a_designation_issues_a_signed_document_and_an_overdraft_is_refused() -> None:
    service = Service()
    await service.certified(rule_set=CREDIT)
    await service.movements(receipt("100"))
    out = await service.movements(ship("60", "60"))
    [issued] = messages(out, CoCDocumentIssued)
    assert issued.document.coc_mass_kg == Decimal(60)
    payload = verify(issued.signature, service.handlers.signer.public_key, issued.document)
    assert payload["coc_mass_kg"] == "60.000"
    too_much = ship("50", "50")
    [refused] = messages(await service.movements(too_much), DesignationRefused)
    assert refused.causation_id == too_much.event_id
    assert [r.code for r in refused.reasons] == [LedgerReason.INSUFFICIENT_CREDITS]
    assert refused.available_coc_kg == Decimal(40)
    assert service.store.movements[str(too_much.movement_id)].status == "refused"


async def test_a_cancellation_reverses_what_the_movement_booked() -> None:
    service = Service()
    await service.certified()
    first = receipt("100")
    await service.movements(first)
    [reversal] = messages(await service.movements(cancel(first.movement_id)), LedgerEntryPosted)
    assert reversal.entry.kind is EntryKind.REVERSAL
    assert reversal.entry.coc_credit_kg == Decimal(-100)
    assert service.store.movements[str(first.movement_id)].status == "reversed"
    assert (await service.store.load_accounts([group()]))[0].balance == 0


async def test_a_cancellation_that_would_overdraw_is_refused_and_changes_nothing() -> None:
    service = Service()
    await service.certified(rule_set=CREDIT)
    first = receipt("100")
    await service.movements(first, ship("80", "80"))
    [refused] = messages(await service.movements(cancel(first.movement_id)), MovementRefused)
    assert [r.code for r in refused.reasons] == [LedgerReason.REVERSAL_WOULD_OVERDRAW]
    assert service.store.movements[str(first.movement_id)].status == "booked"
    assert (await service.store.load_accounts([group()]))[0].balance == Decimal(20)


async def test_a_movement_event_id_reused_with_other_content_is_refused() -> None:
    service = Service()
    first = receipt("100")
    [incoming] = service.batch((first,))
    [refused] = messages(service.handlers.movement_conflict(incoming, NOW))
    assert isinstance(refused, MovementRefused)
    assert refused.reasons[0].code == LedgerReason.EVENT_ID_CONFLICT


# ---- ledger.commands.v1 -------------------------------------------------------------------------


def assign(actor: Actor, rule_set_id: str = CREDIT) -> AssignRuleSet:
    return AssignRuleSet.create(
        actor=actor,
        occurred_at=NOW,
        organisation_id=ORG,
        rule_set_id=rule_set_id,
        effective_from=date(2026, 1, 1),
    )


async def test_only_the_secretariat_assigns_known_rule_sets() -> None:
    service = Service()
    [assigned] = messages(await service.commands(assign(SECRETARIAT)))
    assert isinstance(assigned, RuleSetAssigned) and assigned.rule_set_id == CREDIT
    assert service.store.assignments == {ORG: [Assignment(date(2026, 1, 1), CREDIT)]}
    denied = messages(await service.commands(assign(CLAIMS), assign(SECRETARIAT, "v9-none")))
    assert [type(m) for m in denied] == [LedgerCommandRejected, LedgerCommandRejected]
    assert [m.reasons[0].code for m in denied] == [
        LedgerReason.NOT_AUTHORISED,
        LedgerReason.UNKNOWN_RULE_SET,
    ]
    assert len(service.store.assignments[ORG]) == 1


def allocate(claim_id: str, kg: str) -> AllocateForClaim:
    return AllocateForClaim.create(
        actor=CLAIMS,
        occurred_at=NOW,
        claim_id=claim_id,
        owner_organisation_id="brand",
        mass_kg=Decimal(kg),
    )


def shadow_request(actor: Actor, account_id: str) -> RequestShadowReport:
    return RequestShadowReport.create(
        actor=actor, occurred_at=NOW, account_id=account_id, until=date(2027, 1, 1)
    )


async def test_the_secretariat_gets_every_rule_sets_shadow_periods_and_nothing_is_booked() -> None:
    service = Service()
    await service.certified(rule_set=CREDIT)
    await service.movements(receipt("100"), receipt("40", site="site-b"), receipt("7", org="other"))
    [account_id] = [a for a in service.store.accounts if a.startswith(f"group:{ORG}")]
    before = copy.deepcopy((service.store.accounts, service.store.entries))
    [report] = messages(
        await service.commands(shadow_request(SECRETARIAT, account_id)), ShadowReportPublished
    )
    assert (report.account_id, report.organisation_id, report.until) == (
        account_id,
        ORG,
        date(2027, 1, 1),
    )
    assert report.assigned_rule_set_id == CREDIT
    # the group account's sites, not the other organisation's receipt
    assert (report.site_ids, report.movements) == (["site-a", "site-b"], 2)
    assert {r.rule_set_id for r in report.rows} == set(CATALOGUE)
    for rule_set_id in CATALOGUE:  # each rule set books the same 140 kg in accounts of its own
        rows = [r for r in report.rows if r.rule_set_id == rule_set_id]
        assert sum(r.coc_input_kg for r in rows) == Decimal(140), rule_set_id
    assert (service.store.accounts, service.store.entries) == before  # never authoritative


async def test_a_shadow_report_is_the_secretariats_and_of_a_known_account() -> None:
    service = Service()
    await service.certified()
    await service.movements(receipt("100"))
    refused = messages(
        await service.commands(
            shadow_request(CLAIMS, next(iter(service.store.accounts))),
            shadow_request(SECRETARIAT, "site:nowhere"),
        )
    )
    assert [type(m) for m in refused] == [LedgerCommandRejected, LedgerCommandRejected]
    assert [(m.reasons[0].code, m.reasons[0].field) for m in refused] == [
        (LedgerReason.NOT_AUTHORISED, "actor.role"),
        (LedgerReason.UNKNOWN_ACCOUNT, "account_id"),
    ]


async def brand(service: Service) -> None:
    await service.certified("brand", rule_set=CREDIT)
    await service.movements(receipt("300", org="brand", document="doc-1"))


async def test_an_allocation_reserves_credits_and_a_refusal_names_the_holders() -> None:
    service = Service()
    await brand(service)
    [granted] = messages(await service.commands(allocate("claim-1", "200")), AllocationGranted)
    assert granted.mass_kg == Decimal(200) and [d.document_id for d in granted.documents] == [
        "doc-1"
    ]
    assert service.store.allocations[allocation_key("brand", "claim-1")].status == "granted"
    [refused] = messages(await service.commands(allocate("claim-2", "200")), AllocationRefused)
    assert refused.available_kg == Decimal(100) and refused.held_by_claim_ids == ["claim-1"]


async def test_the_holders_are_read_only_for_a_refusal_for_mass_and_name_this_batchs_claims() -> (
    None
):
    service = Service()
    await brand(service)  # 300 kg of credits
    await service.commands(allocate("claim-1", "100"))
    reads: list[list[str]] = []
    stored_holders = service.store.load_claim_holders

    async def counted(owners: Any, limit: int) -> Any:
        reads.append(sorted(owners))
        return await stored_holders(owners, limit)

    service.store.load_claim_holders = counted  # type: ignore[method-assign]
    messages(await service.commands(allocate("claim-2", "150")), AllocationGranted)
    assert reads == []
    out = await service.commands(
        allocate("claim-3", "20"), allocate("claim-4", "60"), allocate("claim-5", "31")
    )
    [granted] = messages(out, AllocationGranted)
    refused = messages(out, AllocationRefused)
    assert granted.claim_id == "claim-3" and reads == [["brand"]]
    assert [(r.claim_id, r.available_kg) for r in refused] == [
        ("claim-4", Decimal(30)),
        ("claim-5", Decimal(30)),
    ]
    assert all(r.held_by_claim_ids == ["claim-2", "claim-1", "claim-3"] for r in refused)
    assert [r.code for r in refused[0].reasons] == [
        LedgerReason.INSUFFICIENT_CREDITS,
        LedgerReason.MASS_ALREADY_CLAIMED,
    ]


async def test_a_release_frees_the_reservation_with_the_commands_reason() -> None:
    service = Service()
    await brand(service)
    await service.commands(allocate("claim-1", "200"))
    release = ReleaseAllocation.create(
        actor=CLAIMS,
        occurred_at=NOW,
        claim_id="claim-1",
        owner_organisation_id="brand",
        reason="rejected",
    )
    [released] = messages(await service.commands(release), AllocationReleased)
    assert (released.mass_kg, released.reason) == (Decimal(200), "rejected")
    assert (await service.store.load_accounts([group("brand")]))[0].reserved == 0


async def test_a_debit_spends_the_reservation_and_a_return_gives_back_the_unused_part() -> None:
    service = Service()
    await brand(service)
    await service.commands(allocate("claim-1", "200"))
    debit = DebitClaimMass.create(
        actor=CLAIMS,
        occurred_at=NOW,
        claim_id="claim-1",
        owner_organisation_id="brand",
        mass_kg=Decimal(200),
    )
    out = await service.commands(debit)
    [debited] = messages(out, ClaimMassDebited)
    [entry] = messages(out, LedgerEntryPosted)
    assert debited.entry_ids == [entry.entry.entry_id]
    assert (await service.store.load_accounts([group("brand")]))[0].balance == Decimal(100)
    back = ReturnClaimMass.create(
        actor=CLAIMS,
        occurred_at=NOW,
        claim_id="claim-1",
        owner_organisation_id="brand",
        mass_kg=Decimal(150),
        used_kg=Decimal(50),
        reason="withdrawn",
    )
    [returned] = messages(await service.commands(back), ClaimMassReturned)
    assert (returned.mass_kg, returned.used_kg, returned.reason) == (
        Decimal(150),
        Decimal(50),
        "withdrawn",
    )
    assert (await service.store.load_accounts([group("brand")]))[0].balance == Decimal(250)


async def test_closing_a_period_writes_its_statement_and_an_unknown_account_is_rejected() -> None:
    service = Service()
    await service.certified()
    await service.movements(receipt("100"))
    close = ClosePeriod.create(actor=SECRETARIAT, occurred_at=NOW, account_id=group())
    [closed] = messages(await service.commands(close), PeriodClosed)
    assert closed.statement.coc_input_kg == Decimal(100)
    assert list(service.store.statements) == [f"{group()}|{closed.statement.period_id}"]
    unknown = ClosePeriod.create(actor=SECRETARIAT, occurred_at=NOW, account_id="group:nobody")
    [rejected] = messages(await service.commands(unknown))
    assert isinstance(rejected, LedgerCommandRejected)
    assert rejected.reasons[0].code == LedgerReason.UNKNOWN_ACCOUNT


async def test_a_command_event_id_reused_with_other_content_is_rejected() -> None:
    service = Service()
    [incoming] = service.batch((assign(SECRETARIAT),))
    [rejected] = messages(service.handlers.command_conflict(incoming, NOW))
    assert rejected.reasons[0].code == LedgerReason.EVENT_ID_CONFLICT


# ---- certificates.events.v1 ---------------------------------------------------------------------


async def test_a_site_registration_is_projected() -> None:
    service = Service()
    site = Site(
        site_id="site-a",
        organisation_id=ORG,
        name="A",
        country="NO",
        activities=[Activity.SMELTING],
    )
    assert (
        await service.certificates(
            SiteRegistered.create(actor=CERTIFIER, occurred_at=NOW, site=site)
        )
        == []
    )
    assert service.store.sites == {"site-a": ORG}


async def test_a_lapsed_certificate_freezes_its_account_and_a_reinstated_one_thaws_it() -> None:
    service = Service()
    await service.certified()
    suspended = certificate(status=CertificateStatus.SUSPENDED, revision=2)
    [frozen] = messages(await service.certificates(changed(suspended, CertificateChange.SUSPENDED)))
    assert isinstance(frozen, AccountFrozen) and frozen.account_id == group()
    assert await service.certificates(changed(suspended, CertificateChange.SUSPENDED)) == []
    again = certificate(revision=3)
    [thawed] = messages(await service.certificates(changed(again, CertificateChange.REINSTATED)))
    assert isinstance(thawed, AccountThawed) and service.store.flags[group()] == (False, "cert-1")


# ---- the period clock ---------------------------------------------------------------------------


async def test_the_clock_closes_each_ended_period_once() -> None:
    service = Service()
    await service.certified()
    await service.movements(receipt("100"))
    later = await service.handlers.close_due_periods(tx(days=400))
    assert {m.statement.period_id for m in messages(later, PeriodClosed)} == {"2026-01-01"}
    assert await service.handlers.close_due_periods(tx(days=400)) == []
