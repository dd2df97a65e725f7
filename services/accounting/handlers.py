"""Use cases of the accounting service: one batch handler per consumed topic and the period clock.

Each handler loads what its batch needs in a few `$in` queries into a pure `Ledger`, applies the
messages in order, writes the changes back with bulk operations in the batch's transaction and
returns the events to publish after commit. Business refusals are answered, never raised.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from contracts.certificates import CertificateChanged, SiteRegistered
from contracts.common import Actor, Envelope, Reason, Role, derived_event_id, today_utc
from contracts.registry import Certificate
from contracts.ledger import (
    AccountFrozen,
    AccountThawed,
    AllocateForClaim,
    AllocationGranted,
    AllocationRefused,
    AlertKind,
    AllocationReleased,
    AssignRuleSet,
    CertificationBodyAlerted,
    ClaimMassDebited,
    ClaimMassReturned,
    ClosePeriod,
    CoCDocumentIssued,
    DebitClaimMass,
    DesignationRefused,
    LedgerCommandRejected,
    LedgerEntryPosted,
    LedgerReason,
    MovementRefused,
    PeriodClosed,
    ReleaseAllocation,
    ReturnClaimMass,
    RuleSetAssigned,
    site_account_id,
)
from contracts.movements import MovementCancelled
from libs.logs import get_logger
from libs.messaging import Incoming, Outgoing, Tx
from services.accounting.adapters import keys, store
from services.accounting.config import Settings
from services.accounting.domain import certification, claims_mass, scope
from services.accounting.domain import ledger as books
from services.accounting.domain.rules import Assignment, Level, rule_set, rule_set_on
from services.accounting.signing import Signer

log = get_logger("services.accounting")
CLAIM_COMMANDS = (AllocateForClaim, ReleaseAllocation, DebitClaimMass, ReturnClaimMass)
ACTOR = Actor(organisation_id="accounting", role=Role.SERVICE)


def _movement_day(message: Any) -> date:
    for name in ("received_on", "transformed_on", "shipped_on"):
        value = getattr(message, name, None)
        if value is not None:
            return value
    return today_utc(message.occurred_at)


def _emit(kind: type[Envelope], now: datetime, cause: Envelope | None, event_id: uuid.UUID, **body: Any) -> Outgoing:
    correlation = None if cause is not None else derived_event_id(event_id, "correlation")
    return Outgoing(kind.create(actor=ACTOR, occurred_at=now, cause=cause, event_id=event_id,
                                correlation_id=correlation, **body))


class Accounting:
    """The service's use cases, with the signing key they share."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._signer: Signer | None = (
            keys.signer_from_setting(settings.signing_key) if settings.signing_key else None
        )

    async def setup(self, db: Any) -> None:
        await store.ensure_indexes(db)
        if self._signer is None:
            self._signer = await keys.ensure_signer(db)

    @property
    def signer(self) -> Signer:
        if self._signer is None:
            raise RuntimeError("the signing key is loaded at start-up; call setup() first")
        return self._signer

    # ---- outcomes to messages ---------------------------------------------------------------

    def publish(self, outcomes: Sequence[books.Outcome | claims_mass.Outcome], cause: Envelope | None, now: datetime,
                release_reason: str = "released") -> list[Outgoing]:
        out: list[Outgoing] = []
        for outcome in outcomes:
            if isinstance(outcome, books.EntryPosted):
                entry = outcome.entry
                out.append(_emit(LedgerEntryPosted, now, cause, derived_event_id(entry.entry_id, "posted"), entry=entry))
            elif isinstance(outcome, books.DocumentDue):
                document = outcome.document
                out.append(_emit(CoCDocumentIssued, now, cause, derived_event_id(document.document_id, "issued"),
                                 account_id=outcome.account_id, document=document,
                                 signature=self.signer.sign(document), key_id=self.signer.key_id))
            elif isinstance(outcome, books.AlertDue):
                out.append(_emit(CertificationBodyAlerted, now, cause,
                                 derived_event_id(f"{outcome.account_id}|{outcome.kind}|{outcome.period_id}|"
                                                  f"{outcome.movement_id}", "alerted"),
                                 account_id=outcome.account_id, organisation_id=outcome.organisation_id,
                                 alert_kind=AlertKind(outcome.kind), period_id=outcome.period_id, mass_kg=outcome.mass,
                                 site_id=outcome.site_id, movement_id=outcome.movement_id,
                                 message=outcome.message[:2000]))
            elif isinstance(outcome, books.StatementWritten):
                s = outcome.statement
                out.append(_emit(PeriodClosed, now, cause, derived_event_id(f"{s.account_id}|{s.period_id}", "closed"),
                                 statement=s))
            else:
                assert cause is not None
                out.append(self._reply(outcome, cause, now, release_reason))
        return out

    @staticmethod
    def _reply(outcome: books.Outcome | claims_mass.Outcome, cause: Envelope, now: datetime,
               release_reason: str) -> Outgoing:
        if isinstance(outcome, books.DesignationDenied):
            return _emit(DesignationRefused, now, cause, derived_event_id(cause.event_id, DesignationRefused.TYPE),
                         account_id=outcome.account_id, site_id=outcome.site_id,
                         organisation_id=outcome.organisation_id, movement_id=outcome.movement_id,
                         shipment_reference=outcome.shipment_reference, requested_coc_kg=outcome.requested,
                         available_coc_kg=outcome.available, rule_set_id=outcome.rule_set_id,
                         rule_set_version=outcome.rule_set_version, reasons=outcome.reasons)
        if isinstance(outcome, books.MovementDenied):
            return _emit(MovementRefused, now, cause, derived_event_id(cause.event_id, MovementRefused.TYPE),
                         account_id=outcome.account_id, movement_id=outcome.movement_id, site_id=outcome.site_id,
                         reasons=outcome.reasons)
        if isinstance(outcome, books.Granted):
            a = outcome.allocation
            return _emit(AllocationGranted, now, cause, derived_event_id(cause.event_id, AllocationGranted.TYPE),
                         claim_id=a.claim_id, owner_organisation_id=a.owner, mass_kg=a.mass,
                         account_ids=sorted(a.reservations), documents=a.documents,
                         recycled_content_share=a.recycled_content_share,
                         carbon_footprint_kg_co2e_per_kg=a.carbon_footprint)
        if isinstance(outcome, books.AllocationDenied):
            return _emit(AllocationRefused, now, cause, derived_event_id(cause.event_id, AllocationRefused.TYPE),
                         claim_id=outcome.claim_id, owner_organisation_id=outcome.owner,
                         requested_kg=outcome.requested, available_kg=outcome.available, reasons=outcome.reasons,
                         held_by_claim_ids=list(outcome.held_by))
        if isinstance(outcome, books.Released):
            return _emit(AllocationReleased, now, cause, derived_event_id(cause.event_id, AllocationReleased.TYPE),
                         claim_id=outcome.claim_id, owner_organisation_id=outcome.owner, mass_kg=outcome.mass,
                         reason=release_reason)
        if isinstance(outcome, claims_mass.Debited):
            a = outcome.allocation
            return _emit(ClaimMassDebited, now, cause, derived_event_id(cause.event_id, ClaimMassDebited.TYPE),
                         claim_id=a.claim_id, owner_organisation_id=a.owner, mass_kg=a.mass,
                         account_ids=sorted(a.debit_entries),
                         entry_ids=[a.debit_entries[k] for k in sorted(a.debit_entries)])
        if isinstance(outcome, claims_mass.Returned):
            return _emit(ClaimMassReturned, now, cause, derived_event_id(cause.event_id, ClaimMassReturned.TYPE),
                         claim_id=outcome.claim_id, owner_organisation_id=outcome.owner, mass_kg=outcome.mass,
                         debited_kg=outcome.debited, used_kg=outcome.used, entry_ids=list(outcome.entry_ids),
                         reason=release_reason)
        assert isinstance(outcome, books.CommandDenied)
        return rejection(cause, outcome.reasons, now)

    # ---- material.movements.v1 --------------------------------------------------------------

    async def handle_movements(self, batch: Sequence[Incoming], tx: Tx) -> list[Outgoing]:
        if self._signer is None:  # normally loaded at start-up, before consuming
            self._signer = await keys.ensure_signer(tx.db)
        messages = [item.message for item in batch]
        assignments = await store.load_assignments(tx, {m.organisation_id for m in messages})
        movement_ids: set[str] = set()
        for m in messages:
            movement_ids.add(str(m.movement_id))
            if isinstance(m, MovementCancelled):
                movement_ids.add(str(m.cancelled_movement_id))
            elif m.corrects_movement_id is not None:
                movement_ids.add(str(m.corrects_movement_id))
        records = await store.load_movements(tx, movement_ids)
        account_ids = {e.account_id for r in records for e in r.effects}
        # Every movement's account follows the CoC certificate covering its site, so every batch needs the
        # certificates of its organisations (one `$in` query, as before for designations only).
        certificates = await store.load_certificates(tx, {m.organisation_id for m in messages})
        for m in messages:
            if not isinstance(m, MovementCancelled):
                rules = rule_set_on(assignments.get(m.organisation_id, []), _movement_day(m))
                account_ids.add(scope.place(rules, certificates, m.organisation_id, m.site_id,
                                            _movement_day(m)).account_id)
        ledger = books.Ledger(
            accounts=await store.load_accounts(tx, account_ids),
            movements=records,
            lots=await store.load_lots(tx, [r.lot_id for r in records if r.lot_id]),
            certificates=certificates,
            assignments=assignments,
        )
        out: list[Outgoing] = []
        for item in batch:  # the record's own JSON is kept for shadow accounting (no re-serialising)
            out.extend(self.publish(ledger.apply(item.message, tx.now, item.record.value), item.message, tx.now))
        await store.save(tx, ledger)
        return out

    # ---- ledger.commands.v1 -----------------------------------------------------------------

    async def handle_commands(self, batch: Sequence[Incoming], tx: Tx) -> list[Outgoing]:
        commands = [item.message for item in batch]
        for_claims = [c for c in commands if isinstance(c, CLAIM_COMMANDS)]
        owners = {c.owner_organisation_id for c in for_claims}
        claims = {c.claim_id for c in for_claims}
        closing = {c.account_id for c in commands if isinstance(c, ClosePeriod)}
        owner_accounts, lots = await store.load_owner(tx, owners) if owners else ([], [])
        allocations = await store.load_allocations(tx, claims) if claims else []
        held = {lot_id for a in allocations for lot_id in a.lot_takes} - {lot.lot_id for lot in lots}
        lots += await store.load_lots(tx, held) if held else []
        asking = {c.owner_organisation_id for c in for_claims if isinstance(c, AllocateForClaim)}
        if asking:  # to name the claims holding the mass when an allocation is refused
            allocations += [a for a in await store.load_claim_holders(tx, asking, claims_mass.HOLDERS_NAMED)
                            if a.claim_id not in claims]
        accounts = {a.account_id: a for a in owner_accounts}
        accounts.update({a.account_id: a for a in await store.load_accounts(tx, closing - set(accounts))})
        organisations = {a.organisation_id for a in accounts.values()}
        organisations |= {c.organisation_id for c in commands if isinstance(c, AssignRuleSet)}
        ledger = books.Ledger(
            accounts=accounts.values(), lots=lots, allocations=allocations,
            assignments=await store.load_assignments(tx, organisations),
        )
        today = today_utc(tx.now)
        out: list[Outgoing] = []
        for command in commands:
            if isinstance(command, AssignRuleSet):
                out.extend(await self._assign(command, ledger, tx))
            elif isinstance(command, CLAIM_COMMANDS):
                out.extend(self._for_claim(command, ledger, today, tx.now))
            elif isinstance(command, ClosePeriod):
                out.extend(self.publish(ledger.close_now(command.account_id, today, tx.now), command, tx.now))
        await store.save(tx, ledger)
        return out

    def _for_claim(self, command: Envelope, ledger: books.Ledger, today: date, now: datetime) -> list[Outgoing]:
        """Claims spend mass (`domain/claims_mass.py`): reserve, release, debit, return."""
        if isinstance(command, AllocateForClaim):
            outcomes = claims_mass.allocate(ledger, command.claim_id, command.owner_organisation_id,
                                            command.mass_kg, today)
            return self.publish(outcomes, command, now)
        if isinstance(command, ReleaseAllocation):
            outcomes = claims_mass.release(ledger, command.claim_id, command.owner_organisation_id, today)
            return self.publish(outcomes, command, now, release_reason=command.reason)
        if isinstance(command, DebitClaimMass):
            outcomes = claims_mass.debit(ledger, command.claim_id, command.owner_organisation_id, command.mass_kg,
                                         today)
            return self.publish(outcomes, command, now)
        assert isinstance(command, ReturnClaimMass)
        outcomes = claims_mass.return_unused(ledger, command.claim_id, command.owner_organisation_id,
                                             command.mass_kg, command.used_kg, today)
        return self.publish(outcomes, command, now, release_reason=command.reason)

    async def _assign(self, command: AssignRuleSet, ledger: books.Ledger, tx: Tx) -> list[Outgoing]:
        if command.actor.role is not Role.SECRETARIAT:
            return [rejection(command, [Reason(code=LedgerReason.NOT_AUTHORISED, field="actor.role",
                                               message="only the ASI secretariat assigns rule sets")], tx.now)]
        rules = rule_set(command.rule_set_id)
        if rules is None:
            return [rejection(command, [Reason(code=LedgerReason.UNKNOWN_RULE_SET, field="rule_set_id",
                                               message=f"no rule set {command.rule_set_id!r}")], tx.now)]
        assignment = Assignment(command.effective_from, rules.rule_set_id)
        await store.add_assignment(tx, command.organisation_id, assignment)
        ledger.assignments.setdefault(command.organisation_id, []).append(assignment)
        return [_emit(RuleSetAssigned, tx.now, command, derived_event_id(command.event_id, RuleSetAssigned.TYPE),
                      organisation_id=command.organisation_id, rule_set_id=rules.rule_set_id,
                      rule_set_version=rules.version, effective_from=command.effective_from)]

    # ---- certificates.events.v1 -------------------------------------------------------------

    async def handle_certificates(self, batch: Sequence[Incoming], tx: Tx) -> list[Outgoing]:
        changed: dict[str, CertificateChanged] = {}
        for item in batch:
            message = item.message
            if isinstance(message, SiteRegistered):
                await store.save_site(tx, message.site.site_id, message.site.organisation_id)
            elif isinstance(message, CertificateChanged) and await store.save_certificate(tx, message.certificate):
                changed[message.certificate.organisation_id] = message
        if not changed:
            return []
        certificates = await store.load_certificates(tx, changed)
        assignments = await store.load_assignments(tx, changed)
        today = today_utc(tx.now)
        states: dict[str, tuple[bool, certification.SiteCoverage, CertificateChanged]] = {}
        for organisation_id, cause in changed.items():
            rules = rule_set_on(assignments.get(organisation_id, []), today)
            mine = certification.coc_certificates(certificates, organisation_id)
            if rules.level is Level.SITE:
                for site_id in sorted({s for c in mine for s in c.scope.site_ids}):
                    covered = certification.site_coverage(mine, organisation_id, site_id, today)
                    states[site_account_id(site_id)] = (covered.coverage is certification.Coverage.LAPSED, covered, cause)
            else:  # one pool per certification scope: its chain's newest certificate decides
                chains: dict[str, list[Certificate]] = {}
                for certificate in mine:
                    chains.setdefault(scope.scope_id(certificate, mine), []).append(certificate)
                for scope_id, chain in sorted(chains.items()):
                    covered = certification.group_coverage(chain, organisation_id, today)
                    states[rules.account_id(organisation_id, "", scope_id)] = (
                        covered.coverage is certification.Coverage.LAPSED, covered, cause)
        flags = await store.load_flags(tx, states)
        out: list[Outgoing] = []
        updates: dict[str, tuple[bool, str]] = {}
        for account_id, (frozen, covered, cause) in sorted(states.items()):
            if frozen == flags.get(account_id, False) or covered.certificate is None:
                continue
            certificate = covered.certificate
            kind = AccountFrozen if frozen else AccountThawed
            reason = (f"certificate {certificate.certificate_number} is {certificate.status.value}"
                      + (f": {certificate.status_reason}" if certificate.status_reason else ""))
            out.append(_emit(kind, tx.now, cause, derived_event_id(cause.event_id, kind.TYPE, account_id),
                             account_id=account_id, certificate_id=certificate.certificate_id, reason=reason[:2000]))
            updates[account_id] = (frozen, certificate.certificate_id)
        await store.save_flags(tx, updates)
        return out

    # ---- the period clock -------------------------------------------------------------------

    async def close_due_periods(self, tx: Tx) -> list[Outgoing]:
        """Close every period whose last day has passed, once, catching up after downtime."""
        today = today_utc(tx.now)
        due = await store.accounts_due(tx, today, self.settings.period_close_batch)
        if not due:
            return []
        ledger = books.Ledger(
            accounts=due, assignments=await store.load_assignments(tx, {a.organisation_id for a in due}))
        outcomes = ledger.close_due(today, tx.now)
        await store.save(tx, ledger)
        return self.publish(outcomes, None, tx.now)

    # ---- the same event id with other content -----------------------------------------------

    @staticmethod
    def on_command_conflict(item: Incoming, now: datetime) -> list[Outgoing]:
        return [rejection(item.message, [Reason(code=LedgerReason.EVENT_ID_CONFLICT,
                                                message="this event id was already used with different content")], now)]

    @staticmethod
    def on_movement_conflict(item: Incoming, now: datetime) -> list[Outgoing]:
        m = item.message
        return [_emit(MovementRefused, now, m, derived_event_id(m.event_id, MovementRefused.TYPE, "conflict"),
                      account_id=site_account_id(m.site_id), movement_id=m.movement_id, site_id=m.site_id,
                      reasons=[Reason(code=LedgerReason.EVENT_ID_CONFLICT,
                                      message="this event id was already used with different content")])]


def rejection(cause: Envelope, reasons: list[Reason], now: datetime) -> Outgoing:
    return _emit(LedgerCommandRejected, now, cause, derived_event_id(cause.event_id, LedgerCommandRejected.TYPE),
                 rejected_event_id=cause.event_id, rejected_event_type=getattr(cause, "type", "unknown"),
                 reasons=reasons)
