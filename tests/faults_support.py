"""Machinery of the fault tests (tests/integration/test_faults_*.py).

* `Chain`: producers with one site each (bauxite mines, alumina refineries), their registry entries and
  CoC certificates, published on certificates.events.v1 as the certificates service would.
* `Journey`: a seeded stream of plant events in phases (mine, ship with designations, receive against the
  CoC Documents issued, refine, ship alumina), and its `Reference` outcome computed with the pure intake
  and accounting domains. Every account belongs to one site, so every account's movements travel on one
  partition in the order they were sent: whatever the interleaving across partitions, the batching, the
  crashes or the duplicates, the books must come out entry for entry, hash for hash, as the reference.
* `Tally`: what the topics carried for one run (answers to plant events, ledger entries, refusals,
  documents, dead letters), read incrementally from the session recorder.
* `ServiceProcess`: a service as a child process (`python -m services.<name>`) that a test can kill -9.
* `Harness`: plays a phase, waits (polling the database and the tally, with a deadline) until the pipeline
  has answered it, and compares everything with the reference.
* `FaultStack`: every fault test runs on an embedded broker and database of its own (the thousands of
  messages stay out of the session's topics, and the database can be restarted), whose database reaps a
  dead client's open transaction after a few seconds instead of a minute (see `TRANSACTION_LIFETIME_S`).
  Reproduce a run with `FAULT_SEED=<n>`; the seed picks the journey and the kill moments.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.partitioner import murmur2
from pymongo.errors import PyMongoError

from contracts.certificates import (
    CertificateChange,
    CertificateChanged,
    MemberRegistered,
    SiteRegistered,
)
from contracts.common import (
    Activity,
    Actor,
    DueDiligenceStatus,
    Envelope,
    MassUnit,
    MaterialCategory,
    ProcessStep,
    Role,
    Standard,
)
from contracts.deadletter import DeadLetter
from contracts.intake import PlantEventHeld, PlantEventRejected
from contracts.ledger import (
    CoCDocument,
    CoCDocumentIssued,
    DesignationRefused,
    LedgerEntryPosted,
    MovementRefused,
)
from contracts.movements import (
    MaterialReceivedRecorded,
    MaterialShippedRecorded,
    MaterialTransformedRecorded,
    MovementCancelled,
)
from contracts.plant import (
    MaterialReceived,
    MaterialShipped,
    MaterialTransformed,
    PlantLine,
)
from contracts.registry import (
    Certificate,
    CertificateScope,
    CertificateStatus,
    ConversionFactor,
    Member,
    MembershipClass,
    ScopeLevel,
    Site,
)
from contracts.topics import ALL_TOPIC_NAMES, topic_for
from devstack import embedded
from devstack.embedded import EmbeddedStack, Endpoints, ensure_topics
from libs.mongo import database, mongo_client
from services.accounting.domain import ledger as books
from services.intake.adapters import messages as intake_messages
from services.intake.domain.intake import Intake
from services.intake.domain.outcomes import Accepted, Held, Refused
from services.intake.domain.model import DocumentState, World
from services.intake.domain.rules import IntakeRules
from libs.settings import ServiceSettings
from tests import failpoint
from tests.support import Sender, TopicRecorder, consumed_topics
from libs.kafka import refresh_metadata

CERTIFICATES = Actor(organisation_id="certificates", role=Role.SERVICE)
PARTITIONS = 4
MOVEMENTS = (MaterialReceivedRecorded, MaterialTransformedRecorded, MaterialShippedRecorded, MovementCancelled)
LedgerState = dict[str, tuple[Decimal, int, str]]
"""Per account: balance, sequence of the last entry, hash of the last entry."""


def partition_of(key: str, partitions: int = PARTITIONS) -> int:
    """The partition the producer's default partitioner picks for a key (murmur2, as Kafka's Java client)."""
    return (murmur2(key.encode()) & 0x7FFFFFFF) % partitions


def spread_ids(prefix: str, count: int, partitions: int = PARTITIONS) -> list[str]:
    """`count` ids whose partitions cycle through every partition, so a stream of them uses all of them."""
    ids: list[str] = []
    n = 0
    while len(ids) < count:
        candidate = f"{prefix}-{n}"
        n += 1
        if partition_of(candidate, partitions) == len(ids) % partitions:
            ids.append(candidate)
    return ids


def tonnes(rng: random.Random, low: float, high: float) -> Decimal:
    """A mass in tonnes with up to three decimals (kilogram resolution)."""
    return Decimal(rng.randint(int(low * 1000), int(high * 1000))).scaleb(-3)


def interleave(streams: Sequence[Sequence[Any]], rng: random.Random) -> list[Any]:
    """A random merge of the streams that keeps the order inside each (what partitions guarantee)."""
    cursors = [0] * len(streams)
    remaining = sum(len(s) for s in streams)
    out: list[Any] = []
    while remaining:
        pick = rng.randrange(remaining)
        for i, stream in enumerate(streams):
            left = len(stream) - cursors[i]
            if pick < left:
                out.append(stream[cursors[i]])
                cursors[i] += 1
                break
            pick -= left
        remaining -= 1
    return out


# ---- the chain ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Producer:
    org: str
    site: str
    activity: Activity
    step: ProcessStep
    factor: Decimal

    @property
    def actor(self) -> Actor:
        return Actor(organisation_id=self.org, role=Role.PRODUCER)

    @property
    def account(self) -> str:
        # the default rule set (V2-2022) pools per CoC certification scope (named after its certificate)
        return f"group:{self.org}/cert-{self.org}"


class Chain:
    """Bauxite mines and alumina refineries, one site per organisation, each CoC certified."""

    def __init__(self, mines: int = 4, refineries: int = 4) -> None:
        self.run = uuid.uuid4().hex[:8]
        sites = spread_ids(f"site-{self.run}", mines + refineries)
        self.mines = [Producer(f"mine-{self.run}-{i}", sites[i], Activity.MINING, ProcessStep.MINING, Decimal(1))
                      for i in range(mines)]
        self.refineries = [
            Producer(f"refinery-{self.run}-{i}", sites[mines + i], Activity.ALUMINA_REFINING,
                     ProcessStep.BAUXITE_TO_ALUMINA, Decimal("0.45"))
            for i in range(refineries)
        ]
        self.trader = f"trader-{self.run}"
        """A bauxite trader that is not on the platform: refineries buy non-CoC bauxite from it."""
        self.smelter = f"smelter-{self.run}"
        """The refineries' customer (not on the platform: it only receives)."""

    @property
    def producers(self) -> list[Producer]:
        return self.mines + self.refineries

    @property
    def accounts(self) -> list[str]:
        return [p.account for p in self.producers]

    def site(self, producer: Producer) -> Site:
        return Site(site_id=producer.site, organisation_id=producer.org, name=f"Site of {producer.org}", country="AU",
                    activities=[producer.activity],
                    conversion_factors=[ConversionFactor(process_step=producer.step, factor=producer.factor)])

    def certificate(self, producer: Producer) -> Certificate:
        return Certificate(
            certificate_id=f"cert-{producer.org}", certificate_number=f"ASI-COC-{producer.org}",
            organisation_id=producer.org, standard=Standard.CHAIN_OF_CUSTODY, standard_version="V2-2022",
            status=CertificateStatus.ACTIVE, provisional=False,
            scope=CertificateScope(level=ScopeLevel.FACILITY, site_ids=[producer.site], activities=[producer.activity]),
            certification_body_id="cb-faults", audit_id=f"audit-{producer.org}", issued_on=date(2025, 1, 1),
            valid_from=date(2025, 1, 1), valid_until=date(2027, 12, 31), revision=1,
            updated_at=datetime(2025, 1, 1, tzinfo=UTC),
        )

    def ps_certificate(self, producer: Producer) -> Certificate:
        """Designating needs a current Performance Standard certificate beside the CoC one."""
        return self.certificate(producer).model_copy(update={
            "certificate_id": f"ps-{producer.org}", "certificate_number": f"ASI-PS-{producer.org}",
            "standard": Standard.PERFORMANCE_STANDARD, "standard_version": "V3-2022"})

    def registry_messages(self) -> list[Envelope]:
        """What the certificates service would have published about these producers."""
        at = datetime(2025, 1, 1, tzinfo=UTC)
        out: list[Envelope] = []
        for p in self.producers:
            out.append(MemberRegistered.create(actor=CERTIFICATES, occurred_at=at, member=Member(
                organisation_id=p.org, name=p.org, membership_class=MembershipClass.PRODUCTION_AND_TRANSFORMATION,
                joined_on=date(2024, 1, 1))))
            out.append(SiteRegistered.create(actor=CERTIFICATES, occurred_at=at, site=self.site(p)))
            out.append(CertificateChanged.create(actor=CERTIFICATES, occurred_at=at, change=CertificateChange.ISSUED,
                                                 certificate=self.certificate(p)))
            out.append(CertificateChanged.create(actor=CERTIFICATES, occurred_at=at, change=CertificateChange.ISSUED,
                                                 certificate=self.ps_certificate(p)))
        return out


# ---- the reference outcome: the pure domains, applied in order --------------------------------------


@dataclass
class Snapshot:
    accounts: LedgerState
    entries: dict[tuple[str, int], str]
    answers: dict[uuid.UUID, str]
    reasons: dict[uuid.UUID, set[str]]
    designations_refused: set[uuid.UUID]
    documents: set[str]


class Reference:
    """The outcome of the journey as the pure domains decide it, one event after the other."""

    def __init__(self, chain: Chain) -> None:
        self.chain = chain
        self.world = World(
            sites={p.site: chain.site(p) for p in chain.producers},
            members={p.org for p in chain.producers},
            certificates={p.org: [chain.certificate(p), chain.ps_certificate(p)] for p in chain.producers},
        )
        self.intake = Intake(self.world, IntakeRules())
        self.ledger = books.Ledger(certificates=[c for p in chain.producers
                                                 for c in (chain.certificate(p), chain.ps_certificate(p))])
        self.answers: dict[uuid.UUID, str] = {}
        self.reasons: dict[uuid.UUID, set[str]] = {}
        self.documents: dict[str, CoCDocument] = {}
        self.designations_refused: set[uuid.UUID] = set()
        self.movements_refused: set[uuid.UUID] = set()
        self.events: dict[uuid.UUID, Any] = {}

    def entry(self, account_id: str, sequence: int) -> Any:
        return next((e for e in self.ledger.entries if e.account_id == account_id and e.sequence == sequence), None)

    def apply(self, events: Iterable[Any]) -> None:
        now = datetime.now(UTC)
        for event in events:
            self.events[event.event_id] = event
            outcome = self.intake.apply(event, now)
            if isinstance(outcome, Held):
                raise AssertionError(f"the journey generator made an event that waits: {event}")  # noqa: TRY004
            if isinstance(outcome, Refused):
                self.answers[event.event_id] = "refused"
                self.reasons[event.event_id] = {r.code for r in outcome.reasons}
                continue
            assert isinstance(outcome, Accepted)
            self.answers[event.event_id] = "accepted"
            for result in self.ledger.apply(intake_messages.movement(outcome, now), now):  # type: ignore[arg-type]
                if isinstance(result, books.DocumentDue):
                    self.documents[result.document.document_id] = result.document
                    self.world.documents[result.document.document_id] = DocumentState(result.document)
                elif isinstance(result, books.DesignationDenied):
                    self.designations_refused.add(result.movement_id)
                elif isinstance(result, books.MovementDenied):
                    self.movements_refused.add(result.movement_id)

    def snapshot(self) -> Snapshot:
        accounts = {a.account_id: (a.balance, a.sequence, a.last_hash) for a in self.ledger.accounts.values()}
        entries = {(e.account_id, e.sequence): e.hash for e in self.ledger.entries}
        return Snapshot(accounts, entries, dict(self.answers), {k: set(v) for k, v in self.reasons.items()},
                        set(self.designations_refused), set(self.documents))


@dataclass
class Phase:
    name: str
    events: list[Any]
    expected: Snapshot
    documents_needed: list[str] = field(default_factory=list)
    """CoC Documents the phase's receipts cite: intake must know them before the phase is sent."""

    def by_site(self) -> dict[str, list[Any]]:
        streams: dict[str, list[Any]] = {}
        for event in self.events:
            streams.setdefault(event.site_id, []).append(event)
        return streams


class Journey:
    """A seeded stream of realistic plant events, in three phases, with the reference after each.

    A: mines mine bauxite (CoC Material originates: the mines are certified) and ship it to the refineries,
       designating part of it (some designations overdraw and are refused); refineries buy non-CoC bauxite
       with due diligence (a few fail it); a few events are invalid (refused by intake).
    B: each refinery receives the shipments sent to it citing the CoC Documents issued in A, sometimes in
       two deliveries, sometimes once too often (refused: the document is fully received).
    C: refineries refine bauxite to alumina (credits follow the metal at 0.45) and ship alumina with
       designations (the percentage rule and the credits decide); mines go on mining and shipping.
    """

    def __init__(self, chain: Chain, seed: int, *, mine_events: int = 200, refinery_events: int = 60,
                 later_events: int = 100, generate: bool = True) -> None:
        self.chain = chain
        self.rng = random.Random(seed)
        self.reference = Reference(chain)
        self.shipments: dict[uuid.UUID, MaterialShipped] = {}
        self.refs = 0
        self.phases: list[Phase] = []
        if generate:
            self._add("A", self._phase_a(mine_events, refinery_events))
            documents = [d for d in sorted(self.reference.documents) if self._shipped_to_refinery(d)]
            self._add("B", self._phase_b(documents), documents)
            self._add("C", self._phase_c(later_events))

    @property
    def events(self) -> list[Any]:
        return [e for p in self.phases for e in p.events]

    def add(self, name: str, events: Sequence[Any], documents: list[str] | None = None) -> Phase:
        """A phase of the given events (in this order), applied to the reference."""
        self.reference.apply(events)
        phase = Phase(name, list(events), self.reference.snapshot(), documents or [])
        self.phases.append(phase)
        return phase

    def _add(self, name: str, streams: list[list[Any]], documents: list[str] | None = None) -> None:
        self.add(name, interleave([s for s in streams if s], self.rng), documents)

    def _shipped_to_refinery(self, document_id: str) -> bool:
        document = self.reference.documents[document_id]
        return document.issuer_organisation_id in {m.org for m in self.chain.mines}

    def _reference(self) -> str:
        self.refs += 1
        return f"DN-{self.chain.run}-{self.refs:05d}"

    # ---- event builders -------------------------------------------------------------------------

    def mine(self, p: Producer, day: date, q: Decimal) -> MaterialTransformed:
        return MaterialTransformed.create(
            actor=p.actor, occurred_at=datetime.now(UTC), site_id=p.site, transformed_on=day,
            process_step=ProcessStep.MINING,
            inputs=[PlantLine(material_category=MaterialCategory.BAUXITE, product_form="ore", quantity=q,
                              unit=MassUnit.TONNE)],
            outputs=[PlantLine(material_category=MaterialCategory.BAUXITE, product_form="crushed", quantity=q,
                               unit=MassUnit.TONNE)],
        )

    def ship(self, p: Producer, day: date, customer: str, customer_site: str | None, category: MaterialCategory,
             form: str, q: Decimal, coc: Decimal, unit: MassUnit = MassUnit.TONNE) -> MaterialShipped:
        event = MaterialShipped.create(
            actor=p.actor, occurred_at=datetime.now(UTC), site_id=p.site, shipped_on=day,
            customer_organisation_id=customer, customer_site_id=customer_site, material_category=category,
            product_form=form, quantity=q, unit=unit, coc_quantity=coc, shipment_reference=self._reference(),
        )
        self.shipments[event.event_id] = event
        return event

    def buy(self, p: Producer, day: date, q: Decimal, status: DueDiligenceStatus,
            unit: MassUnit = MassUnit.TONNE) -> MaterialReceived:
        return MaterialReceived.create(
            actor=p.actor, occurred_at=datetime.now(UTC), site_id=p.site, received_on=day,
            supplier_organisation_id=self.chain.trader, material_category=MaterialCategory.BAUXITE,
            product_form="crushed", quantity=q, unit=unit, due_diligence_reference=f"DD-{self.chain.run}-{self.refs}",
            due_diligence_status=status,
        )

    def receive(self, p: Producer, day: date, document: CoCDocument, q: Decimal) -> MaterialReceived:
        return MaterialReceived.create(
            actor=p.actor, occurred_at=datetime.now(UTC), site_id=p.site, received_on=day,
            supplier_organisation_id=document.issuer_organisation_id, supplier_site_id=document.issuer_site_id,
            material_category=document.material_category, product_form=document.product_form, quantity=q,
            unit=MassUnit.TONNE, coc_document_id=document.document_id,
        )

    def refine(self, p: Producer, day: date, q: Decimal) -> MaterialTransformed:
        out = (q * p.factor).quantize(Decimal("0.001"), rounding="ROUND_FLOOR")
        return MaterialTransformed.create(
            actor=p.actor, occurred_at=datetime.now(UTC), site_id=p.site, transformed_on=day,
            process_step=p.step,
            inputs=[PlantLine(material_category=MaterialCategory.BAUXITE, product_form="crushed", quantity=q,
                              unit=MassUnit.TONNE)],
            outputs=[PlantLine(material_category=MaterialCategory.ALUMINA, product_form="smelter-grade", quantity=out,
                               unit=MassUnit.TONNE)],
        )

    # ---- phases ---------------------------------------------------------------------------------

    def _mine_stream(self, p: Producer, count: int, start: date) -> list[Any]:
        rng, out = self.rng, []
        for i in range(count):
            day = start + timedelta(days=i // 5)
            roll = rng.random()
            if roll < 0.35:
                out.append(self.mine(p, day, tonnes(rng, 30, 180)))
            elif roll < 0.97:
                buyer = rng.choice(self.chain.refineries)
                q = tonnes(rng, 20, 300)
                coc = Decimal(0) if rng.random() < 0.4 else (q * Decimal(rng.randint(300, 1000)) / 1000).quantize(
                    Decimal("0.001"))
                if rng.random() < 0.1:  # some producers report in kilograms
                    out.append(self.ship(p, day, buyer.org, buyer.site, MaterialCategory.BAUXITE, "crushed",
                                         q * 1000, coc * 1000, MassUnit.KG))
                else:
                    out.append(self.ship(p, day, buyer.org, buyer.site, MaterialCategory.BAUXITE, "crushed", q, coc))
            else:  # a typo: more CoC than shipped (intake refuses it)
                buyer = rng.choice(self.chain.refineries)
                q = tonnes(rng, 20, 300)
                out.append(self.ship(p, day, buyer.org, buyer.site, MaterialCategory.BAUXITE, "crushed", q, q + 1))
        return out

    def _phase_a(self, mine_events: int, refinery_events: int) -> list[list[Any]]:
        streams = [self._mine_stream(p, mine_events, date(2026, 1, 5)) for p in self.chain.mines]
        for p in self.chain.refineries:
            stream = []
            for i in range(refinery_events):
                day = date(2026, 1, 5) + timedelta(days=i // 2)
                roll = self.rng.random()
                status = (DueDiligenceStatus.PASSED if roll < 0.85 else
                          DueDiligenceStatus.IN_PROGRESS if roll < 0.95 else DueDiligenceStatus.FAILED)
                stream.append(self.buy(p, day, tonnes(self.rng, 100, 600), status))
            streams.append(stream)
        return streams

    def _phase_b(self, documents: list[str]) -> list[list[Any]]:
        by_site: dict[str, list[Any]] = {p.site: [] for p in self.chain.refineries}
        refinery = {p.site: p for p in self.chain.refineries}
        for n, document_id in enumerate(documents):
            document = self.reference.documents[document_id]
            shipment = self.shipments[document.movement_id]
            shipped_t = shipment.quantity / 1000 if shipment.unit is MassUnit.KG else shipment.quantity
            p = refinery[document.recipient_site_id or ""]
            day = date(2026, 5, 1) + timedelta(days=n // 20)
            roll = self.rng.random()
            if roll < 0.75:
                by_site[p.site].append(self.receive(p, day, document, shipped_t))
            elif roll < 0.95:  # two deliveries
                first = (shipped_t * Decimal("0.6")).quantize(Decimal("0.001"))
                by_site[p.site].append(self.receive(p, day, document, first))
                by_site[p.site].append(self.receive(p, day + timedelta(days=1), document, shipped_t - first))
            else:  # received once too often: the second is refused (the document is fully received)
                by_site[p.site].append(self.receive(p, day, document, shipped_t))
                by_site[p.site].append(self.receive(p, day, document, shipped_t))
        return list(by_site.values())

    def _phase_c(self, count: int) -> list[list[Any]]:
        streams = [self._mine_stream(p, count, date(2026, 7, 1)) for p in self.chain.mines]
        for p in self.chain.refineries:
            stream = []
            for i in range(count):
                day = date(2026, 7, 1) + timedelta(days=i // 4)
                if self.rng.random() < 0.4:
                    stream.append(self.refine(p, day, tonnes(self.rng, 50, 400)))
                else:
                    q = tonnes(self.rng, 10, 150)
                    coc = Decimal(0) if self.rng.random() < 0.3 else (
                        q * Decimal(self.rng.randint(100, 1000)) / 1000).quantize(Decimal("0.001"))
                    stream.append(self.ship(p, day, self.chain.smelter, None, MaterialCategory.ALUMINA,
                                            "smelter-grade", q, coc))
            streams.append(stream)
        return streams


# ---- what the topics carried --------------------------------------------------------------------


class Tally:
    """Everything the session recorder saw about one run, deduplicated by event id, read incrementally."""

    def __init__(self, recorder: Any, run: str) -> None:
        self.recorder = recorder
        self.run = run
        self._seen = 0
        self._ids: set[uuid.UUID] = set()
        self.movements: dict[uuid.UUID, set[uuid.UUID]] = {}
        """Plant event id -> event ids of the movements published for it (one, however often delivered)."""
        self.movement_records: list[Any] = []
        self.rejected: dict[uuid.UUID, set[str]] = {}
        self.rejection_ids: dict[uuid.UUID, set[uuid.UUID]] = {}
        self.held: set[uuid.UUID] = set()
        self.entries: dict[tuple[str, int], set[str]] = {}
        self.designations_refused: dict[uuid.UUID, set[str]] = {}
        self.movements_refused: set[uuid.UUID] = set()
        self.documents: set[str] = set()
        self.document_records: list[Any] = []
        self.dead: list[DeadLetter] = []

    def _mine(self, value: str | None) -> bool:
        return value is not None and self.run in value

    def update(self) -> Tally:
        records = self.recorder.records
        end = len(records)
        for record in records[self._seen:end]:
            m = record.message
            if isinstance(m, DeadLetter):
                if self.run in m.payload or self._mine(m.key):
                    self.dead.append(m)
                continue
            if not isinstance(m, Envelope):
                continue
            first = m.event_id not in self._ids
            self._ids.add(m.event_id)
            if isinstance(m, MOVEMENTS):
                if self._mine(m.site_id):
                    self.movements.setdefault(m.movement_id, set()).add(m.event_id)
                    if first:
                        self.movement_records.append(record)
            elif isinstance(m, PlantEventRejected):
                if self._mine(m.site_id):
                    self.rejected.setdefault(m.rejected_event_id, set()).update(r.code for r in m.reasons)
                    self.rejection_ids.setdefault(m.rejected_event_id, set()).add(m.event_id)
            elif isinstance(m, PlantEventHeld):
                if self._mine(m.site_id):
                    self.held.add(m.held_event_id)
            elif isinstance(m, LedgerEntryPosted):
                if self._mine(m.entry.account_id):
                    self.entries.setdefault((m.entry.account_id, m.entry.sequence), set()).add(m.entry.hash)
            elif isinstance(m, DesignationRefused):
                if self._mine(m.account_id):
                    self.designations_refused.setdefault(m.movement_id, set()).update(r.code for r in m.reasons)
            elif isinstance(m, MovementRefused):
                if self._mine(m.account_id):
                    self.movements_refused.add(m.movement_id)
            elif isinstance(m, CoCDocumentIssued) and self._mine(m.account_id):
                self.documents.add(m.document.document_id)
                if first:
                    self.document_records.append(record)
        self._seen = end
        return self

    def answered(self, event_id: uuid.UUID) -> bool:
        return event_id in self.movements or event_id in self.rejected


# ---- a broker and a database of the test's own ----------------------------------------------------

TRANSACTION_LIFETIME_S = float(os.environ.get("FAULT_TRANSACTION_LIFETIME_S", "5"))
"""How long the fault stacks' database keeps the open transaction of a client that died (mongod's
`transactionLifetimeLimitSeconds`, 60 s by default, which SecantusDB copies). A service killed with -9
in the middle of a batch leaves its transaction open; its successor redoes that batch and conflicts with
it (WriteConflict, retried) until the database reaps it: a minute of stall per kill with the default."""


def _boot_script(lifetime_s: float) -> str:
    marker = "from secantus.cli import main"
    assert marker in embedded._SECANTUS_BOOT, "devstack.embedded changed how it boots SecantusDB"
    patch = (
        "import secantus.server as _srv\n"
        "_init = _srv.SecantusDBServer.__init__\n"
        "def _short_lived(self, *args, **kwargs):\n"
        f"    kwargs.setdefault('transaction_lifetime_seconds', {lifetime_s!r})\n"
        "    _init(self, *args, **kwargs)\n"
        "_srv.SecantusDBServer.__init__ = _short_lived\n"
    )
    return embedded._SECANTUS_BOOT.replace(marker, patch + marker)


class FaultStack:
    """A broker and a database for one fault test (thousands of messages stay out of the session's topics,
    and the database can be restarted), with its own recorder and sender. Its database reaps a dead
    client's transaction after `TRANSACTION_LIFETIME_S`."""

    def __init__(self, log_dir: Path, transaction_lifetime_s: float = TRANSACTION_LIFETIME_S) -> None:
        self.stack = EmbeddedStack(log_dir=log_dir)
        self.boot = _boot_script(transaction_lifetime_s)
        self.recorder: TopicRecorder
        self.sender: Sender

    @property
    def endpoints(self) -> Endpoints:
        return self.stack.endpoints

    def _patched(self, action: Callable[[], Any]) -> Any:
        from unittest import mock

        with mock.patch.object(embedded, "_SECANTUS_BOOT", self.boot):
            return action()

    async def __aenter__(self) -> FaultStack:  # noqa: PYI034
        await asyncio.to_thread(self._patched, self.stack.start)
        try:
            await ensure_topics(self.endpoints.kafka_bootstrap, ALL_TOPIC_NAMES, partitions=PARTITIONS)
            self.recorder = await TopicRecorder(self.endpoints.kafka_bootstrap, ALL_TOPIC_NAMES).start()
            self.sender = await Sender(self.endpoints.kafka_bootstrap).start()
        except BaseException:
            await asyncio.to_thread(self.stack.stop)
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        with contextlib.suppress(Exception):
            await self.recorder.stop()
        with contextlib.suppress(Exception):
            await self.sender.stop()
        await asyncio.to_thread(self.stack.stop)

    async def stop_mongo(self) -> None:
        await asyncio.to_thread(self.stack.stop_mongo)

    async def start_mongo(self) -> None:
        await asyncio.to_thread(self._patched, self.stack.start_mongo)


# ---- consumer groups ---------------------------------------------------------------------------


async def start_groups_at_end(bootstrap: str, *services: ServiceSettings, topics: Sequence[str] = ()) -> None:
    """Commit the current end offsets of every topic each service reads (or of `topics`) for its (new)
    consumer group, so the services start with what this test sends and not with the session's history."""
    for settings in services:
        topic_names = topics or consumed_topics(settings.service_name)
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=settings.group_id, enable_auto_commit=False)
        await consumer.start()
        try:
            tps = []
            for name in topic_names:
                partitions = consumer.partitions_for_topic(name)
                if not partitions:
                    await refresh_metadata(consumer)
                    partitions = consumer.partitions_for_topic(name) or set()
                tps += [TopicPartition(name, p) for p in sorted(partitions)]
            consumer.assign(tps)
            ends = await consumer.end_offsets(tps)
            await consumer.commit({tp: ends[tp] for tp in tps})
        finally:
            await consumer.stop()


async def group_members(bootstrap: str, group_id: str) -> int:
    """How many members the broker lists in a consumer group (DescribeGroups). Both brokers list the
    members; only Apache Kafka also returns each member's assignment (tansu leaves it empty)."""
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="fault-test-admin")
    await admin.start()
    try:
        [response] = await admin.describe_consumer_groups([group_id])
    finally:
        await admin.close()
    [group] = response.to_object()["groups"]
    return len(group["members"])


async def uncommitted_records(bootstrap: str, group_id: str, topic: str) -> dict[int, int | None]:
    """Per partition of `topic`: how many records lie at or past the group's committed offset (None: the
    group never committed there), found by reading from that offset, not from the broker's end offset:
    tansu can report a partition's end a few records short when two producers wrote it at once
    (ListOffsets said 996 for 1,000 records read back, offsets 0-999), which Apache Kafka never does."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group_id, enable_auto_commit=False,
                                fetch_max_wait_ms=100)
    await consumer.start()  # never subscribes: reads the group's committed offsets, then the records after
    try:
        partitions = consumer.partitions_for_topic(topic)
        if not partitions:
            await refresh_metadata(consumer)
            partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        committed = {tp: await consumer.committed(tp) for tp in tps}
        readable = [tp for tp in tps if committed[tp] is not None]
        left: dict[int, int | None] = {tp.partition: None if committed[tp] is None else 0 for tp in tps}
        consumer.assign(readable)
        for tp in readable:
            consumer.seek(tp, committed[tp])  # type: ignore[arg-type]
        empty_polls = 0
        while readable and empty_polls < 3:
            batch = await consumer.getmany(timeout_ms=300)
            empty_polls = 0 if batch else empty_polls + 1
            for tp, records in batch.items():
                left[tp.partition] = (left[tp.partition] or 0) + len(records)
        return left
    finally:
        await consumer.stop()


# ---- publishing in bulk ------------------------------------------------------------------------


async def publish(producer: AIOKafkaProducer, items: Sequence[Envelope | tuple[str, bytes, bytes]], *,
                  rate: float | None = None, window: int = 200) -> None:
    """Send messages (or raw (topic, key, value) triples) in order, `window` in flight, at most `rate` a second."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    pending: list[asyncio.Future[Any]] = []
    for i, item in enumerate(items):
        if isinstance(item, tuple):
            topic_name, key, value = item
        else:
            topic = topic_for(item)
            topic_name, key, value = topic.name, topic.key_of(item).encode(), topic.encode(item)
        pending.append(await producer.send(topic_name, value, key=key))
        if len(pending) >= window:
            await asyncio.gather(*pending)
            pending.clear()
        if rate:
            ahead = (i + 1) / rate - (loop.time() - started)
            if ahead > 0:
                await asyncio.sleep(ahead)  # pacing the producer, not waiting for an outcome
    await asyncio.gather(*pending)


# ---- services as processes ---------------------------------------------------------------------


def _die_with_parent() -> None:
    """Child side: SIGKILL when the test process dies, so no service outlives a crashed test run."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL), 0, 0, 0)


class ServiceProcess:
    """`python -m services.<name>` with a test's settings, logging to a file; killable with -9."""

    def __init__(self, name: str, module: str, prefix: str, settings: Any, log_dir: Path,
                 env: dict[str, str] | None = None) -> None:
        self.name, self.module, self.prefix, self.settings = name, module, prefix, settings
        self.log_path = log_dir / f"{name}.log"
        self.env = env or {}
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.armed = False

    def _environment(self, extra: dict[str, str]) -> dict[str, str]:
        p, s = self.prefix, self.settings
        return {
            **os.environ,
            f"{p}_KAFKA_BOOTSTRAP_SERVERS": s.kafka_bootstrap_servers,
            f"{p}_MONGODB_URI": s.mongodb_uri,
            f"{p}_DATABASE": s.database,
            f"{p}_CONSUMER_GROUP": s.consumer_group,
            f"{p}_KAFKA_IDEMPOTENT_PRODUCER": str(s.kafka_idempotent_producer).lower(),
            f"{p}_KAFKA_SESSION_TIMEOUT_MS": "2000",
            f"{p}_KAFKA_HEARTBEAT_INTERVAL_MS": "300",
            f"{p}_KAFKA_FETCH_MAX_WAIT_MS": "20",
            f"{p}_BATCH_TIMEOUT_MS": "10",
            f"{p}_RELAY_ORPHAN_AFTER_S": "1",
            f"{p}_RELAY_INTERVAL_S": "0.2",
            f"{p}_LOG_FORMAT": "json",
            f"{p}_LOG_LEVEL": "WARNING",
            **self.env,
            **extra,
        }

    def start(self, **extra: str) -> ServiceProcess:
        assert not self.alive, f"{self.name} is already running"
        self.armed = any(k.endswith("_FAILPOINT") for k in extra)
        with open(self.log_path, "ab") as log:
            log.write(f"\n===== start {self.starts + 1} {extra or ''}\n".encode())
            log.flush()
            preexec = _die_with_parent if sys.platform.startswith("linux") else None
            point = next((v for k, v in extra.items() if k.endswith("_FAILPOINT")), None)
            self.proc = subprocess.Popen(failpoint.command(self.module, point), env=self._environment(extra),
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                         preexec_fn=preexec)  # noqa: PLW1509 - forked from the loop's thread
        self.starts += 1
        return self

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def returncode(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    async def kill(self) -> None:
        """kill -9, and reap it."""
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(signal.SIGKILL)
        await asyncio.to_thread(self.proc.wait)

    async def terminate(self, timeout: float = 20.0) -> int:
        """SIGTERM (a graceful stop); SIGKILL if it does not stop in time. Returns the exit code."""
        assert self.proc is not None
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(self.proc.wait, timeout)
            except subprocess.TimeoutExpired:
                await self.kill()
        return self.proc.returncode

    def tail(self, size: int = 3000) -> str:
        try:
            with open(self.log_path, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - size))
                return f.read().decode(errors="replace")
        except OSError as exc:
            return f"<no log: {exc}>"

    async def stats(self, port: int) -> dict[str, Any] | None:
        """The /ready answer of the health endpoint (consumer statistics), None when it does not answer."""
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 2)
            writer.write(b"GET /ready HTTP/1.1\r\nHost: x\r\n\r\n")
            await writer.drain()
            raw = await asyncio.wait_for(reader.read(), 5)
            writer.close()
            return json.loads(raw.split(b"\r\n\r\n", 1)[1])
        except (TimeoutError, OSError, ValueError, IndexError):
            return None


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---- the harness ---------------------------------------------------------------------------------


class Harness:
    """Plays a journey against running services and checks each phase against the reference."""

    def __init__(self, journey: Journey, tally: Tally, producer: AIOKafkaProducer, mongodb_uri: str,
                 intake_db: str, accounting_db: str, *, watch: Callable[[], Awaitable[None]] | None = None) -> None:
        self.journey = journey
        self.chain = journey.chain
        self.tally = tally
        self.producer = producer
        self.client = mongo_client(mongodb_uri, "fault-tests")
        self.intake = database(self.client, intake_db)
        self.accounting = database(self.client, accounting_db)
        self.watch = watch
        self.timeline: list[tuple[str, float]] = []
        self._t0 = time.monotonic()

    def mark(self, what: str) -> None:
        self.timeline.append((what, round(time.monotonic() - self._t0, 1)))

    async def close(self) -> None:
        await self.client.close()

    def _progress(self) -> tuple[int, int, int]:
        self.tally.update()
        return len(self.tally.movements), len(self.tally.rejected), len(self.tally.entries)

    async def _poll(self, done: Callable[[], Awaitable[bool]], timeout: float, describe: Callable[[], Awaitable[str]],
                    stall_s: float = 45.0) -> None:
        """Poll until `done`; fail at the deadline, or earlier when nothing at all moved for `stall_s`."""
        deadline = time.monotonic() + timeout
        last, moved = self._progress(), time.monotonic()
        while True:
            if self.watch is not None:
                await self.watch()
            if await done():
                return
            now, progress = time.monotonic(), self._progress()
            if progress != last:
                last, moved = progress, now
            if now > deadline or now - moved > stall_s:
                why = "timed out" if now > deadline else "no progress"
                raise AssertionError(f"{why} after {now - deadline + timeout:.0f}s: {await describe()}")
            await asyncio.sleep(0.1)  # polling database state and the recorder, with a deadline

    async def _count(self, db: Any, collection: str, ids: list[str]) -> int | None:
        try:
            return await db[collection].count_documents({"_id": {"$in": ids}})
        except PyMongoError:
            return None  # the database may be down on purpose

    async def ledger(self) -> LedgerState | None:
        """Balance, last sequence and last hash of this run's accounts, from accounting's balance documents."""
        try:
            docs = self.accounting["accounts"].find({"organisation_id": {"$in": [p.org for p in self.chain.producers]}},
                                                    {"balance": 1, "sequence": 1, "last_hash": 1})
            return {d["_id"]: (d["balance"], d["sequence"], d["last_hash"]) async for d in docs}
        except PyMongoError:
            return None

    async def registry(self, messages: Sequence[Envelope] | None = None, *, timeout: float = 60) -> None:
        """Publish the registry (unless given other copies to send) and wait until both services project it."""
        await publish(self.producer, messages if messages is not None else self.chain.registry_messages())
        sites = [p.site for p in self.chain.producers]
        orgs = [p.org for p in self.chain.producers]
        certificates = [f"cert-{o}" for o in orgs]
        ps = [f"ps-{o}" for o in orgs]  # keyed by certificate id: another partition than the CoC certificate

        async def done() -> bool:
            counts = [await self._count(self.intake, "sites", sites), await self._count(self.intake, "members", orgs),
                      await self._count(self.intake, "certificates", certificates),
                      await self._count(self.accounting, "sites", sites),
                      await self._count(self.accounting, "certificates", certificates),
                      await self._count(self.accounting, "certificates", ps)]
            return all(c == len(sites) for c in counts)

        async def describe() -> str:
            return "the registry was not projected by intake and accounting"

        await self._poll(done, timeout, describe)
        self.mark("registry projected")

    async def documents_known(self, documents: list[str], timeout: float = 90) -> None:
        """Wait until intake has projected these CoC Documents (a buyer receives once the document exists)."""
        if not documents:
            return

        async def done() -> bool:
            return await self._count(self.intake, "coc_documents", documents) == len(documents)

        async def describe() -> str:
            known = await self._count(self.intake, "coc_documents", documents)
            return (f"intake knows {known} of the {len(documents)} CoC Documents issued in the reference; "
                    f"accounting published {len(self.tally.update().documents)}; ledger: {await self.diff_text()}")

        await self._poll(done, timeout, describe)

    async def play(self, phase: Phase, *, rate: float | None = None,
                   deliveries: Sequence[Envelope | tuple[str, bytes, bytes]] | None = None, check: bool = True) -> None:
        """Send a phase (or the given deliveries of it) and wait until the pipeline answered every event."""
        await self.documents_known(phase.documents_needed)
        self.mark(f"phase {phase.name}: sending {len(phase.events)} events")
        await publish(self.producer, deliveries if deliveries is not None else phase.events, rate=rate)
        self.mark(f"phase {phase.name}: sent")
        await self.settle(phase, check=check)
        self.mark(f"phase {phase.name}: settled")

    async def settle(self, phase: Phase, timeout: float = 120, *, check: bool = True) -> None:
        expected = phase.expected

        async def done() -> bool:
            self.tally.update()
            if not all(self.tally.answered(e.event_id) for e in phase.events):
                return False
            if not all(key in self.tally.entries for key in expected.entries):
                return False
            # A CoC Document travels in the same outbox record as its debit entry, but not always in
            # the same produce batch: after a kill -9 between the two, the entry is out and the
            # document comes with the orphaned record, relayed by the other instance seconds later.
            if not expected.documents <= self.tally.documents:
                return False
            state = await self.ledger()
            if state is None:
                return False
            return all(state.get(a, (0, 0, ""))[1] >= seq for a, (_, seq, _) in expected.accounts.items())

        async def describe() -> str:
            missing = [e for e in phase.events if not self.tally.answered(e.event_id)]
            entries = [k for k in expected.entries if k not in self.tally.entries]
            return (f"phase {phase.name}: {len(missing)} of {len(phase.events)} plant events unanswered "
                    f"(e.g. {[str(e.event_id) for e in missing[:3]]}), {len(entries)} expected ledger entries not "
                    f"published (e.g. {entries[:3]}), {len(expected.documents - self.tally.documents)} CoC Documents "
                    f"not published; ledger vs reference: {await self.diff_text(expected)}")

        await self._poll(done, timeout, describe)
        if not check:
            return
        problems = await self.problems(expected)
        assert not problems, f"phase {phase.name} differs from the reference:\n" + "\n".join(problems[:30])

    async def diff_text(self, expected: Snapshot | None = None) -> str:
        expected = expected or self.journey.phases[-1].expected
        state = await self.ledger()
        if state is None:
            return "(database unreachable)"
        diffs = [f"{a}: expected {expected.accounts.get(a)}, found {state.get(a)}"
                 for a in sorted(set(expected.accounts) | set(state)) if expected.accounts.get(a) != state.get(a)]
        first = [await self.first_difference(a) for a in sorted(expected.accounts)
                 if expected.accounts[a] != state.get(a)]
        return "; ".join(diffs[:8] + first[:3]) + f"; timeline {self.timeline}" if diffs else "balances equal"

    async def first_difference(self, account_id: str) -> str:
        """The first entry of an account where the stored chain and the reference part, both shown."""
        from services.accounting.adapters.encoding import entries_filter, entry_from

        try:
            cursor = self.accounting["entries"].find(entries_filter(account_id)).sort("_id")
            stored = [entry_from(d) async for d in cursor]
        except PyMongoError:
            return ""
        reference = self.journey.reference
        for sequence in range(1, max(len(stored), 1) + 1):
            got = stored[sequence - 1] if sequence <= len(stored) else None
            want = reference.entry(account_id, sequence)
            if got is None or want is None or got.hash != want.hash:
                def show(e: Any) -> str:
                    if e is None:
                        return "none"
                    event = reference.events.get(e.movement_id)
                    return (f"{e.kind.value} movement {e.movement_id} credit {e.coc_credit_kg} balance "
                            f"{e.balance_after_kg} note {e.note!r} (plant event: {type(event).__name__})")
                pad = " " * len(account_id)
                return (f"\n  {account_id} #{sequence}: stored {show(got)}\n  {pad}  reference {show(want)}"
                        + self._where(got, want))
        return ""

    def _where(self, got: Any, want: Any) -> str:
        """Which part reordered two movements: the plant events' send order, the order the movements
        topic carried them in (intake, and a partition's handover between its instances), or accounting."""
        if got is None or want is None:
            return ""
        sent = {e.event_id: i for i, e in enumerate(self.journey.events)}
        carried: dict[Any, int] = {}
        for i, r in enumerate(self.tally.movement_records):
            carried.setdefault(r.message.movement_id, i)
        g, w = got.movement_id, want.movement_id
        return (f"\n  sent as plant events #{sent.get(g)} (stored) and #{sent.get(w)} (reference); the movements "
                f"topic carried them #{carried.get(g)} and #{carried.get(w)}; timeline {self.timeline}")

    async def problems(self, expected: Snapshot) -> list[str]:
        """Every difference between what the pipeline did and the reference, as readable lines."""
        self.tally.update()
        out: list[str] = []
        state = await self.ledger() or {}
        for account in sorted(set(expected.accounts) | set(state)):
            want, got = expected.accounts.get(account), state.get(account)
            if want is None or got is None or (Decimal(got[0]), got[1], got[2]) != want:
                out.append(f"ledger {account}: expected (balance, sequence, last hash) {want}, found {got}"
                           + await self.first_difference(account))
        for key, hashes in sorted(self.tally.entries.items()):
            if len(hashes) > 1:
                out.append(f"entry {key} published with {len(hashes)} different contents (a fork of the chain)")
            elif key not in expected.entries:
                out.append(f"entry {key} published but not in the reference (counted twice or wrongly)")
            elif expected.entries[key] not in hashes:
                out.append(f"entry {key} has hash {hashes}, the reference {expected.entries[key]}")
        missing = [k for k in expected.entries if k not in self.tally.entries]
        if missing:
            out.append(f"{len(missing)} reference entries never published, e.g. {missing[:5]}")
        for event_id, answer in expected.answers.items():
            accepted, refused = event_id in self.tally.movements, event_id in self.tally.rejected
            if accepted and refused:
                out.append(f"plant event {event_id} was both accepted and refused")
            elif answer == "accepted" and not accepted:
                out.append(f"plant event {event_id} should be accepted; refused: {self.tally.rejected.get(event_id)}")
            elif answer == "refused" and not refused:
                out.append(f"plant event {event_id} should be refused ({expected.reasons[event_id]}), accepted")
            elif answer == "refused" and self.tally.rejected[event_id] != expected.reasons[event_id]:
                out.append(f"plant event {event_id} refused for {self.tally.rejected[event_id]}, "
                           f"expected {expected.reasons[event_id]}")
            if len(self.tally.movements.get(event_id, ())) > 1 or len(self.tally.rejection_ids.get(event_id, ())) > 1:
                out.append(f"plant event {event_id} answered by more than one distinct message")
        extra = set(self.tally.designations_refused) - expected.designations_refused
        lost = expected.designations_refused - set(self.tally.designations_refused)
        if extra or lost:
            out.append(f"designations refused: {len(extra)} unexpected, {len(lost)} missing")
        if self.tally.documents != expected.documents:
            out.append(f"CoC Documents: {len(self.tally.documents - expected.documents)} unexpected, "
                       f"{len(expected.documents - self.tally.documents)} missing")
        if self.tally.movements_refused:
            out.append(f"movements refused by accounting: {sorted(map(str, self.tally.movements_refused))[:5]}")
        if self.tally.dead:
            shown = [(d.source_topic, d.reason_code) for d in self.tally.dead[:5]]
            out.append(f"{len(self.tally.dead)} dead letters: {shown}")
        return out


def duplicated_and_shuffled(events: Sequence[Any], rng: random.Random) -> list[Any]:
    """Every event twice; per site (partition key) the first copies keep their order and each second copy
    comes anywhere after its first; across sites the order is shuffled."""
    streams: dict[str, list[Any]] = {}
    for event in events:
        streams.setdefault(event.site_id, []).append(event)
    merged = [interleave([stream, list(stream)], rng) for stream in streams.values()]
    return interleave(merged, rng)


def raw(records: Iterable[Any]) -> list[tuple[str, bytes, bytes]]:
    """Recorded messages as (topic, key, value), to deliver them once more exactly as they were."""
    return [(r.topic, (r.key or "").encode(), r.raw) for r in records]
