"""The only place the certificates service's decisions become contract messages: envelopes with
deterministic event ids (a re-run emits the same ids), their topic and their key (the topic's:
certificate id, or organisation, site or body id)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from contracts import topics
from contracts.certificates import (
    CertificateChanged,
    CertificateInputRejected,
    CertificationBodyRegistered,
    CertificationDeadlineExtended,
    ExtendCertificationDeadline,
    MemberCertificationOverdue,
    MemberRegistered,
    MembershipForfeited,
    RecordMembershipForfeiture,
    SiteRegistered,
)
from contracts.common import Actor, Envelope, Reason, Role, derived_event_id
from contracts.registry import Member, Site
from contracts.signing import SigningKeyPublished
from contracts.topics import Topic
from libs.messaging import Outgoing
from services.certificates.domain.model import Change, start_of
from services.certificates.ports import RegistryRecord, SigningKey

ACTOR = Actor(organisation_id="certificates", role=Role.SERVICE)


def _out(message: Envelope, topic: Topic) -> Outgoing:
    return Outgoing(message, topic, topic.key_of(message))


def _event(message: Envelope) -> Outgoing:
    return _out(message, topics.CERTIFICATES_EVENTS)


def _reply(cause: Envelope, kind: type[Envelope], now: datetime, **body: Any) -> Envelope:
    event_id = derived_event_id(cause.event_id, kind.TYPE)
    return kind.create(actor=ACTOR, occurred_at=now, cause=cause, event_id=event_id, **body)


class KafkaMessages:
    """The `Messages` port: events on `certificates.events.v1`, refusals on
    `certificates.rejections.v1`."""

    def rejected(
        self, cause: Envelope, organisation_id: str, reasons: list[Reason], now: datetime
    ) -> Outgoing:
        message = _reply(
            cause,
            CertificateInputRejected,
            now,
            organisation_id=organisation_id,
            rejected_event_id=cause.event_id,
            rejected_event_type=getattr(cause, "type", "unknown"),
            reasons=reasons,
        )
        return _out(message, topics.CERTIFICATES_REJECTIONS)

    def registered(self, cause: Envelope, record: RegistryRecord, now: datetime) -> Outgoing:
        if isinstance(record, Member):
            return _event(_reply(cause, MemberRegistered, now, member=record))
        if isinstance(record, Site):
            return _event(_reply(cause, SiteRegistered, now, site=record))
        return _event(_reply(cause, CertificationBodyRegistered, now, certification_body=record))

    def changed(self, change: Change, signed: str, cause: Envelope | None) -> Outgoing:
        certificate = change.certificate
        event_id = (
            derived_event_id(cause.event_id, certificate.certificate_id, certificate.revision)
            if cause
            else derived_event_id(
                certificate.certificate_id, certificate.revision, change.change.value
            )
        )
        return _event(
            CertificateChanged.create(
                actor=ACTOR,
                occurred_at=change.occurred_at,
                cause=cause,
                event_id=event_id,
                change=change.change,
                certificate=certificate,
                signed_certificate=signed,
                reason=change.reason,
                audit_id=change.audit_id,
            )
        )

    def deadline_extended(self, cause: ExtendCertificationDeadline, now: datetime) -> Outgoing:
        return _event(
            _reply(
                cause,
                CertificationDeadlineExtended,
                now,
                organisation_id=cause.organisation_id,
                until=cause.until,
                reason=cause.reason,
            )
        )

    def forfeited(
        self, cause: RecordMembershipForfeiture, forfeited_on: date, now: datetime
    ) -> Outgoing:
        return _event(
            _reply(
                cause,
                MembershipForfeited,
                now,
                organisation_id=cause.organisation_id,
                forfeited_on=forfeited_on,
                reason=cause.reason,
            )
        )

    def certification_overdue(self, member: Member, deadline: date) -> Outgoing:
        """Dated the day after the deadline (or the later day it was extended to)."""
        org = member.organisation_id
        return _event(
            MemberCertificationOverdue.create(
                actor=ACTOR,
                occurred_at=start_of(deadline + timedelta(days=1)),
                event_id=derived_event_id(org, "certification_overdue", deadline),
                organisation_id=org,
                reason=f"{member.membership_class.value} member since {member.joined_on} without "
                f"a current Performance Standard certificate after {deadline}",
            )
        )

    def key_published(self, key: SigningKey) -> Outgoing:
        """The event id derives from the key and its state: a re-run publishes the same event."""
        return _event(
            SigningKeyPublished.create(
                actor=ACTOR,
                occurred_at=key.valid_until or key.valid_from,
                issuer="certificates",
                kid=key.kid,
                jwk=key.jwk,
                valid_from=key.valid_from,
                valid_until=key.valid_until,
                event_id=derived_event_id("signing-key", key.kid, key.valid_until or "current"),
            )
        )
