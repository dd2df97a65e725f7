"""Accounting's use cases: one function per incoming message type, chosen by a dispatch table.

The runtime hands each consumed topic's batch to a batch handler (`movements`, `commands`,
`certificates`), which loads the books the batch needs through the store port in a few queries,
calls the use case of each message in order, writes the changes back in the batch's transaction and
returns what the messages port built, to publish after commit. Nothing here does I/O of its own.
Business refusals are answered, never raised."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, cast

from pydantic import TypeAdapter

from contracts.certificates import CertificateChanged, SiteRegistered
from contracts.common import Envelope, Reason, Role, today_utc
from contracts.ledger import (
    AllocateForClaim,
    AssignRuleSet,
    ClosePeriod,
    DebitClaimMass,
    LedgerReason,
    ReleaseAllocation,
    RequestShadowReport,
    ReturnClaimMass,
)
from contracts.movements import (
    MaterialMovement,
    MaterialReceivedRecorded,
    MaterialShippedRecorded,
    MaterialTransformedRecorded,
    MovementCancelled,
)
from contracts.registry import Certificate
from libs.messaging import Incoming, Outgoing, Tx, paced
from services.accounting.domain import claims_mass, scope, shadow
from services.accounting.domain.freezing import AccountState, account_states
from services.accounting.domain.ledger import Account, Allocation, Ledger, Lot
from services.accounting.domain.rules import Assignment, rule_set, rule_set_on
from services.accounting.domain.state import Movement, allocation_key, movement_day
from services.accounting.ports import AccountingStore, Messages, StoreFor
from services.accounting.signing import Signer

MOVEMENT: TypeAdapter[Any] = TypeAdapter(MaterialMovement)
"""A movement as kept on its record (the consumed JSON), for shadow reports."""

CLAIM_COMMANDS = (AllocateForClaim, ReleaseAllocation, DebitClaimMass, ReturnClaimMass)


@dataclass
class Batch:
    """What one transaction's use cases share: its store, the books, what they publish."""

    tx: Tx
    store: AccountingStore
    books: Ledger = field(default_factory=Ledger)
    out: list[Outgoing] = field(default_factory=list)
    changed: dict[str, CertificateChanged] = field(default_factory=dict)
    """Certificate changes that changed the projection, by organisation (the last one wins)."""
    holders_read: set[str] = field(default_factory=set)
    """Owners whose largest claim holders this batch has read (`allocate_for_claim`)."""

    @property
    def now(self) -> datetime:
        return self.tx.now

    @property
    def today(self) -> date:
        return today_utc(self.tx.now)


UseCase = Callable[["AccountingHandlers", Incoming, Batch], Awaitable[None]]


class AccountingHandlers:
    """The batch handlers the runtime calls, with the ports they use."""

    def __init__(self, store: StoreFor, messages: Messages, period_close_batch: int = 200) -> None:
        self.store = store
        self.messages = messages
        self.period_close_batch = period_close_batch

    @property
    def signer(self) -> Signer:
        """The key CoC Documents are signed with (loaded at start-up)."""
        if self.messages.signer is None:
            raise RuntimeError("the signing key is loaded at start-up; set up the service first")
        return self.messages.signer

    async def _dispatch(self, batch: Sequence[Incoming], work: Batch) -> None:
        for item in batch:
            use_case = DISPATCH.get(type(item.message))
            if use_case is not None:
                await use_case(self, item, work)

    # ---- material.movements.v1 ------------------------------------------------------------------

    async def movements(self, batch: Sequence[Incoming], tx: Tx) -> list[Outgoing]:
        work = Batch(tx, self.store(tx))
        if self.messages.signer is None:  # normally loaded at start-up, before consuming
            self.messages.signer = await work.store.signing_key()
        work.books = await self._books_for_movements([item.message for item in batch], work.store)
        # Booking is pure computation: the runtime writes the batch's inbox records meanwhile
        # (`inbox_while_computing` in app.py), so the database works while the ledger does.
        async with work.tx.computing():
            async for item in paced(batch):
                await self.movement_recorded(item, work)
        await work.store.save(work.books)
        return work.out

    async def _books_for_movements(self, messages: list[Any], store: AccountingStore) -> Ledger:
        """What the movements touch: their records and those they cancel or correct, the accounts
        of those and of each movement's site on its day, the lots they brought."""
        organisations = {m.organisation_id for m in messages}
        assignments = await store.load_assignments(organisations)
        records = await store.load_movements(_movement_ids(messages))
        account_ids = {e.account_id for r in records for e in r.effects}
        # Every movement's account follows the CoC certificate covering its site on its day.
        certificates = await store.load_certificates(organisations)
        account_ids |= _site_day_accounts(messages, assignments, certificates)
        return Ledger(
            accounts=await store.load_accounts(account_ids),
            movements=records,
            lots=await store.load_lots([r.lot_id for r in records if r.lot_id]),
            certificates=certificates,
            assignments=assignments,
        )

    async def movement_recorded(self, item: Incoming, work: Batch) -> None:
        """Book a movement: idempotent per movement id, order-tolerant for corrections. The record
        keeps the consumed JSON (what shadow accounting replays), not a re-serialisation."""
        movement = cast(Movement, item.message)  # DISPATCH picked the use case by type
        outcomes = work.books.apply(movement, work.now, item.record.value)
        work.out += self.messages.publish(outcomes, movement, work.now)

    def movement_conflict(self, item: Incoming, now: datetime) -> list[Outgoing]:
        """The same movement event id came back with other content: refuse it."""
        return [self.messages.movement_conflict(item.message, now)]

    # ---- ledger.commands.v1 ---------------------------------------------------------------------

    async def commands(self, batch: Sequence[Incoming], tx: Tx) -> list[Outgoing]:
        work = Batch(tx, self.store(tx))
        work.books = await self._books_for_commands([item.message for item in batch], work.store)
        await self._dispatch(batch, work)
        await work.store.save(work.books)
        return work.out

    async def _books_for_commands(self, commands: list[Any], store: AccountingStore) -> Ledger:
        """The claim owners' accounts and lots, the claims' allocations (with the lots they hold),
        the accounts to close. The largest holders of an owner's mass are read only when an
        allocation is about to be refused for mass (`allocate_for_claim`)."""
        owner_accounts, lots, allocations = await self._claims_state(commands, store)
        accounts = {a.account_id: a for a in owner_accounts}
        closing = {c.account_id for c in commands if isinstance(c, ClosePeriod)}
        more = await store.load_accounts(closing - set(accounts))
        accounts.update({a.account_id: a for a in more})
        organisations = {a.organisation_id for a in accounts.values()}
        organisations |= {c.organisation_id for c in commands if isinstance(c, AssignRuleSet)}
        return Ledger(
            accounts=accounts.values(),
            lots=lots,
            allocations=allocations,
            assignments=await store.load_assignments(organisations),
        )

    @staticmethod
    async def _claims_state(
        commands: list[Any], store: AccountingStore
    ) -> tuple[list[Account], list[Lot], list[Allocation]]:
        for_claims = [c for c in commands if isinstance(c, CLAIM_COMMANDS)]
        if not for_claims:
            return [], [], []
        owners = {c.owner_organisation_id for c in for_claims}
        claims = {allocation_key(c.owner_organisation_id, c.claim_id) for c in for_claims}
        accounts, lots = await store.load_owner(owners)
        allocations = await store.load_allocations(claims)
        held = {lot_id for a in allocations for lot_id in a.lot_takes} - {
            lot.lot_id for lot in lots
        }
        lots += await store.load_lots(held) if held else []
        return accounts, lots, allocations

    def _secretariat_sent(self, command: Envelope, what: str, work: Batch) -> bool:
        """Whether the ASI secretariat sent `command`; if not, it is rejected (`not_authorised`)."""
        if command.actor.role is Role.SECRETARIAT:
            return True
        why = Reason(
            code=LedgerReason.NOT_AUTHORISED,
            field="actor.role",
            message=f"only the ASI secretariat {what}",
        )
        work.out.append(self.messages.rejection(command, [why], work.now))
        return False

    async def assign_rule_set(self, item: Incoming, work: Batch) -> None:
        """The ASI secretariat assigns a rule set from a day on (`domain/rules.py`'s catalogue)."""
        command = cast(AssignRuleSet, item.message)  # DISPATCH picked the use case by type
        if not self._secretariat_sent(command, "assigns rule sets", work):
            return
        rules = rule_set(command.rule_set_id)
        if rules is None:
            why = Reason(
                code=LedgerReason.UNKNOWN_RULE_SET,
                field="rule_set_id",
                message=f"no rule set {command.rule_set_id!r}",
            )
            work.out.append(self.messages.rejection(command, [why], work.now))
            return
        assignment = Assignment(command.effective_from, rules.rule_set_id)
        await work.store.add_assignment(command.organisation_id, assignment)
        work.books.assignments.setdefault(command.organisation_id, []).append(assignment)
        work.out.append(
            self.messages.rule_set_assigned(command, rules, command.effective_from, work.now)
        )

    async def request_shadow_report(self, item: Incoming, work: Batch) -> None:
        """The secretariat asks what every rule set would have allowed for an account, per period
        (`domain/shadow.py`): the organisation's movements are replayed on books of their own, in
        memory; nothing is booked, nothing issued."""
        command = cast(RequestShadowReport, item.message)  # DISPATCH picked the use case by type
        if not self._secretariat_sent(command, "asks for shadow reports", work):
            return
        accounts = await work.store.load_accounts([command.account_id])
        if not accounts:
            why = Reason(
                code=LedgerReason.UNKNOWN_ACCOUNT,
                field="account_id",
                message=f"no account {command.account_id}",
            )
            work.out.append(self.messages.rejection(command, [why], work.now))
            return
        organisation_id = accounts[0].organisation_id
        records = await work.store.load_organisation_movements(organisation_id)
        parsed = [(r, MOVEMENT.validate_json(r.movement)) for r in records if r.movement]
        assignments = await work.store.load_assignments([organisation_id])
        until = command.until or work.today
        assigned = rule_set_on(assignments.get(organisation_id, []), until).rule_set_id
        certificates = await work.store.load_certificates([organisation_id])
        result = shadow.report(
            command.account_id, organisation_id, parsed, certificates, assigned, until, work.now
        )
        work.out.append(self.messages.shadow_report(command, result, work.now))

    async def allocate_for_claim(self, item: Incoming, work: Batch) -> None:
        """Reserve free credits for a pending claim (`domain/claims_mass.py`)."""
        c = cast(AllocateForClaim, item.message)  # DISPATCH picked the use case by type
        owner = c.owner_organisation_id
        if owner not in work.holders_read and claims_mass.refused_for_mass(
            work.books, c.claim_id, owner, c.mass_kg
        ):  # the refusal names the claims holding the owner's mass: read them now, once
            work.holders_read.add(owner)
            work.books.know_allocations(
                await work.store.load_claim_holders([owner], claims_mass.HOLDERS_NAMED)
            )
        outcomes = claims_mass.allocate(
            work.books, c.claim_id, c.owner_organisation_id, c.mass_kg, work.today
        )
        work.out += self.messages.publish(outcomes, c, work.now)

    async def release_allocation(self, item: Incoming, work: Batch) -> None:
        c = cast(ReleaseAllocation, item.message)  # DISPATCH picked the use case by type
        outcomes = claims_mass.release(work.books, c.claim_id, c.owner_organisation_id, work.today)
        work.out += self.messages.publish(outcomes, c, work.now, release_reason=c.reason)

    async def debit_claim_mass(self, item: Incoming, work: Batch) -> None:
        c = cast(DebitClaimMass, item.message)  # DISPATCH picked the use case by type
        outcomes = claims_mass.debit(
            work.books, c.claim_id, c.owner_organisation_id, c.mass_kg, work.today
        )
        work.out += self.messages.publish(outcomes, c, work.now)

    async def return_claim_mass(self, item: Incoming, work: Batch) -> None:
        c = cast(ReturnClaimMass, item.message)  # DISPATCH picked the use case by type
        outcomes = claims_mass.return_unused(
            work.books, c.claim_id, c.owner_organisation_id, c.mass_kg, c.used_kg, work.today
        )
        work.out += self.messages.publish(outcomes, c, work.now, release_reason=c.reason)

    async def close_period(self, item: Incoming, work: Batch) -> None:
        c = cast(ClosePeriod, item.message)  # DISPATCH picked the use case by type
        outcomes = work.books.close_now(c.account_id, work.today, work.now)
        work.out += self.messages.publish(outcomes, c, work.now)

    def command_conflict(self, item: Incoming, now: datetime) -> list[Outgoing]:
        """The same command event id came back with other content: reject it."""
        return [self.messages.command_conflict(item.message, now)]

    # ---- certificates.events.v1 -----------------------------------------------------------------

    async def certificates(self, batch: Sequence[Incoming], tx: Tx) -> list[Outgoing]:
        work = Batch(tx, self.store(tx))
        await self._dispatch(batch, work)
        if work.changed:
            await self._freeze_or_thaw(work)
        return work.out

    async def site_registered(self, item: Incoming, work: Batch) -> None:
        site = cast(SiteRegistered, item.message).site
        await work.store.save_site(site.site_id, site.organisation_id)

    async def certificate_changed(self, item: Incoming, work: Batch) -> None:
        message = cast(CertificateChanged, item.message)  # DISPATCH picked the use case by type
        if await work.store.save_certificate(message.certificate):
            work.changed[message.certificate.organisation_id] = message

    async def _freeze_or_thaw(self, work: Batch) -> None:
        """Announce each account whose frozen state the changed certificates turned."""
        certificates = await work.store.load_certificates(work.changed)
        assignments = await work.store.load_assignments(work.changed)
        states: dict[str, tuple[AccountState, CertificateChanged]] = {}
        for organisation_id, cause in work.changed.items():
            rules = rule_set_on(assignments.get(organisation_id, []), work.today)
            for state in account_states(rules, certificates, organisation_id, work.today):
                states[state.account_id] = (state, cause)
        flags = await work.store.load_flags(states)
        updates: dict[str, tuple[bool, str]] = {}
        for account_id, (state, cause) in sorted(states.items()):
            if state.frozen == flags.get(account_id, False) or state.certificate is None:
                continue
            work.out.append(
                self.messages.account_flagged(
                    cause, account_id, state.frozen, state.certificate, work.now
                )
            )
            updates[account_id] = (state.frozen, state.certificate.certificate_id)
        await work.store.save_flags(updates)

    # ---- the period clock -----------------------------------------------------------------------

    async def close_due_periods(self, tx: Tx) -> list[Outgoing]:
        """Close every period whose last day has passed, once, catching up after downtime."""
        store = self.store(tx)
        today = today_utc(tx.now)
        due = await store.accounts_due(today, self.period_close_batch)
        if not due:
            return []
        books = Ledger(
            accounts=due,
            assignments=await store.load_assignments({a.organisation_id for a in due}),
        )
        outcomes = books.close_due(today, tx.now)
        await store.save(books)
        return self.messages.publish(outcomes, None, tx.now)


def _movement_ids(messages: list[Any]) -> set[str]:
    """The movements' ids and those of the movements they cancel or correct."""
    movement_ids: set[str] = set()
    for m in messages:
        movement_ids.add(str(m.movement_id))
        if isinstance(m, MovementCancelled):
            movement_ids.add(str(m.cancelled_movement_id))
        elif m.corrects_movement_id is not None:
            movement_ids.add(str(m.corrects_movement_id))
    return movement_ids


def _site_day_accounts(
    messages: list[Any], assignments: dict[str, list[Assignment]], certificates: list[Certificate]
) -> set[str]:
    """The account of each movement's site on its day (cancellations have none): the one the
    CoC certificate covering the site that day places it in."""
    account_ids: set[str] = set()
    placed: set[tuple[str, str, date]] = set()  # a batch holds many movements of a site-day
    for m in messages:
        if not isinstance(m, MovementCancelled):
            day = movement_day(m)
            if (m.organisation_id, m.site_id, day) in placed:
                continue
            placed.add((m.organisation_id, m.site_id, day))
            rules = rule_set_on(assignments.get(m.organisation_id, []), day)
            account_ids.add(
                scope.place(rules, certificates, m.organisation_id, m.site_id, day).account_id
            )
    return account_ids


DISPATCH: dict[type[Envelope], UseCase] = {
    MaterialReceivedRecorded: AccountingHandlers.movement_recorded,
    MaterialTransformedRecorded: AccountingHandlers.movement_recorded,
    MaterialShippedRecorded: AccountingHandlers.movement_recorded,
    MovementCancelled: AccountingHandlers.movement_recorded,
    AssignRuleSet: AccountingHandlers.assign_rule_set,
    AllocateForClaim: AccountingHandlers.allocate_for_claim,
    ReleaseAllocation: AccountingHandlers.release_allocation,
    DebitClaimMass: AccountingHandlers.debit_claim_mass,
    ReturnClaimMass: AccountingHandlers.return_claim_mass,
    ClosePeriod: AccountingHandlers.close_period,
    RequestShadowReport: AccountingHandlers.request_shadow_report,
    SiteRegistered: AccountingHandlers.site_registered,
    CertificateChanged: AccountingHandlers.certificate_changed,
}
"""Incoming message type -> use case. Types not listed (other certificate events) are ignored."""
