"""Use cases of the certificates service: thin functions that load what a batch needs, let the
domain decide, save, and answer with events or rejections."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from contracts import topics
from contracts.audits import AuditOutcomeSubmitted, NonconformityClosed
from contracts.certificates import (
    CertificateReason as R,
    CertificationDeadlineExtended,
    ExtendCertificationDeadline,
    MembershipForfeited,
    RecordMembershipForfeiture,
    CertificateChanged,
    CertificateInputRejected,
    CertificationBodyRegistered,
    ChangeCertificateScope,
    MemberCertificationOverdue,
    MemberRegistered,
    RegisterCertificationBody,
    RegisterMember,
    RegisterSite,
    RotateSigningKey,
    SiteRegistered,
)
from contracts.common import Actor, Envelope, Reason, Role, Standard, derived_event_id, today_utc
from contracts.registry import CertificationBody, Member, Site
from contracts.signing import SigningKeyPublished
from libs.logs import message_context
from libs.messaging import Incoming, Outgoing, Tx
from services.certificates.adapters import certificate_store as store
from services.certificates.adapters import keys as key_store
from services.certificates.adapters import registry_store
from services.certificates.adapters.keys import KeyRing
from services.certificates.domain import membership, registry
from services.certificates.domain.certification import (
    Change,
    Outcome,
    apply_command,
    certification_deadline,
    certification_overdue,
    close_nonconformity,
    corrective_action_plan,
    counter_key,
    due_changes,
    start_of,
    submit_audit,
)
from services.certificates.domain.rules import Rules

ACTOR = Actor(organisation_id="certificates", role=Role.SERVICE)
REGISTRY_COMMANDS = (RegisterMember, RegisterSite, RegisterCertificationBody)
OTHER_COMMANDS = (RotateSigningKey, ExtendCertificationDeadline, RecordMembershipForfeiture)


def _reply(cause: Envelope, kind: type[Envelope], now: datetime, **body: object) -> Outgoing:
    return Outgoing(kind.create(actor=ACTOR, occurred_at=now, cause=cause,
                                event_id=derived_event_id(cause.event_id, kind.TYPE), **body))


def rejection(cause: Envelope, organisation_id: str, reasons: list[Reason], now: datetime) -> Outgoing:
    return _reply(cause, CertificateInputRejected, now, organisation_id=organisation_id,
                  rejected_event_id=cause.event_id, rejected_event_type=getattr(cause, "type", "unknown"),
                  reasons=reasons)


def on_conflict(item: Incoming, now: datetime) -> list[Outgoing]:
    message = item.message
    org = getattr(message, "organisation_id", None) or message.actor.organisation_id
    return [rejection(message, org, [Reason(code=R.EVENT_ID_CONFLICT,
                                            message="this event id was already used with different content")], now)]


async def handle_register(command: RegisterMember | RegisterSite | RegisterCertificationBody, tx: Tx,
                          rules: Rules) -> list[Outgoing]:
    if command.actor.role is not Role.SECRETARIAT:
        org = getattr(getattr(command, "member", None) or getattr(command, "site", None) or command.certification_body,
                      "organisation_id", command.actor.organisation_id)
        return [rejection(command, org, [Reason(code=R.NOT_SECRETARIAT, message="only the ASI secretariat registers",
                                                field="actor.role")], tx.now)]
    if isinstance(command, RegisterMember):
        outcome = registry.register_member(command.member, await registry_store.load(tx, Member, command.member.organisation_id))
        org = command.member.organisation_id
    elif isinstance(command, RegisterSite):
        owner = await registry_store.load(tx, Member, command.site.organisation_id)
        current = await registry_store.load(tx, Site, command.site.site_id)
        outcome = registry.register_site(command.site, owner, current)
        org = command.site.organisation_id
    else:
        body = command.certification_body
        outcome = registry.register_certification_body(
            body, await registry_store.load(tx, CertificationBody, body.certification_body_id))
        org = body.certification_body_id
    if isinstance(outcome, registry.Refused):
        return [rejection(command, org, outcome.reasons, tx.now)]
    if isinstance(outcome, registry.Unchanged):
        return []
    await registry_store.save(tx, outcome.record)
    if isinstance(outcome.record, Member):
        await store.set_membership_check(tx, org, certification_deadline(outcome.record, rules))
        return [_reply(command, MemberRegistered, tx.now, member=outcome.record)]
    if isinstance(outcome.record, Site):
        return [_reply(command, SiteRegistered, tx.now, site=outcome.record)]
    return [_reply(command, CertificationBodyRegistered, tx.now, certification_body=outcome.record)]


def _ms(moment: datetime) -> datetime:
    """The database keeps milliseconds: certificates carry no more, so stored and published agree."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


class Certification:
    """Audits to certificates, the secretariat's lifecycle commands and the clock."""

    def __init__(self, rules: Rules, keys: KeyRing, clock_batch: int = 200) -> None:
        self.rules = rules
        self.keys = keys
        self.clock_batch = clock_batch

    async def _events(self, tx: Tx, changes: Sequence[Change], cause: Envelope | None) -> tuple[list[Outgoing], list[str]]:
        signer = await self.keys.signer(tx.db, tx.session)
        out, signed = [], []
        for change in changes:
            certificate = change.certificate
            jws = signer.sign_certificate(certificate)
            event_id = (derived_event_id(cause.event_id, certificate.certificate_id, certificate.revision) if cause
                        else derived_event_id(certificate.certificate_id, certificate.revision, change.change.value))
            out.append(Outgoing(CertificateChanged.create(
                actor=ACTOR, occurred_at=change.occurred_at, cause=cause, event_id=event_id, change=change.change,
                certificate=certificate, signed_certificate=jws, reason=change.reason, audit_id=change.audit_id)))
            signed.append(jws)
        return out, signed

    async def _answer(self, tx: Tx, message: Envelope, outcome: Outcome) -> tuple[list[Outgoing], list[str]]:
        if outcome.refused:
            return [rejection(message, outcome.organisation_id or message.actor.organisation_id, outcome.refused,
                              tx.now)], []
        return await self._events(tx, outcome.changes, message)

    async def handle_audits(self, batch: Sequence[Incoming], tx: Tx) -> list[Outgoing]:
        messages = [item.message for item in batch]
        audits = [m for m in messages if isinstance(m, AuditOutcomeSubmitted)]
        closures = [m for m in messages if not isinstance(m, AuditOutcomeSubmitted)]
        year = today_utc(tx.now).year
        books, loaded = await store.load_books(
            tx,
            members=[a.organisation_id for a in audits],
            sites=[s for a in audits for s in a.scope.site_ids],
            bodies=[m.certification_body_id for m in audits + closures],  # type: ignore[operator]
            certificates=[a.certificate_id for a in audits if a.certificate_id] + [c.certificate_id for c in closures],
            audits=[a.audit_id for a in audits],
            counters=[counter_key(self.rules, s, year) for s in Standard],
        )
        out: list[Outgoing] = []
        signed: list[str] = []
        for message in messages:
            with message_context(event_id=str(message.event_id), correlation_id=str(message.correlation_id)):
                if isinstance(message, AuditOutcomeSubmitted):
                    outcome = submit_audit(books, message, _ms(tx.now), self.rules)
                elif isinstance(message, NonconformityClosed):
                    outcome = close_nonconformity(books, message, _ms(tx.now), self.rules)
                else:
                    outcome = corrective_action_plan(books, message, _ms(tx.now), self.rules)  # type: ignore[arg-type]
                events, jws = await self._answer(tx, message, outcome)
            out += events
            signed += jws
        await store.save_books(tx, books, loaded, signed, self.rules)
        return out

    async def rotate_key(self, command: RotateSigningKey, tx: Tx) -> list[Outgoing]:
        """A new signing key from now on; the signing-keys tick publishes both keys' new states."""
        if command.actor.role is not Role.SECRETARIAT:
            return [rejection(command, command.actor.organisation_id, [Reason(
                code=R.NOT_SECRETARIAT, message="only the ASI secretariat rotates the signing key", field="actor.role")],
                tx.now)]
        if self.keys.from_settings:
            return [rejection(command, command.actor.organisation_id, [Reason(
                code=R.SIGNING_KEY_FROM_SETTINGS, message="the signing key is set in CERTIFICATES_SIGNING_KEY_*: "
                "rotate it there (the service publishes the change when it restarts)", field="type")], tx.now)]
        await self.keys.rotate(tx.db, _ms(tx.now), tx.session)
        return []

    async def publish_keys(self, tx: Tx) -> list[Outgoing]:
        """Publish every key whose state the topic does not have yet: the current one at start (or
        when the settings changed it), both keys at a rotation. Idempotent by state; the event id
        is derived from the key and its state, so a re-run publishes the same event."""
        await self.keys.enlist(tx.db, _ms(tx.now), tx.session)
        entries = await key_store.unpublished(tx.db, tx.session)
        out = [Outgoing(SigningKeyPublished.create(
            actor=ACTOR, occurred_at=e["valid_until"] or e["valid_from"], issuer="certificates", kid=e["kid"],
            jwk=e["jwk"], valid_from=e["valid_from"], valid_until=e["valid_until"],
            event_id=derived_event_id("signing-key", e["kid"], e["valid_until"] or "current")),
            topic=topics.CERTIFICATES_EVENTS) for e in entries]
        await key_store.mark_published(tx.db, entries, tx.session)
        return out

    async def membership_command(self, command: ExtendCertificationDeadline | RecordMembershipForfeiture,
                                 tx: Tx) -> list[Outgoing]:
        """The secretariat extends a must-certify member's deadline or records its forfeiture."""
        org = command.organisation_id
        if command.actor.role is not Role.SECRETARIAT:
            return [rejection(command, org, [Reason(code=R.NOT_SECRETARIAT, field="actor.role",
                                                    message="only the ASI secretariat decides on membership")], tx.now)]
        member = await registry_store.load(tx, Member, org)
        standing = await store.membership_standing(tx, org)
        if isinstance(command, ExtendCertificationDeadline):
            reasons = membership.extension_reasons(member, org, standing, command.until, self.rules)
            if reasons:
                return [rejection(command, org, reasons, tx.now)]
            await store.extend_membership_check(tx, org, command.until)
            return [_reply(command, CertificationDeadlineExtended, tx.now, organisation_id=org, until=command.until,
                           reason=command.reason)]
        reasons = membership.forfeiture_reasons(member, org, standing, self.rules)
        if reasons:
            return [rejection(command, org, reasons, tx.now)]
        today = today_utc(tx.now)
        await store.forfeit_membership(tx, org, today)
        return [_reply(command, MembershipForfeited, tx.now, organisation_id=org, forfeited_on=today,
                       reason=command.reason)]

    async def handle_commands(self, batch: Sequence[Incoming], tx: Tx) -> list[Outgoing]:
        lifecycle = [i.message for i in batch if not isinstance(i.message, (*REGISTRY_COMMANDS, *OTHER_COMMANDS))]
        books, loaded = await store.load_books(tx, certificates=[m.certificate_id for m in lifecycle])  # type: ignore[attr-defined]
        out: list[Outgoing] = []
        signed: list[str] = []
        for item in batch:
            command = item.message
            with message_context(event_id=str(command.event_id), correlation_id=str(command.correlation_id)):
                if isinstance(command, REGISTRY_COMMANDS):
                    out += await handle_register(command, tx, self.rules)
                    continue
                if isinstance(command, RotateSigningKey):
                    out += await self.rotate_key(command, tx)
                    continue
                if isinstance(command, ExtendCertificationDeadline | RecordMembershipForfeiture):
                    out += await self.membership_command(command, tx)
                    continue
                if isinstance(command, ChangeCertificateScope):
                    # Sites may have been registered earlier in this batch: read them now.
                    fresh, _ = await store.load_books(tx, sites=command.scope.site_ids)
                    books.sites |= fresh.sites
                events, jws = await self._answer(tx, command, apply_command(books, command, _ms(tx.now)))  # type: ignore[arg-type]
            out += events
            signed += jws
        await store.save_books(tx, books, loaded, signed, self.rules)
        return out

    async def clock(self, tx: Tx) -> list[Outgoing]:
        """Expiry and overdue Majors, by state: a tick after downtime catches up, and a certificate
        already handled is not found again."""
        certificates = await store.due_certificates(tx, today_utc(tx.now), self.clock_batch)
        changes = [change for c in certificates for change in due_changes(c, _ms(tx.now), self.rules)]
        out, signed = await self._events(tx, changes, None)
        await store.save_changes(tx, changes, {c.certificate_id: c.revision for c in certificates}, signed, self.rules)
        return out

    async def membership(self, tx: Tx) -> list[Outgoing]:
        """Flag, once, members that must certify and have no current PS certificate at their deadline."""
        today = today_utc(tx.now)
        due = await store.due_membership_checks(tx, today, self.clock_batch)
        organisations = list(due)
        if not organisations:
            return []
        members = await store.members(tx, organisations)
        certificates = await store.current_certificates(tx, organisations, Standard.PERFORMANCE_STANDARD)
        outcome: dict[str, bool] = {}
        out: list[Outgoing] = []
        for org in organisations:
            member = members.get(org)
            overdue = member is not None and certification_overdue(member, certificates, today, self.rules)
            outcome[org] = overdue
            if overdue:
                deadline = due[org]  # the member's deadline, or the later one it was extended to
                out.append(Outgoing(MemberCertificationOverdue.create(
                    actor=ACTOR, occurred_at=start_of(deadline + timedelta(days=1)),
                    event_id=derived_event_id(org, "certification_overdue", deadline), organisation_id=org,
                    reason=f"{member.membership_class.value} member since {member.joined_on} without a current "  # type: ignore[union-attr]
                           f"Performance Standard certificate after {deadline}")))
        await store.finish_membership_checks(tx, outcome)
        return out


