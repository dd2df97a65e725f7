"""Component tests: a service's FastStream app on FastStream's in-memory TestKafkaBroker (no Kafka),
with its real database, through the same runtime (batch subscriber, inbox, outbox, dead letters)."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import date

import pytest
from faststream.kafka import KafkaMessage, TestKafkaBroker

from contracts.certificates import MemberRegistered, RegisterMember
from contracts.common import Role
from contracts.deadletter import DeadLetter
from contracts.registry import Member, MembershipClass
from contracts.topics import CERTIFICATES_COMMANDS, CERTIFICATES_EVENTS, dead_letter_topic
from services.certificates.app import build_runtime
from services.certificates.config import Settings
from tests.support import NOW, actor, service_settings, unique

pytestmark = pytest.mark.integration  # the database is real


async def test_a_command_on_the_in_memory_broker_is_handled_once_and_answered(stack):
    runtime = build_runtime(service_settings(Settings, stack))
    published: dict[str, list[dict]] = {CERTIFICATES_EVENTS.name: [], dead_letter_topic(CERTIFICATES_COMMANDS).name: []}
    arrived = asyncio.Event()

    def recorder(name: str):  # noqa: ANN202
        async def capture(message: KafkaMessage) -> None:
            published[name].append(json.loads(message.body))
            members = [b for b in published[CERTIFICATES_EVENTS.name] if b["type"] == MemberRegistered.TYPE]
            if members and published[dead_letter_topic(CERTIFICATES_COMMANDS).name]:
                arrived.set()
        return capture

    for name in published:
        runtime.broker.subscriber(name)(recorder(name))

    org = unique("org")
    command = RegisterMember.create(
        actor=actor("asi", Role.SECRETARIAT), occurred_at=NOW,
        member=Member(organisation_id=org, name="Acme", membership_class=MembershipClass.GENERAL_SUPPORTERS,
                      joined_on=date(2025, 1, 1)))
    await runtime.prepare()
    async with TestKafkaBroker(runtime.broker) as broker:
        await runtime.start()
        try:
            for _ in range(2):  # the same message twice: one effect
                await broker.publish(CERTIFICATES_COMMANDS.encode(command), CERTIFICATES_COMMANDS.name,
                                     key=org.encode())
            await broker.publish(b"{not json", CERTIFICATES_COMMANDS.name, key=org.encode())
            await asyncio.wait_for(arrived.wait(), 10)
        finally:
            await runtime.stop()
    await runtime.broker.stop()  # the producer prepare() connected before the test broker took over
    await runtime.close()

    events = [MemberRegistered.model_validate(b) for b in published[CERTIFICATES_EVENTS.name]
              if b["type"] == MemberRegistered.TYPE]  # the signing key is published at start too
    assert [e.member.organisation_id for e in events] == [org]
    assert events[0].causation_id == command.event_id and events[0].correlation_id == command.correlation_id
    [letter] = [DeadLetter.model_validate(b) for b in published[dead_letter_topic(CERTIFICATES_COMMANDS).name]]
    assert letter.reason_code == "not_json" and letter.source_topic == CERTIFICATES_COMMANDS.name
    assert uuid.UUID(str(json.loads(CERTIFICATES_COMMANDS.encode(command))["event_id"])) == command.event_id
