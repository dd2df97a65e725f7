"""The shared delivery semantics, through the real broker and database."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from datetime import date

import pytest
from pymongo import AsyncMongoClient, monitoring

from contracts.certificates import CertificateInputRejected, MemberRegistered, RegisterMember
from contracts.common import Role
from contracts.deadletter import DeadLetter, DeadLetterReason
from contracts.plant import MaterialReceived
from contracts.registry import Member, MembershipClass
from services.certificates.app import build_runtime as build_certificates
from services.certificates.config import Settings as CertificatesSettings
from services.intake.app import build_runtime as build_intake
from services.intake.config import Settings as IntakeSettings
from tests import failpoint
from tests.support import NOW, actor, running, service_settings, unique

pytestmark = pytest.mark.integration


def register(org: str, name: str = "Acme Smelting", event_id: uuid.UUID | None = None) -> RegisterMember:
    return RegisterMember.create(
        actor=actor("asi", Role.SECRETARIAT), occurred_at=NOW, event_id=event_id,
        member=Member(organisation_id=org, name=name, membership_class=MembershipClass.PRODUCTION_AND_TRANSFORMATION,
                      joined_on=date(2024, 1, 1)),
    )


class Transactions(monitoring.CommandListener):
    """What a service's database client did in transactions, and when a handler's work committed: a
    handler calls `handled(key)` inside its transaction; `committed(key)` returns once a transaction
    that marked it commits (an aborted one forgets its marks). One transaction at a time."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        """`<command> <collection>` of the reads and writes run inside transactions, in order."""
        self.inbox_reads = 0
        self._marked: set[str] = set()
        self._committed: dict[str, asyncio.Event] = {}

    def handled(self, key: str) -> None:
        self._marked.add(key)

    async def committed(self, key: str) -> None:
        await asyncio.wait_for(self._committed.setdefault(key, asyncio.Event()).wait(), 30)

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        name = event.command_name
        if name == "find" and event.command.get("find") == "inbox":
            self.inbox_reads += 1
        if name in ("find", "insert", "update") and "txnNumber" in event.command:
            self.seen.append(f"{name} {event.command.get(name)}")
        if name == "abortTransaction":
            self._marked.clear()

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        if event.command_name == "commitTransaction":
            for key in self._marked:
                self._committed.setdefault(key, asyncio.Event()).set()
            self._marked.clear()

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        if event.command_name == "commitTransaction":
            self._marked.clear()


async def test_a_replayed_message_changes_nothing(stack, recorder, sender):
    settings = service_settings(CertificatesSettings, stack)
    org = unique("org")
    command = register(org)
    async with running(build_certificates, settings) as runtime:
        await sender.send(command)
        await sender.send(command)
        await recorder.wait_for(MemberRegistered, lambda m: m.member.organisation_id == org)
        follow_up = register(unique("org"))
        await sender.send(follow_up, key=org)  # the replay's partition: read after it, so it was handled
        await recorder.wait_for(MemberRegistered, lambda m: m.member.organisation_id == follow_up.member.organisation_id)
        assert await runtime.db["members"].count_documents({"_id": org}) == 1
        assert await runtime.db["inbox"].count_documents({"_id": str(command.event_id)}) == 1
        await runtime.outbox.drain()
        ready = await runtime.readiness()
        # The group starts at the topics' beginning on the shared stack, so the counts include earlier
        # tests' messages: once drained, everything the consumers emitted has been published (ticks add more).
        emitted = sum(stats["emitted"] for stats in ready["consumers"].values())
        assert emitted >= 2 and ready["published"] >= emitted, ready
    assert len(recorder.messages(kind=MemberRegistered, where=lambda m: m.member.organisation_id == org)) == 1


async def test_the_same_event_id_with_other_content_is_refused_as_a_conflict(stack, recorder, sender):
    settings = service_settings(CertificatesSettings, stack)
    org = unique("org")
    first = register(org)
    forged = register(org, name="Someone Else", event_id=first.event_id)
    async with running(build_certificates, settings) as runtime:
        await sender.send(first)
        await recorder.wait_for(MemberRegistered, lambda m: m.member.organisation_id == org)
        await sender.send(forged)
        [rejected] = await recorder.wait_for(CertificateInputRejected, lambda m: m.rejected_event_id == first.event_id)
        assert rejected.reasons[0].code == "event_id_conflict"
        stored = await runtime.db["members"].find_one({"_id": org})
        assert stored["name"] == "Acme Smelting"


async def test_malformed_messages_go_to_the_dead_letter_topic_and_the_consumer_goes_on(stack, recorder, sender):
    settings = service_settings(IntakeSettings, stack)
    site = unique("site")
    good = MaterialReceived.create(
        actor=actor("org-x"), occurred_at=NOW, site_id=site, received_on=date(2026, 5, 1),
        supplier_organisation_id="org-y", material_category="aluminium", product_form="ingot",
        quantity="1000", unit="kg",
    )
    valid = json.loads(good.model_dump_json())
    wrong_tag = {**valid, "event_id": str(uuid.uuid4()), "type": "material_teleported"}
    negative = {**valid, "event_id": str(uuid.uuid4()), "quantity": "-5"}
    floating = {**valid, "event_id": str(uuid.uuid4()), "quantity": 12.5}
    async with running(build_intake, settings) as runtime:
        await sender.send_raw("plant.events.v1", b"{not json at all", key=site)
        await sender.send_raw("plant.events.v1", b"\xff\xfe\x00binary", key=site)
        for bad in (wrong_tag, negative, floating):
            await sender.send_raw("plant.events.v1", json.dumps(bad).encode(), key=site)
        await sender.send(good)
        letters = await recorder.wait_for(DeadLetter, lambda m: m.key == site, topic="plant.events.v1.dlq", count=5)
        codes = sorted(letter.reason_code for letter in letters)
        assert codes == sorted([DeadLetterReason.NOT_JSON, DeadLetterReason.NOT_JSON, DeadLetterReason.UNKNOWN_TYPE,
                                DeadLetterReason.SCHEMA_INVALID, DeadLetterReason.SCHEMA_INVALID])
        by_id = {json.loads(letter.payload).get("event_id"): letter for letter in letters
                 if letter.reason_code != DeadLetterReason.NOT_JSON}
        assert "greater than 0" in by_id[negative["event_id"]].errors[0].message
        assert "floating point" in by_id[floating["event_id"]].errors[0].message
        # The consumer went on: the valid event behind the garbage was taken (recorded in the inbox).
        for _ in range(100):
            if await runtime.db["inbox"].count_documents({"_id": str(good.event_id)}):
                break
            await asyncio.sleep(0.1)
        assert await runtime.db["inbox"].count_documents({"_id": str(good.event_id)}) == 1


def _service_process(module: str, prefix: str, settings, extra_env: dict[str, str]) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        f"{prefix}_KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        f"{prefix}_MONGODB_URI": settings.mongodb_uri,
        f"{prefix}_DATABASE": settings.database,
        f"{prefix}_CONSUMER_GROUP": settings.consumer_group,
        f"{prefix}_BATCH_TIMEOUT_MS": "10",
        f"{prefix}_KAFKA_SESSION_TIMEOUT_MS": "2000",
        f"{prefix}_KAFKA_HEARTBEAT_INTERVAL_MS": "300",
        f"{prefix}_KAFKA_FETCH_MAX_WAIT_MS": "20",
        f"{prefix}_LOG_FORMAT": "json",
        **extra_env,
    }
    point = next((v for k, v in extra_env.items() if k.endswith("_FAILPOINT")), None)
    return subprocess.Popen(failpoint.command(module, point), env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)


async def test_a_crash_between_commit_and_publish_loses_nothing_and_duplicates_nothing(stack, recorder, sender):
    settings = service_settings(CertificatesSettings, stack)
    org = unique("org")
    command = register(org)
    from tests.faults_support import start_groups_at_end

    # The failpoint fires after the first batch: it must hold this command, not earlier tests' history.
    await start_groups_at_end(stack.kafka_bootstrap, settings, topics=["certificates.commands.v1"])
    crashing = _service_process("services.certificates", "CERTIFICATES", settings,
                                {"CERTIFICATES_FAILPOINT": "crash_after_commit:certificates.commands.v1"})
    try:
        await sender.send(command)
        for _ in range(300):
            if crashing.poll() is not None:
                break
            await asyncio.sleep(0.1)
        assert crashing.returncode == 70, crashing.stderr.read().decode()[-2000:] if crashing.stderr else ""
    finally:
        if crashing.poll() is None:
            crashing.kill()
    client = AsyncMongoClient(settings.mongodb_uri)
    try:
        db = client[settings.database]
        assert await db["members"].count_documents({"_id": org}) == 1, "the effect was committed"
        # (the signing key the service publishes at start may wait there too: count this member's message)
        assert await db["outbox"].count_documents({"messages.key": org.encode()}) == 1, "its message waits in the outbox"
    finally:
        await client.close()
    await recorder.settle(quiet_s=0.5)
    assert not recorder.messages(kind=MemberRegistered, where=lambda m: m.member.organisation_id == org)

    restarted = _service_process("services.certificates", "CERTIFICATES", settings, {})
    try:
        await recorder.wait_for(MemberRegistered, lambda m: m.member.organisation_id == org)
        # The Kafka offset was never committed, so the command is redelivered: the inbox makes it a no-op.
        client = AsyncMongoClient(settings.mongodb_uri)
        try:
            for _ in range(100):
                if await client[settings.database]["outbox"].count_documents({}) == 0:
                    break
                await asyncio.sleep(0.1)
        finally:
            await client.close()
        await recorder.settle(quiet_s=1.0)
        published = recorder.messages(kind=MemberRegistered, where=lambda m: m.member.organisation_id == org)
        assert len(published) == 1
    finally:
        restarted.terminate()
        restarted.wait(15)
    assert restarted.returncode == 0, "SIGTERM is a graceful shutdown"


async def test_a_handler_failure_dead_letters_only_the_poison_message(stack, recorder, sender):
    """A bug triggered by one message must not stop the consumer nor lose its batch neighbours."""
    from contracts.claims import ClaimWithdrawn
    from contracts.topics import CLAIMS_REQUESTS
    from libs.service import Runtime

    handled: list[str] = []
    poison_id, duplicate_id = unique("claim"), unique("claim")

    async def handler(batch, tx):
        for item in batch:
            if item.message.claim_id == poison_id:
                raise ZeroDivisionError("a bug in the handler")
            if item.message.claim_id == duplicate_id:
                await tx.db["handled"].insert_one({"_id": "same"}, session=tx.session)
                await tx.db["handled"].insert_one({"_id": "same"}, session=tx.session)  # a bug: DuplicateKeyError
            await tx.db["handled"].insert_one({"_id": str(item.message.event_id), "claim": item.message.claim_id},
                                              session=tx.session)
        handled.extend(item.message.claim_id for item in batch)
        return []

    def build(settings, **overrides):
        runtime = Runtime.build(settings, **overrides)
        runtime.consume(CLAIMS_REQUESTS, handler)
        return runtime

    settings = service_settings(CertificatesSettings, stack, service_name="poison-test")
    claims = [unique("claim") for _ in range(3)]
    messages = [ClaimWithdrawn.create(actor=actor("brand", Role.BRAND_OWNER), occurred_at=NOW, claim_id=c,
                                      claimant_organisation_id="brand", reason="test")
                for c in (claims[0], poison_id, claims[1], duplicate_id, claims[2])]
    async with running(build, settings) as runtime:
        for message in messages:
            await sender.send(message, key="same-partition")
        # At least once: a redelivered batch may dead-letter again, under the same event id.
        letters = await recorder.wait_for(DeadLetter, lambda m: poison_id in m.payload, topic="claims.requests.v1.dlq")
        assert len({letter.event_id for letter in letters}) == 1
        assert letters[0].reason_code == DeadLetterReason.HANDLER_ERROR
        assert "a bug in the handler" in letters[0].errors[0].message
        letters = await recorder.wait_for(DeadLetter, lambda m: duplicate_id in m.payload,
                                          topic="claims.requests.v1.dlq")
        assert len({letter.event_id for letter in letters}) == 1 and "duplicate key" in letters[0].errors[0].message
        for _ in range(300):
            if await runtime.db["handled"].count_documents({"claim": {"$in": claims}}) == 3:
                break
            await asyncio.sleep(0.1)
        assert await runtime.db["handled"].count_documents({"claim": {"$in": claims}}) == 3
        assert await runtime.db["handled"].count_documents({"claim": poison_id}) == 0
        assert await runtime.db["inbox"].count_documents({"_id": str(messages[1].event_id)}) == 0
        ready = await runtime.readiness()  # a service that dead-letters says so on /ready, with the count
        assert ready["ready"] is False and ready["dead_lettering"] is True and ready["dead_lettered"] >= 2


async def test_a_consumer_takes_only_the_types_it_names_and_acknowledges_the_rest_unparsed(stack, recorder, sender):
    from contracts.claims import ClaimWithdrawn
    from contracts.topics import CLAIMS_REQUESTS
    from libs.service import Runtime
    from tests.unit.claims.builders import request

    seen: list[str] = []

    async def handler(batch, tx):
        seen.extend(type(item.message).__name__ for item in batch)
        return []

    def build(settings, **overrides):
        runtime = Runtime.build(settings, **overrides)
        runtime.consume(CLAIMS_REQUESTS, handler, only=[ClaimWithdrawn])
        return runtime

    claim = unique("claim")
    wanted = ClaimWithdrawn.create(actor=actor("brand", Role.BRAND_OWNER), occurred_at=NOW, claim_id=claim,
                                   claimant_organisation_id="brand", reason="test")
    other = request(claim_id=claim)
    from tests.faults_support import start_groups_at_end

    settings = service_settings(CertificatesSettings, stack, service_name="only-test")
    await start_groups_at_end(stack.kafka_bootstrap, settings, topics=[CLAIMS_REQUESTS.name])  # not earlier tests'
    async with running(build, settings) as runtime:
        await sender.send(other)
        await sender.send(wanted)
        for _ in range(300):
            if await runtime.db["inbox"].count_documents({"_id": str(wanted.event_id)}):
                break
            await asyncio.sleep(0.1)
        assert await runtime.db["inbox"].count_documents({"_id": str(wanted.event_id)}) == 1
        assert await runtime.db["inbox"].count_documents({"_id": str(other.event_id)}) == 0
        assert "ClaimRequested" not in seen and "ClaimWithdrawn" in seen
        assert runtime.consumers[0].stats.skipped >= 1


async def test_the_outbox_publisher_publishes_in_commit_order_and_recovers_from_a_failed_publish(stack):
    """Batches hand their outbox to a background publisher and go on; a failed publish is retried from
    the stored outbox, in order, and nothing is lost. The service's publisher sends with the broker's
    own aiokafka producer (no per-message FastStream publish path)."""
    from libs.kafka import BrokerPublisher, make_broker
    from libs.messaging import OUTBOX, Outbox
    from libs.mongo import database, mongo_client

    class FlakyPublisher:
        def __init__(self) -> None:
            self.sent: list[bytes] = []
            self.failures = 1

        async def publish_many(self, items):
            for number, (_, _, value, _) in enumerate(items):
                if self.failures and value == b"m3":
                    self.failures -= 1
                    raise ConnectionError("broker went away")
                self.sent.append(value)
                if number % 2:
                    await asyncio.sleep(0)

    client = mongo_client(stack.mongodb_uri, "outbox-test")
    db = database(client, f"outbox_{uuid.uuid4().hex[:8]}")
    publisher = FlakyPublisher()
    outbox = Outbox(db, publisher, "instance-a", max_pending=2)
    try:
        docs = []
        for n in range(6):
            doc = {"_id": uuid.uuid4().hex, "owner": "instance-a", "seq": outbox._next_seq(), "created": 0.0,
                   "messages": [{"topic": "t", "key": b"k", "value": f"m{n}".encode()}]}
            await db[OUTBOX].insert_one(doc)  # as a committed transaction leaves it
            docs.append(doc)
        for doc in docs:
            await outbox.submit([doc])
        await asyncio.wait_for(outbox.drain(), 30)
        expected = [f"m{n}".encode() for n in range(6)]
        first_seen = list(dict.fromkeys(publisher.sent))
        assert first_seen == expected, publisher.sent
        # What went out of the failed round before the failure goes out again (at-least-once: consumers
        # dedupe on event id); what the flush of the stored outbox published is not published again.
        assert publisher.sent.count(b"m0") == publisher.sent.count(b"m5") == 1, publisher.sent
        assert await db[OUTBOX].count_documents({}) == 0
    finally:
        await outbox.close()
        await client.drop_database(db.name)
        await client.close()

    broker = make_broker(stack.kafka_bootstrap, "outbox-test")
    await broker.connect()
    try:
        assert BrokerPublisher(broker)._producer() is not None, "the broker's aiokafka producer is used directly"
    finally:
        await broker.stop()


async def test_published_outbox_documents_are_deleted_together_and_never_swept_again(stack):
    """What the publisher sent from memory is deleted from the stored outbox in one statement (on the
    relay's round, on drain, or every `forget_after` documents), not one delete per batch; a sweep of
    the stored outbox before that deletes them first instead of publishing them a second time."""
    from libs.messaging import OUTBOX, Outbox
    from libs.mongo import database, mongo_client

    class Recorder:
        def __init__(self) -> None:
            self.sent: list[bytes] = []
            self.all_sent = asyncio.Event()

        async def publish_many(self, items):
            self.sent.extend(value for _, _, value, _ in items)
            if len(self.sent) == 3:
                self.all_sent.set()

    client = mongo_client(stack.mongodb_uri, "outbox-forget-test")
    db = database(client, f"outbox_{uuid.uuid4().hex[:8]}")
    publisher = Recorder()
    outbox = Outbox(db, publisher, "instance-a")
    try:
        for n in range(3):
            doc = {"_id": uuid.uuid4().hex, "owner": "instance-a", "seq": outbox._next_seq(), "created": 0.0,
                   "messages": [{"topic": "t", "key": b"k", "value": f"m{n}".encode()}]}
            await db[OUTBOX].insert_one(doc)  # as a committed transaction leaves it
            await outbox.submit([doc])
        await asyncio.wait_for(publisher.all_sent.wait(), 30)
        assert publisher.sent == [b"m0", b"m1", b"m2"]
        assert await db[OUTBOX].count_documents({}) == 3, "published, deleted later in one statement"
        assert await outbox.flush(older_than_s=0) == 0, "a sweep publishes nothing already published"
        assert publisher.sent == [b"m0", b"m1", b"m2"]
        assert await db[OUTBOX].count_documents({}) == 0
    finally:
        await outbox.close()
        await client.drop_database(db.name)
        await client.close()


async def test_first_deliveries_skip_the_inbox_read_and_a_replay_among_them_is_still_applied_once(stack, sender):
    """Insert-first dedupe: a batch of first deliveries writes its inbox records without reading them
    first; a batch that holds a message seen before is aborted and redone the careful way, so the new
    messages beside it are applied once and the replayed one not again."""
    from contracts.claims import ClaimWithdrawn
    from contracts.topics import CLAIMS_REQUESTS
    from libs.mongo import mongo_client
    from libs.service import Runtime
    from tests.faults_support import start_groups_at_end

    transactions = Transactions()
    handled: list[str] = []

    async def handler(batch, tx):
        for item in batch:
            handled.append(item.message.claim_id)
            transactions.handled(item.message.claim_id)
        return []

    def build(settings, **overrides):
        client = mongo_client(settings.mongodb_uri, "inbox-test", event_listeners=[transactions])
        runtime = Runtime.build(settings, client=client, **overrides)
        runtime.consume(CLAIMS_REQUESTS, handler)
        return runtime

    def withdrawn(claim: str) -> ClaimWithdrawn:
        return ClaimWithdrawn.create(actor=actor("brand", Role.BRAND_OWNER), occurred_at=NOW, claim_id=claim,
                                     claimant_organisation_id="brand", reason="test")

    first, second, last = (withdrawn(unique("claim")) for _ in range(3))
    settings = service_settings(CertificatesSettings, stack, service_name="inbox-test")
    await start_groups_at_end(stack.kafka_bootstrap, settings, topics=[CLAIMS_REQUESTS.name])  # not earlier tests'
    async with running(build, settings) as runtime:
        await sender.send(first, key="same-partition")
        await transactions.committed(first.claim_id)
        assert transactions.inbox_reads == 0, "a first delivery does not read the inbox"
        await sender.send(first, key="same-partition")  # a replay, then a new message
        await sender.send(second, key="same-partition")
        await sender.send(last, key="same-partition")  # one partition, in order: once it is handled, so are they
        await transactions.committed(last.claim_id)
        assert handled.count(first.claim_id) == 1 and handled.count(second.claim_id) == 1, handled
        assert runtime.consumers[0].stats.duplicates >= 1
        assert transactions.inbox_reads >= 1, "the batch with the replay was redone reading the inbox"
        assert await runtime.db["inbox"].count_documents(
            {"_id": {"$in": [str(first.event_id), str(second.event_id)]}}) == 2


@pytest.mark.parametrize("computes", [True, False], ids=["enters-computing", "never-computes"])
async def test_inbox_records_are_written_while_the_handler_computes_and_a_replay_is_still_applied_once(
        stack, sender, computes):
    """A consumer declared `inbox_while_computing`: the inbox records of a batch of first deliveries go
    to the database during the handler's `tx.computing()` block (after its reads, before its writes),
    or after the handler if it has no such block; either way a replay beside new messages is applied once."""
    from contracts.claims import ClaimWithdrawn
    from contracts.topics import CLAIMS_REQUESTS
    from libs.messaging import paced
    from libs.mongo import mongo_client
    from libs.service import Runtime
    from tests.faults_support import start_groups_at_end

    transactions = Transactions()
    guarded: list[bool] = []

    async def handler(batch, tx):
        await tx.db["lookups"].find_one({}, session=tx.session)
        if computes:
            async with tx.computing():
                try:
                    tx.session  # noqa: B018 - busy with the inbox write, if one is pending (first deliveries)
                    guarded.append(False)
                except RuntimeError as exc:
                    guarded.append("no database call" in str(exc))
                async for _ in paced(batch, every=1):
                    pass
        for item in batch:  # applied twice, a message would count 2
            await tx.db["handled"].update_one({"_id": item.message.claim_id}, {"$inc": {"n": 1}}, upsert=True,
                                              session=tx.session)
            transactions.handled(item.message.claim_id)
        return []

    def build(settings, **overrides):
        client = mongo_client(settings.mongodb_uri, "computing-test", event_listeners=[transactions])
        runtime = Runtime.build(settings, client=client, **overrides)
        runtime.consume(CLAIMS_REQUESTS, handler, inbox_while_computing=True)
        return runtime

    def withdrawn(claim: str) -> ClaimWithdrawn:
        return ClaimWithdrawn.create(actor=actor("brand", Role.BRAND_OWNER), occurred_at=NOW, claim_id=claim,
                                     claimant_organisation_id="brand", reason="test")

    first, second, last = (withdrawn(unique("claim")) for _ in range(3))
    settings = service_settings(CertificatesSettings, stack, service_name=f"computing-test-{computes}")
    await start_groups_at_end(stack.kafka_bootstrap, settings, topics=[CLAIMS_REQUESTS.name])
    async with running(build, settings) as runtime:
        await sender.send(first, key="same-partition")
        await transactions.committed(first.claim_id)
        batch = [c for c in transactions.seen if c.split()[1] in ("lookups", "inbox", "handled")]
        expected = ["find lookups", "insert inbox", "update handled"] if computes else \
            ["find lookups", "update handled", "insert inbox"]
        assert batch == expected
        assert guarded == ([True] if computes else [])
        await sender.send(first, key="same-partition")  # a replay, then new messages, on one partition
        await sender.send(second, key="same-partition")
        await sender.send(last, key="same-partition")
        await transactions.committed(last.claim_id)
        consumer = runtime.consumers[0]
        assert consumer.stats.duplicates >= 1 and consumer.stats.dead_lettered == 0
        for message in (first, second, last):
            assert (await runtime.db["handled"].find_one({"_id": message.claim_id}))["n"] == 1
            assert await runtime.db["inbox"].count_documents({"_id": str(message.event_id)}) == 1
