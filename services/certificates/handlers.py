"""The certificates service's use cases: one function per incoming message type, chosen by a
dispatch table.

The runtime hands each topic's batch to `CertificatesHandlers.handle`, which loads the state the
batch needs in one go (`Books`), calls each message's use case in message order, and saves once.
Nothing here does I/O of its own: the store and key ports read and write, the messages port builds
what is published after commit. The ticks (`clock`, `membership`, `publish_keys`) work the same
way on what fell due."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from contracts.audits import (
    AuditOutcomeSubmitted,
    CorrectiveActionPlanApproved,
    CorrectiveActionPlanSubmitted,
    NonconformityClosed,
)
from contracts.certificates import CertificateReason as R
from contracts.certificates import (
    ChangeCertificateScope,
    ExtendCertificationDeadline,
    RecordMembershipForfeiture,
    RegisterCertificationBody,
    RegisterMember,
    RegisterSite,
    ReinstateCertificate,
    RotateSigningKey,
    SuspendCertificate,
    WithdrawCertificate,
)
from contracts.common import Envelope, Reason, Role, Standard, today_utc
from libs.logs import message_context
from libs.messaging import Incoming, Outgoing, Tx
from services.certificates.domain import membership, registry
from services.certificates.domain.audits import submit_audit
from services.certificates.domain.books import Books, counter_key
from services.certificates.domain.clock import due_changes
from services.certificates.domain.commands import LifecycleCommand, apply_command
from services.certificates.domain.findings import close_nonconformity, corrective_action_plan
from services.certificates.domain.model import Change, Outcome
from services.certificates.domain.rules import Rules
from services.certificates.ports import (
    CertificatesStore,
    KeysFor,
    Messages,
    SigningKeys,
    StoreFor,
)

RegisterCommand = RegisterMember | RegisterSite | RegisterCertificationBody
_AboutFindings = NonconformityClosed | CorrectiveActionPlanSubmitted | CorrectiveActionPlanApproved


def _ms(moment: datetime) -> datetime:
    """The database keeps milliseconds: certificates carry no more, so stored and published
    agree."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


@dataclass
class Batch:
    """What one transaction's use cases share: its ports, its books, what they publish and the
    signed form of every certificate change (in the order of `books.changes`)."""

    tx: Tx
    store: CertificatesStore
    keys: SigningKeys
    books: Books = field(default_factory=Books)
    out: list[Outgoing] = field(default_factory=list)
    signed: list[str] = field(default_factory=list)

    @property
    def now(self) -> datetime:
        """The batch's time as certificates record it (milliseconds)."""
        return _ms(self.tx.now)


UseCase = Callable[["CertificatesHandlers", Any, Batch], Awaitable[None]]


def needs(messages: Sequence[Envelope], rules: Rules, year: int) -> dict[str, list[str]]:
    """The ids of what deciding these messages reads, for one `load_books`."""
    audits, about, lifecycle = _by_kind(messages)
    named = [a.certificate_id for a in audits if a.certificate_id]
    return {
        **_audit_needs(audits, rules, year),
        "bodies": [m.certification_body_id for m in [*audits, *about]],
        "certificates": named + [m.certificate_id for m in [*about, *lifecycle]],
    }


def _by_kind(
    messages: Sequence[Envelope],
) -> tuple[list[AuditOutcomeSubmitted], list[_AboutFindings], list[LifecycleCommand]]:
    audits = [m for m in messages if isinstance(m, AuditOutcomeSubmitted)]
    about = [m for m in messages if isinstance(m, _AboutFindings)]
    lifecycle = [m for m in messages if isinstance(m, LifecycleCommand)]
    return audits, about, lifecycle


def _audit_needs(
    audits: list[AuditOutcomeSubmitted], rules: Rules, year: int
) -> dict[str, list[str]]:
    """An audit reads its member, sites and earlier audit; it may number a certificate."""
    if not audits:
        return {}
    return {
        "members": [a.organisation_id for a in audits],
        "sites": [s for a in audits for s in a.scope.site_ids],
        "audits": [a.audit_id for a in audits],
        "counters": [counter_key(rules, s, year) for s in Standard],
    }


class CertificatesHandlers:
    """The batch handlers and ticks the runtime calls, with the rules and the ports they use."""

    def __init__(
        self,
        rules: Rules,
        store: StoreFor,
        keys: KeysFor,
        messages: Messages,
        clock_batch: int = 200,
    ) -> None:
        self.rules = rules
        self.store = store
        self.keys = keys
        self.messages = messages
        self.clock_batch = clock_batch

    def _batch(self, tx: Tx) -> Batch:
        return Batch(tx, self.store(tx), self.keys(tx))

    async def handle(self, batch: Sequence[Incoming], tx: Tx) -> list[Outgoing]:
        """Every consumed topic: the books loaded once, each message's use case in order, saved
        once."""
        work = self._batch(tx)
        messages = [item.message for item in batch]
        wanted = needs(messages, self.rules, today_utc(tx.now).year)
        work.books = await work.store.load_books(**wanted)
        for message in messages:
            use_case = DISPATCH.get(type(message))
            if use_case is None:
                continue
            context = {
                "event_id": str(message.event_id),
                "correlation_id": str(message.correlation_id),
            }
            with message_context(**context):
                await use_case(self, message, work)
        await work.store.save_books(work.books, work.signed)
        return work.out

    def on_conflict(self, item: Incoming, now: datetime) -> list[Outgoing]:
        """The same event id came back with other content: refuse it, the first version stands."""
        message = item.message
        org = getattr(message, "organisation_id", None) or message.actor.organisation_id
        reason = Reason(
            code=R.EVENT_ID_CONFLICT,
            message="this event id was already used with different content",
        )
        return [self.messages.rejected(message, org, [reason], now)]

    # ---- answering -----------------------------------------------------------------------------

    async def _publish(
        self, work: Batch, changes: Sequence[Change], cause: Envelope | None
    ) -> None:
        """Sign each new revision and publish it."""
        if not changes:
            return
        signer = await work.keys.signer()
        for change in changes:
            jws = signer.sign_certificate(change.certificate)
            work.out.append(self.messages.changed(change, jws, cause))
            work.signed.append(jws)

    async def _answer(self, work: Batch, message: Envelope, outcome: Outcome) -> None:
        if outcome.refused:
            org = outcome.organisation_id or message.actor.organisation_id
            work.out.append(self.messages.rejected(message, org, outcome.refused, work.tx.now))
            return
        await self._publish(work, outcome.changes, message)

    def _refuse(self, work: Batch, message: Envelope, org: str, reasons: list[Reason]) -> None:
        work.out.append(self.messages.rejected(message, org, reasons, work.tx.now))

    def _not_secretariat(self, work: Batch, message: Envelope, org: str, what: str) -> bool:
        """Refuse a command not sent by the secretariat (True: refused)."""
        if message.actor.role is Role.SECRETARIAT:
            return False
        reason = Reason(
            code=R.NOT_SECRETARIAT, message=f"only the ASI secretariat {what}", field="actor.role"
        )
        self._refuse(work, message, org, [reason])
        return True

    # ---- audits topic --------------------------------------------------------------------------

    async def audit_submitted(self, audit: AuditOutcomeSubmitted, work: Batch) -> None:
        outcome = submit_audit(work.books, audit, work.now, self.rules)
        await self._answer(work, audit, outcome)

    async def nonconformity_closed(self, message: NonconformityClosed, work: Batch) -> None:
        outcome = close_nonconformity(work.books, message, work.now, self.rules)
        await self._answer(work, message, outcome)

    async def corrective_action_plan(
        self, message: CorrectiveActionPlanSubmitted | CorrectiveActionPlanApproved, work: Batch
    ) -> None:
        outcome = corrective_action_plan(work.books, message, work.now, self.rules)
        await self._answer(work, message, outcome)

    # ---- commands topic ------------------------------------------------------------------------

    async def register(self, command: RegisterCommand, work: Batch) -> None:
        """A member, site or certification body registered (or re-registered) by the secretariat."""
        store = work.store
        if isinstance(command, RegisterMember):
            org = command.member.organisation_id
            if self._not_secretariat(work, command, org, "registers"):
                return
            outcome = registry.register_member(command.member, await store.member(org))
        elif isinstance(command, RegisterSite):
            site = command.site
            org = site.organisation_id
            if self._not_secretariat(work, command, org, "registers"):
                return
            owner = await store.member(org)
            outcome = registry.register_site(site, owner, await store.site(site.site_id))
        else:
            body = command.certification_body
            if self._not_secretariat(work, command, command.actor.organisation_id, "registers"):
                return
            org = body.certification_body_id
            current = await store.certification_body(org)
            outcome = registry.register_certification_body(body, current)
        if isinstance(outcome, registry.Refused):
            self._refuse(work, command, org, outcome.reasons)
            return
        if isinstance(outcome, registry.Unchanged):
            return
        await store.save_record(outcome.record)
        if isinstance(command, RegisterMember):
            deadline = membership.certification_deadline(command.member, self.rules)
            await store.set_membership_check(org, deadline)
        work.out.append(self.messages.registered(command, outcome.record, work.tx.now))

    async def lifecycle_command(self, command: LifecycleCommand, work: Batch) -> None:
        """Suspend, reinstate, withdraw or change the scope of a certificate."""
        if isinstance(command, ChangeCertificateScope):
            # Sites may have been registered earlier in this batch: read them now.
            fresh = await work.store.load_books(sites=command.scope.site_ids)
            work.books.sites |= fresh.sites
        await self._answer(work, command, apply_command(work.books, command, work.now))

    async def rotate_signing_key(self, command: RotateSigningKey, work: Batch) -> None:
        """A new signing key from now on; the signing-keys tick publishes both keys' new states."""
        org = command.actor.organisation_id
        if self._not_secretariat(work, command, org, "rotates the signing key"):
            return
        if work.keys.from_settings:
            reason = Reason(
                code=R.SIGNING_KEY_FROM_SETTINGS,
                message="the signing key is set in CERTIFICATES_SIGNING_KEY_*: rotate it there "
                "(the service publishes the change when it restarts)",
                field="type",
            )
            self._refuse(work, command, org, [reason])
            return
        await work.keys.rotate(work.now)

    async def extend_deadline(self, command: ExtendCertificationDeadline, work: Batch) -> None:
        """The secretariat gives a must-certify member until a later day."""
        org = command.organisation_id
        if self._not_secretariat(work, command, org, "decides on membership"):
            return
        member = await work.store.member(org)
        standing = await work.store.membership_standing(org)
        reasons = membership.extension_reasons(member, org, standing, command.until, self.rules)
        if reasons:
            self._refuse(work, command, org, reasons)
            return
        await work.store.extend_membership_check(org, command.until)
        work.out.append(self.messages.deadline_extended(command, work.tx.now))

    async def record_forfeiture(self, command: RecordMembershipForfeiture, work: Batch) -> None:
        """The secretariat records that a member at risk forfeited its membership."""
        org = command.organisation_id
        if self._not_secretariat(work, command, org, "decides on membership"):
            return
        member = await work.store.member(org)
        standing = await work.store.membership_standing(org)
        reasons = membership.forfeiture_reasons(member, org, standing, self.rules)
        if reasons:
            self._refuse(work, command, org, reasons)
            return
        today = today_utc(work.tx.now)
        await work.store.forfeit_membership(org, today)
        work.out.append(self.messages.forfeited(command, today, work.tx.now))

    # ---- ticks ---------------------------------------------------------------------------------

    async def clock(self, tx: Tx) -> list[Outgoing]:
        """What fell due on certificates, by state: a tick after downtime catches up, and a
        certificate already handled is not found again."""
        work = self._batch(tx)
        work.books = await work.store.due_certificates(today_utc(tx.now), self.clock_batch)
        for certificate in list(work.books.certificates.values()):
            work.books.record(due_changes(certificate, work.now, self.rules))
        await self._publish(work, work.books.changes, None)
        await work.store.save_books(work.books, work.signed)
        return work.out

    async def membership(self, tx: Tx) -> list[Outgoing]:
        """Flag, once, members that must certify and have no current PS certificate at their
        deadline (or the later day it was extended to)."""
        store = self.store(tx)
        today = today_utc(tx.now)
        due = await store.due_membership_checks(today, self.clock_batch)
        if not due:
            return []
        members = await store.members(list(due))
        standard = Standard.PERFORMANCE_STANDARD
        certificates = await store.current_certificates(list(due), standard)
        flagged: dict[str, bool] = {}
        out: list[Outgoing] = []
        for org, deadline in due.items():
            member = members.get(org)
            overdue = member is not None and membership.certification_overdue(
                member, certificates, today, self.rules
            )
            flagged[org] = overdue
            if member is not None and overdue:
                out.append(self.messages.certification_overdue(member, deadline))
        await store.finish_membership_checks(flagged)
        return out

    async def publish_keys(self, tx: Tx) -> list[Outgoing]:
        """Publish every key whose state the topic does not have yet: the current one at start (or
        when the settings changed it), both keys at a rotation. Idempotent by state."""
        keys = self.keys(tx)
        await keys.enlist(_ms(tx.now))
        entries = await keys.unpublished()
        out = [self.messages.key_published(key) for key in entries]
        await keys.mark_published(entries)
        return out


DISPATCH: dict[type[Envelope], UseCase] = {
    AuditOutcomeSubmitted: CertificatesHandlers.audit_submitted,
    NonconformityClosed: CertificatesHandlers.nonconformity_closed,
    CorrectiveActionPlanSubmitted: CertificatesHandlers.corrective_action_plan,
    CorrectiveActionPlanApproved: CertificatesHandlers.corrective_action_plan,
    RegisterMember: CertificatesHandlers.register,
    RegisterSite: CertificatesHandlers.register,
    RegisterCertificationBody: CertificatesHandlers.register,
    SuspendCertificate: CertificatesHandlers.lifecycle_command,
    ReinstateCertificate: CertificatesHandlers.lifecycle_command,
    WithdrawCertificate: CertificatesHandlers.lifecycle_command,
    ChangeCertificateScope: CertificatesHandlers.lifecycle_command,
    RotateSigningKey: CertificatesHandlers.rotate_signing_key,
    ExtendCertificationDeadline: CertificatesHandlers.extend_deadline,
    RecordMembershipForfeiture: CertificatesHandlers.record_forfeiture,
}
"""Incoming message type -> use case, applied in message order within a batch."""
