"""Use cases of the certificates service: one function per message kind, dependencies passed in."""

from __future__ import annotations

from collections.abc import Sequence

from contracts.certificates import (
    CertificateInputRejected,
    CertificationBodyRegistered,
    MemberRegistered,
    RegisterCertificationBody,
    RegisterMember,
    RegisterSite,
    SiteRegistered,
)
from contracts.common import Actor, Envelope, Reason, Role, derived_event_id
from contracts.registry import CertificationBody, Member, Site
from libs.logs import message_context
from libs.messaging import Incoming, Outgoing, Tx
from services.certificates.adapters import registry_store
from services.certificates.domain import registry

ACTOR = Actor(organisation_id="certificates", role=Role.SERVICE)


def _reply(cause: Envelope, kind: type[Envelope], now, **body) -> Outgoing:  # noqa: ANN001
    return Outgoing(kind.create(actor=ACTOR, occurred_at=now, cause=cause, event_id=derived_event_id(cause.event_id, kind.TYPE), **body))


def rejection(cause: Envelope, organisation_id: str, reasons: list[Reason], now) -> Outgoing:  # noqa: ANN001
    return _reply(cause, CertificateInputRejected, now, organisation_id=organisation_id,
                  rejected_event_id=cause.event_id, rejected_event_type=getattr(cause, "type", "unknown"),
                  reasons=reasons)


async def handle_register(command: RegisterMember | RegisterSite | RegisterCertificationBody, tx: Tx) -> list[Outgoing]:
    if command.actor.role is not Role.SECRETARIAT:
        org = getattr(getattr(command, "member", None) or getattr(command, "site", None) or command.certification_body,
                      "organisation_id", command.actor.organisation_id)
        return [rejection(command, org, [Reason(code="not_secretariat", message="only the ASI secretariat registers",
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
        return [_reply(command, MemberRegistered, tx.now, member=outcome.record)]
    if isinstance(outcome.record, Site):
        return [_reply(command, SiteRegistered, tx.now, site=outcome.record)]
    return [_reply(command, CertificationBodyRegistered, tx.now, certification_body=outcome.record)]


async def handle_commands(batch: Sequence[Incoming], tx: Tx) -> list[Outgoing]:
    out: list[Outgoing] = []
    for item in batch:
        command = item.message
        with message_context(event_id=str(command.event_id), correlation_id=str(command.correlation_id)):
            if isinstance(command, RegisterMember | RegisterSite | RegisterCertificationBody):
                out.extend(await handle_register(command, tx))
            else:
                out.append(rejection(command, command.actor.organisation_id,
                                     [Reason(code="not_implemented", message=f"{command.type} is not handled yet")], tx.now))
    return out


async def handle_audits(batch: Sequence[Incoming], tx: Tx) -> list[Outgoing]:
    return [
        rejection(item.message, item.message.organisation_id,
                  [Reason(code="not_implemented", message="audit outcomes are not handled yet")], tx.now)
        for item in batch
    ]


def on_conflict(item: Incoming, now) -> list[Outgoing]:  # noqa: ANN001
    message = item.message
    org = getattr(message, "organisation_id", None) or message.actor.organisation_id
    return [rejection(message, org, [Reason(code="event_id_conflict",
                                            message="this event id was already used with different content")], now)]
