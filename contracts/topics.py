"""Every topic of the platform: its name, message union, partition key and writers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, get_args

from pydantic import TypeAdapter

from contracts import audits, certificates, claims, deadletter, intake, ledger, movements, plant
from contracts.common import Envelope
from contracts.signing import PublishedSigningKey

KeyFn = Callable[[Any], str]


@dataclass(frozen=True)
class Topic:
    """A Kafka topic and the contract of what it carries."""

    name: str
    message: Any
    key: KeyFn
    key_description: str
    writers: tuple[str, ...]
    description: str
    partitions: int = 4

    @cached_property
    def adapter(self) -> TypeAdapter[Any]:
        return TypeAdapter(self.message)

    @property
    def dlq(self) -> str:
        return f"{self.name}.dlq"

    def message_types(self) -> list[type[Envelope]]:
        union = get_args(self.message)[0]
        members = get_args(union) or (union,)
        return list(members)

    def parse(self, raw: bytes | str) -> Envelope:
        """Parse one message; raises pydantic.ValidationError."""
        return self.adapter.validate_json(raw)

    def encode(self, message: Envelope) -> bytes:
        return message.model_dump_json().encode()

    def key_of(self, message: Envelope) -> str:
        return self.key(message)


def _ledger_event_key(m: Any) -> str:
    if isinstance(m, ledger.LedgerEntryPosted):
        return m.entry.account_id
    if isinstance(m, ledger.PeriodClosed):
        return m.statement.account_id
    if isinstance(m, ledger.AllocationGranted | ledger.AllocationRefused | ledger.AllocationReleased
                  | ledger.ClaimMassDebited | ledger.ClaimMassReturned):
        return ledger.owner_key(m.owner_organisation_id)
    if isinstance(m, ledger.RuleSetAssigned):
        return ledger.group_account_id(m.organisation_id)
    if isinstance(m, ledger.LedgerCommandRejected):
        return str(m.rejected_event_id)
    if isinstance(m, PublishedSigningKey):
        return f"key:{m.kid}"
    return m.account_id


def _ledger_command_key(m: Any) -> str:
    if isinstance(m, ledger.AllocateForClaim | ledger.ReleaseAllocation | ledger.DebitClaimMass
                  | ledger.ReturnClaimMass):
        return ledger.owner_key(m.owner_organisation_id)
    if isinstance(m, ledger.AssignRuleSet):
        return ledger.group_account_id(m.organisation_id)
    return m.account_id


def _certificate_command_key(m: Any) -> str:
    if isinstance(m, certificates.RegisterMember):
        return m.member.organisation_id
    if isinstance(m, certificates.RegisterSite):
        return m.site.organisation_id
    if isinstance(m, certificates.RegisterCertificationBody):
        return m.certification_body.certification_body_id
    if isinstance(m, certificates.RotateSigningKey):
        return m.actor.organisation_id
    if isinstance(m, certificates.ExtendCertificationDeadline | certificates.RecordMembershipForfeiture):
        return m.organisation_id
    return m.certificate_id


def _certificate_event_key(m: Any) -> str:
    if isinstance(m, certificates.MemberRegistered):
        return m.member.organisation_id
    if isinstance(m, certificates.SiteRegistered):
        return m.site.site_id
    if isinstance(m, certificates.CertificationBodyRegistered):
        return m.certification_body.certification_body_id
    if isinstance(m, certificates.MemberCertificationOverdue | certificates.CertificationDeadlineExtended
                  | certificates.MembershipForfeited):
        return m.organisation_id
    if isinstance(m, PublishedSigningKey):
        return f"key:{m.kid}"
    return m.certificate.certificate_id


PLANT_EVENTS = Topic(
    "plant.events.v1", plant.PlantEvent, lambda m: m.site_id, "site id", ("producers",),
    "Material received, transformed and shipped at producers' plants; corrections and cancellations.",
)
INTAKE_REJECTIONS = Topic(
    "intake.rejections.v1", intake.IntakeRejection, lambda m: m.site_id, "site id", ("intake",),
    "Every refused (or held) plant event, with reason codes and a human message.",
)
MATERIAL_MOVEMENTS = Topic(
    "material.movements.v1", movements.MaterialMovement, lambda m: m.site_id, "site id", ("intake",),
    "Validated, classified, unit-normalised movements.",
)
LEDGER_COMMANDS = Topic(
    "ledger.commands.v1", ledger.LedgerCommand, _ledger_command_key, "account id (owner:<org> for allocations)",
    ("claims", "secretariat"),
    "Allocation requests and releases for claims, period close, rule-set assignment.",
)
LEDGER_EVENTS = Topic(
    "ledger.events.v1", ledger.LedgerEvent, _ledger_event_key, "account id (owner:<org> for allocations)",
    ("accounting",),
    "Entries, refused designations, CoC Documents, allocations, period statements, freezes.",
)
CLAIMS_REQUESTS = Topic(
    "claims.requests.v1", claims.ClaimRequest, lambda m: m.claim_id, "claim id", ("brand owners",),
    "Claim verification requests, usage reports and withdrawals.",
)
CLAIMS_DECISIONS = Topic(
    "claims.decisions.v1", claims.ClaimDecision, lambda m: m.claim_id, "claim id", ("claims",),
    "Pending, approved, rejected, revoked, expired, each with reasons.",
)
AUDITS_OUTCOMES = Topic(
    "audits.outcomes.v1", audits.AuditOutcome, lambda m: m.organisation_id, "organisation id",
    ("certification bodies",), "Audit outcomes with findings; NC closures.",
)
CERTIFICATES_COMMANDS = Topic(
    "certificates.commands.v1", certificates.CertificateCommand, _certificate_command_key,
    "organisation id (certificate id for lifecycle commands)", ("secretariat",),
    "Member, site and certification-body registration; suspend, reinstate, withdraw, change scope.",
)
CERTIFICATES_EVENTS = Topic(
    "certificates.events.v1", certificates.CertificateEvent, _certificate_event_key,
    "certificate id (organisation, site or body id for registry events)", ("certificates",),
    "Registry changes and every certificate lifecycle event, with the full certificate.",
)
CERTIFICATES_REJECTIONS = Topic(
    "certificates.rejections.v1", certificates.CertificateRejection, lambda m: m.organisation_id,
    "organisation id", ("certificates",), "Refused audit outcomes and certificate commands, with reasons.",
)

TOPICS: tuple[Topic, ...] = (
    PLANT_EVENTS,
    INTAKE_REJECTIONS,
    MATERIAL_MOVEMENTS,
    LEDGER_COMMANDS,
    LEDGER_EVENTS,
    CLAIMS_REQUESTS,
    CLAIMS_DECISIONS,
    AUDITS_OUTCOMES,
    CERTIFICATES_COMMANDS,
    CERTIFICATES_EVENTS,
    CERTIFICATES_REJECTIONS,
)
BY_NAME = {t.name: t for t in TOPICS}
_DEAD_LETTERS = {
    t.name: Topic(
        t.dlq, deadletter.DeadLetterMessage, lambda m: m.key or "", t.key_description, ("every consumer of " + t.name,),
        f"Messages of {t.name} a consumer could not parse or handle, with the reason.",
    )
    for t in TOPICS
}


def dead_letter_topic(source: Topic) -> Topic:
    """The `<topic>.dlq` topic of a topic."""
    return _DEAD_LETTERS[source.name]

ALL_TOPIC_NAMES: list[str] = [t.name for t in TOPICS] + [t.dlq for t in TOPICS]


def topic_for(message: Envelope) -> Topic:
    """The topic a message type belongs to."""
    for topic in TOPICS:
        if type(message) in topic.message_types():
            return topic
    raise LookupError(f"no topic carries {type(message).__name__}")
