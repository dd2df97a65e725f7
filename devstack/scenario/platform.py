"""The scenario's view of the platform: it sends through a producer, records every topic through a
consumer, waits for answers and narrates them."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from contracts import certificates, claims, intake, ledger
from contracts.common import Envelope
from contracts.topics import BY_NAME, TOPICS, topic_for
from devstack.embedded import Endpoints

Say = Callable[[str, str], None]


class Platform:
    """The scenario's view of the platform: a producer for sending, a consumer recording every topic."""

    def __init__(self, endpoints: Endpoints, say: Say) -> None:
        self.endpoints = endpoints
        self.say = say
        self.run = uuid.uuid4().hex[:6]
        self.records: list[Envelope] = []
        self.balances: dict[str, Decimal] = {}
        self._changed = asyncio.Event()
        self._producer = AIOKafkaProducer(bootstrap_servers=endpoints.kafka_bootstrap, enable_idempotence=False,
                                          acks="all")
        self._consumer = AIOKafkaConsumer(*[t.name for t in TOPICS], bootstrap_servers=endpoints.kafka_bootstrap,
                                          group_id=f"scenario-{self.run}", auto_offset_reset="latest",
                                          enable_auto_commit=True, session_timeout_ms=6000,
                                          heartbeat_interval_ms=1000, fetch_max_wait_ms=20)
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Platform:
        await self._producer.start()
        await self._consumer.start()
        while not self._consumer.assignment():
            await asyncio.sleep(0.1)
        for tp in self._consumer.assignment():  # resolve "latest" now, before the story sends anything
            await self._consumer.position(tp)
        self._task = asyncio.create_task(self._watch())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._consumer.stop()
        await self._producer.stop()

    async def caught_up(self, topic: str, groups: tuple[str, ...], timeout: float = 60) -> None:
        """Wait until every named service (its consumer group name) has committed the end of `topic`."""
        partitions = [TopicPartition(topic, p) for p in self._consumer.partitions_for_topic(topic) or ()]
        ends = await self._consumer.end_offsets(partitions)
        deadline = asyncio.get_running_loop().time() + timeout
        for group in groups:
            # A group member that never subscribes only reads the group's committed offsets.
            reader = AIOKafkaConsumer(bootstrap_servers=self.endpoints.kafka_bootstrap, group_id=group,
                                      enable_auto_commit=False)
            await reader.start()
            try:
                while True:
                    committed = {tp: await reader.committed(tp) for tp in partitions}
                    if all(not end or (committed[tp] or 0) >= end for tp, end in ends.items()):
                        break
                    if asyncio.get_running_loop().time() > deadline:
                        raise TimeoutError(f"{group} still behind on {topic}")
                    await asyncio.sleep(0.2)
            finally:
                await reader.stop()

    async def send(self, message: Envelope) -> Envelope:
        topic = topic_for(message)
        await self._producer.send_and_wait(topic.name, topic.encode(message), key=topic.key_of(message).encode())
        return message

    async def _watch(self) -> None:
        while True:
            batch = await self._consumer.getmany(timeout_ms=200)
            for tp, records in batch.items():
                for record in records:
                    try:
                        message = BY_NAME[tp.topic].parse(record.value)
                    except Exception:  # noqa: BLE001 - not ours to judge here
                        continue
                    self.records.append(message)
                    self._narrate(message)
            if batch:
                self._changed.set()

    async def wait_for(self, kind: type | tuple[type, ...], where: Callable[[Any], bool], timeout: float = 60) -> Any:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            for message in self.records:
                if isinstance(message, kind) and where(message):
                    return message
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise TimeoutError(f"no {kind} arrived in {timeout:.0f} s")
            self._changed.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.5))

    def _narrate(self, m: Envelope) -> None:
        say = self.say
        if isinstance(m, certificates.CertificateChanged):
            c = m.certificate
            say("certificates", f"{c.certificate_number} {m.change.value}: {c.organisation_id} {c.standard.value} "
                                f"status={c.status.value} valid until {c.valid_until}"
                                + (f" ({m.reason})" if m.reason else ""))
        elif isinstance(m, certificates.CertificateInputRejected):
            say("certificates", f"refused {m.rejected_event_type}: {_reasons(m.reasons)}")
        elif isinstance(m, intake.PlantEventRejected):
            say("intake", f"refused {m.rejected_event_type} at {m.site_id}: {_reasons(m.reasons)}")
        elif isinstance(m, intake.PlantEventHeld):
            say("intake", f"holding an event at {m.site_id}: {_reasons(m.waiting_for)}")
        elif isinstance(m, ledger.LedgerEntryPosted):
            self.balances[m.entry.account_id] = m.entry.balance_after_kg
        elif isinstance(m, ledger.CoCDocumentIssued):
            d = m.document
            say("accounting", f"CoC Document {d.document_id}: {d.coc_mass_kg} kg {d.material_category.value} "
                              f"{d.issuer_site_id} -> {d.recipient_organisation_id} ({d.rule_set_id})")
        elif isinstance(m, ledger.DesignationRefused):
            say("accounting", f"designation refused at {m.site_id} ({m.requested_coc_kg} kg asked, "
                              f"{m.available_coc_kg} kg available): {_reasons(m.reasons)}")
        elif isinstance(m, ledger.AccountFrozen | ledger.AccountThawed):
            say("accounting", f"{m.type.replace('_', ' ')}: {m.account_id} ({m.reason})")
        elif isinstance(m, ledger.AllocationGranted | ledger.AllocationRefused):
            detail = f"{m.mass_kg} kg" if isinstance(m, ledger.AllocationGranted) else _reasons(m.reasons)
            say("accounting", f"{m.type.replace('_', ' ')} for claim {m.claim_id}: {detail}")
        elif isinstance(m, ledger.ClaimMassDebited | ledger.ClaimMassReturned):
            say("accounting", f"{m.type.replace('_', ' ')} for claim {m.claim_id}: {m.mass_kg} kg")
        elif isinstance(m, claims.ClaimApproved):
            say("claims", f"claim {m.claim_id} APPROVED, code {m.approval_code}, valid until {m.valid_until}")
        elif isinstance(m, claims.ClaimRejected | claims.ClaimRevoked | claims.ClaimExpired):
            say("claims", f"claim {m.claim_id} {m.type.removeprefix('claim_').upper()}: {_reasons(m.reasons)}")
        elif isinstance(m, claims.ClaimAwaitingReview):
            say("claims", f"claim {m.claim_id} passed every check, its mass reserved: awaiting the secretariat's review")
        elif isinstance(m, claims.ClaimPending):
            say("claims", f"claim {m.claim_id} pending: {m.waiting_for}")

    def show_balances(self) -> None:
        if self.balances:
            rows = ", ".join(f"{account} {(balance / 1000).quantize(Decimal('0.001'))} t"
                             for account, balance in sorted(self.balances.items()))
            self.say("scenario", f"balances: {rows}")


def _reasons(reasons: list[Any]) -> str:
    return "; ".join(f"{r.code}: {r.message}" for r in reasons)
