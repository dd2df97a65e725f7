"""A live supply chain on the platform, for `make run` and `make demo`.

It plays every user through the contract topics only: the secretariat registers members and sites
and assigns rule sets; a certification body audits and certifies a bauxite mine, an alumina refinery,
a smelter, a remelter buying post-consumer scrap, a rolling mill (provisional: two Major NCs), a can
maker and a brand owner; plants stream what they receive, transform and ship; CoC Documents flow
from supplier to buyer; the brand owner asks for an on-pack logo claim that is approved (its mass is
spent) and others that are refused; then the secretariat suspends the can maker and the effects
propagate (the brand's approved claim stands: it rests on mass received before the suspension), and
reinstates it; the brand's second claim for the same tonnes is refused, naming the first.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from contracts import audits, certificates, claims, intake, ledger, plant
from contracts.common import Activity, Actor, Envelope, MaterialCategory, ProcessStep, Role
from contracts.registry import (
    CertificateScope,
    CertificationBody,
    ConversionFactor,
    Finding,
    Member,
    MembershipClass,
    ScopeLevel,
    Severity,
    Site,
)
from contracts.topics import BY_NAME, TOPICS, topic_for
from devstack.embedded import Endpoints

SECRETARIAT = Actor(organisation_id="asi-secretariat", role=Role.SECRETARIAT)
BODY = CertificationBody(certification_body_id="cb-alu-assure", name="Alu Assure Certification",
                         accredited_from=date(2020, 1, 1), accredited_until=date(2031, 12, 31))
Say = Callable[[str, str], None]


@dataclass(frozen=True)
class Participant:
    org: str
    name: str
    site: str
    site_name: str
    country: str
    activities: tuple[Activity, ...]
    factors: dict[ProcessStep, str] = field(default_factory=dict)
    membership: MembershipClass = MembershipClass.PRODUCTION_AND_TRANSFORMATION
    rule_set: str | None = None
    coc_majors: int = 0

    @property
    def actor(self) -> Actor:
        role = Role.BRAND_OWNER if Activity.BRAND_OWNER in self.activities else Role.PRODUCER
        return Actor(organisation_id=self.org, role=role)


def participants(suffix: str = "") -> dict[str, Participant]:
    """The chain's members; `suffix` keeps the ids of one run apart from another's on shared topics."""

    def p(role: str, org: str, name: str, site: str, site_name: str, country: str, activities: tuple[Activity, ...],
          factors: dict[ProcessStep, str] | None = None, **kw: Any) -> tuple[str, Participant]:
        return role, Participant(org + suffix, name, site + suffix, site_name, country, activities, factors or {}, **kw)

    return dict([
        p("mine", "org-gove-bauxite", "Gove Bauxite Pty", "site-gove-mine", "Gove mine", "AU", (Activity.MINING,),
          {ProcessStep.MINING: "1"}),
        p("refinery", "org-gladstone-alumina", "Gladstone Alumina", "site-gladstone-refinery", "Gladstone refinery",
          "AU", (Activity.ALUMINA_REFINING,), {ProcessStep.BAUXITE_TO_ALUMINA: "0.45"}),
        p("smelter", "org-sunndal-smelting", "Sunndal Smelting AS", "site-sunndal-smelter", "Sunndal smelter", "NO",
          (Activity.SMELTING, Activity.CASTING), {ProcessStep.ALUMINA_TO_ALUMINIUM: "0.518", ProcessStep.CASTING: "0.98"}),
        p("remelter", "org-nachterstedt-recycling", "Nachterstedt Recycling GmbH", "site-nachterstedt-remelt",
          "Nachterstedt remelt", "DE", (Activity.REMELTING, Activity.CASTING),
          {ProcessStep.REMELTING: "0.97", ProcessStep.CASTING: "0.98"}, rule_set="v3-draft-site-credit"),
        p("mill", "org-sierre-rolling", "Sierre Rolling SA", "site-sierre-mill", "Sierre mill", "CH", (Activity.ROLLING,),
          {ProcessStep.ROLLING: "0.85"}, rule_set="v3-draft-site-credit", coc_majors=2),
        p("cans", "org-bonn-cans", "Bonn Can Company", "site-bonn-cans", "Bonn can plant", "DE", (Activity.CAN_MAKING,),
          {ProcessStep.CAN_MAKING: "0.85"}, rule_set="v3-draft-group-credit"),
        p("brand", "org-fizz-brands", "Fizz Brands plc", "site-fizz-filling", "Fizz filling hall", "GB",
          (Activity.BRAND_OWNER,), membership=MembershipClass.INDUSTRIAL_USERS),
    ])


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


def _now() -> datetime:
    return datetime.now(UTC)


class Story:
    """The scenario's steps, in supply-chain order."""

    def __init__(self, platform: Platform, suffix: str = "") -> None:
        self.p = platform
        self.cast = participants(suffix)
        self.chain = tuple(self.cast.values())
        self.today = _now().date()
        self.certificates: dict[tuple[str, str], str] = {}
        self.shipments = 0

    async def register(self) -> None:
        p = self.p
        p.say("scenario", "the secretariat registers a certification body, 7 members and their sites")
        await p.send(certificates.RegisterCertificationBody.create(actor=SECRETARIAT, occurred_at=_now(),
                                                                  certification_body=BODY))
        for who in self.chain:
            await p.send(certificates.RegisterMember.create(
                actor=SECRETARIAT, occurred_at=_now(),
                member=Member(organisation_id=who.org, name=who.name, membership_class=who.membership,
                              joined_on=self.today - timedelta(days=400))))
        for who in self.chain:
            await p.send(certificates.RegisterSite.create(
                actor=SECRETARIAT, occurred_at=_now(),
                site=Site(site_id=who.site, organisation_id=who.org, name=who.site_name, country=who.country,
                          activities=list(who.activities),
                          conversion_factors=[ConversionFactor(process_step=step, factor=Decimal(f),
                                                               verified_by=BODY.certification_body_id,
                                                               verified_on=self.today - timedelta(days=30))
                                              for step, f in who.factors.items()])))
        for who in self.chain:
            await p.wait_for(certificates.SiteRegistered, lambda m, who=who: m.site.site_id == who.site)
            if who.rule_set:
                await p.send(ledger.AssignRuleSet.create(actor=SECRETARIAT, occurred_at=_now(), organisation_id=who.org,
                                                         rule_set_id=who.rule_set, effective_from=self.today))

    async def certify(self) -> None:
        p = self.p
        p.say("scenario", f"{BODY.name} audits every member against the Performance Standard and Chain of Custody")
        sent = []
        for who in self.chain:
            for standard in ("performance_standard", "chain_of_custody"):
                majors = who.coc_majors if standard == "chain_of_custody" else 0
                findings = [Finding(finding_id=f"nc-{i + 1}", principle="CoC-2", criterion="2.1",
                                    severity=Severity.MAJOR, site_id=who.site,
                                    description="Material accounting records incomplete for one period",
                                    raised_on=self.today - timedelta(days=3), due_on=self.today + timedelta(days=180))
                            for i in range(majors)]
                outcome = audits.AuditOutcomeSubmitted.create(
                    actor=Actor(organisation_id=BODY.certification_body_id, role=Role.CERTIFICATION_BODY),
                    occurred_at=_now(), audit_id=f"audit-{p.run}-{who.org}-{standard}",
                    certification_body_id=BODY.certification_body_id, organisation_id=who.org, audit_type="initial",
                    standard=standard, standard_version="V3-2022" if standard == "performance_standard" else "V2-2022",
                    audit_started_on=self.today - timedelta(days=5), audit_completed_on=self.today - timedelta(days=3),
                    scope=CertificateScope(level=ScopeLevel.ENTITY, site_ids=[who.site],
                                           activities=list(who.activities)),
                    findings=findings)
                sent.append((who, standard, await p.send(outcome)))
        for who, standard, outcome in sent:
            changed = await p.wait_for(certificates.CertificateChanged,
                                       lambda m, o=outcome: m.certificate.audit_id == o.audit_id)
            self.certificates[(who.org, standard)] = changed.certificate.certificate_id

    async def plant(self, who: Participant, event_cls: type[Envelope], **body: Any) -> Envelope:
        """Send a plant event and wait for the platform's answer: refused by intake, or booked (or a
        designation refused) by accounting. Intake may hold it a moment, e.g. until a CoC Document arrives."""
        event = await self.p.send(event_cls.create(actor=who.actor, occurred_at=_now(), site_id=who.site, **body))
        event_id = event.event_id
        return await self.p.wait_for(
            (intake.PlantEventRejected, ledger.LedgerEntryPosted, ledger.DesignationRefused, ledger.MovementRefused),
            lambda m: (m.entry.movement_id if isinstance(m, ledger.LedgerEntryPosted)
                       else getattr(m, "rejected_event_id", None) or getattr(m, "movement_id", None)) == event_id)

    async def mine(self, tonnes: str) -> None:
        await self.plant(self.cast["mine"], plant.MaterialTransformed, transformed_on=self.today, process_step=ProcessStep.MINING,
                         inputs=[plant.PlantLine(material_category=MaterialCategory.BAUXITE, product_form="ore",
                                                 quantity=Decimal(tonnes), unit="t")],
                         outputs=[plant.PlantLine(material_category=MaterialCategory.BAUXITE, product_form="crushed",
                                                  quantity=Decimal(tonnes), unit="t")])

    async def transform(self, who: Participant, step: ProcessStep, inputs: list[tuple[MaterialCategory, str, str]],
                        outputs: list[tuple[MaterialCategory, str, str]]) -> None:
        def lines(items: list[tuple[MaterialCategory, str, str]]) -> list[plant.PlantLine]:
            return [plant.PlantLine(material_category=c, product_form=f, quantity=Decimal(q), unit="t")
                    for c, f, q in items]

        await self.plant(who, plant.MaterialTransformed, transformed_on=self.today, process_step=step,
                         inputs=lines(inputs), outputs=lines(outputs))

    async def ship(self, supplier: Participant, buyer: Participant, category: MaterialCategory, form: str,
                   tonnes: str, coc_tonnes: str, *, carbon: str | None = None) -> str | None:
        """Ship; if the designation is accepted, the buyer receives citing the CoC Document. Returns its id."""
        self.shipments += 1
        reference = f"DN-{self.p.run}-{self.shipments:04d}"
        outcome = await self.plant(
            supplier, plant.MaterialShipped, shipped_on=self.today, customer_organisation_id=buyer.org,
            customer_site_id=buyer.site, material_category=category, product_form=form, quantity=Decimal(tonnes),
            unit="t", coc_quantity=Decimal(coc_tonnes), shipment_reference=reference,
            carbon_footprint_kg_co2e_per_kg=Decimal(carbon) if carbon else None)
        document_id = None
        if Decimal(coc_tonnes) > 0 and isinstance(outcome, ledger.LedgerEntryPosted):
            issued = await self.p.wait_for(ledger.CoCDocumentIssued,
                                           lambda m: m.document.shipment_reference == reference)
            document_id = issued.document.document_id
        await self.plant(buyer, plant.MaterialReceived, received_on=self.today, supplier_organisation_id=supplier.org,
                         supplier_site_id=supplier.site, material_category=category, product_form=form,
                         quantity=Decimal(tonnes), unit="t", coc_document_id=document_id,
                         due_diligence_status=None if document_id else "passed",
                         due_diligence_reference=None if document_id else f"dd-{supplier.org}")
        return document_id

    async def receive_scrap(self, tonnes: str) -> None:
        await self.plant(self.cast["remelter"], plant.MaterialReceived, received_on=self.today,
                         supplier_organisation_id="uk-ubc-collectors", material_category="post_consumer_scrap",
                         product_form="ubc-bales", quantity=Decimal(tonnes), unit="t",
                         due_diligence_reference=f"dd-scrap-{self.p.run}", due_diligence_status="passed")

    async def production_day(self) -> None:
        """One day of the chain, with realistic lots (domain.md, Numbers)."""
        await self.mine("4500")
        await self.ship(self.cast["mine"], self.cast["refinery"], MaterialCategory.BAUXITE, "crushed", "4500", "4500")
        await self.transform(self.cast["refinery"], ProcessStep.BAUXITE_TO_ALUMINA,
                             [(MaterialCategory.BAUXITE, "crushed", "4500")], [(MaterialCategory.ALUMINA, "powder", "2000")])
        await self.ship(self.cast["refinery"], self.cast["smelter"], MaterialCategory.ALUMINA, "powder", "2000", "2000")
        await self.transform(self.cast["smelter"], ProcessStep.ALUMINA_TO_ALUMINIUM,
                             [(MaterialCategory.ALUMINA, "powder", "1930")],
                             [(MaterialCategory.ALUMINIUM, "liquid-metal", "999")])
        await self.transform(self.cast["smelter"], ProcessStep.CASTING, [(MaterialCategory.ALUMINIUM, "liquid-metal", "999")],
                             [(MaterialCategory.ALUMINIUM, "rolling-slab", "975")])
        await self.ship(self.cast["smelter"], self.cast["mill"], MaterialCategory.ALUMINIUM, "rolling-slab", "600", "400", carbon="3.9")
        await self.receive_scrap("500")
        await self.transform(self.cast["remelter"], ProcessStep.REMELTING, [(MaterialCategory.POST_CONSUMER_SCRAP, "ubc-bales", "500")],
                             [(MaterialCategory.ALUMINIUM, "liquid-metal", "485")])
        await self.transform(self.cast["remelter"], ProcessStep.CASTING, [(MaterialCategory.ALUMINIUM, "liquid-metal", "485")],
                             [(MaterialCategory.ALUMINIUM, "rolling-slab", "475")])
        await self.ship(self.cast["remelter"], self.cast["mill"], MaterialCategory.ALUMINIUM, "rolling-slab", "400", "300", carbon="0.5")
        await self.transform(self.cast["mill"], ProcessStep.ROLLING, [(MaterialCategory.ALUMINIUM, "rolling-slab", "1000")],
                             [(MaterialCategory.ALUMINIUM, "can-stock-coil", "847")])
        await self.ship(self.cast["mill"], self.cast["cans"], MaterialCategory.ALUMINIUM, "can-stock-coil", "550", "440")
        await self.transform(self.cast["cans"], ProcessStep.CAN_MAKING, [(MaterialCategory.ALUMINIUM, "can-stock-coil", "550")],
                             [(MaterialCategory.ALUMINIUM, "can-body", "467")])
        await self.ship(self.cast["cans"], self.cast["brand"], MaterialCategory.ALUMINIUM, "can-body", "100", "60")

    async def claim(self, claim_id: str, cans: int, wording: str) -> claims.ClaimRequested:
        """An on-pack claim on the brand's 330 ml can (13 g of aluminium each)."""
        request = claims.ClaimRequested.create(
            actor=self.cast["brand"].actor, occurred_at=_now(), claim_id=claim_id, claimant_organisation_id=self.cast["brand"].org,
            product=claims.ClaimProduct(product_id="05012345678900", name="Fizz Cola 330 ml can",
                                        aluminium_mass_per_unit_kg=Decimal("0.013"), units=cans,
                                        producing_site_ids=[self.cast["cans"].site], supplier_organisation_ids=[self.cast["cans"].org, self.cast["mill"].org,
                                                                                                  self.cast["remelter"].org]),
            claim_type="on_pack_logo", wording=wording, artwork_reference=f"artwork-{claim_id}",
            link="https://aluminium-stewardship.org/asi-certification",
            markets=["GB", "DE"], period_start=self.today, period_end=self.today + timedelta(days=180))
        return await self.p.send(request)

    async def decision(self, claim_id: str) -> Envelope:
        """The claim's decision; one that waits for the secretariat's review is approved from the queue."""
        first = await self.p.wait_for((claims.ClaimApproved, claims.ClaimRejected, claims.ClaimAwaitingReview),
                                      lambda m: m.claim_id == claim_id, timeout=90)
        if not isinstance(first, claims.ClaimAwaitingReview):
            return first
        self.p.say("scenario", f"the secretariat reviews claim {claim_id} (artwork {first.artwork_reference}) "
                               "and approves it from its queue")
        await self.p.send(claims.ClaimReviewDecided.create(
            actor=SECRETARIAT, occurred_at=_now(), claim_id=claim_id, claimant_organisation_id=first.claimant_organisation_id,
            decision=claims.ReviewDecision.APPROVE, comment="artwork and wording checked against the logo guidelines"))
        return await self.p.wait_for((claims.ClaimApproved, claims.ClaimRejected),
                                     lambda m: m.claim_id == claim_id, timeout=90)


@dataclass
class Outcome:
    """What the main story produced, for the terminal and for the journey tests."""

    approved: Envelope
    refused_mass: Envelope
    refused_wording: Envelope
    refused_designation: Envelope
    late_receipt: Envelope
    revocations: list[Envelope]
    """Decisions revoking the approved claim (none: a supplier's suspension leaves it standing)."""
    same_tonnes_again: Envelope

    @property
    def as_expected(self) -> bool:
        again = self.same_tonnes_again
        return (isinstance(self.approved, claims.ClaimApproved) and isinstance(self.refused_mass, claims.ClaimRejected)
                and isinstance(self.refused_wording, claims.ClaimRejected)
                and not self.revocations
                and isinstance(self.refused_designation, ledger.DesignationRefused)
                and isinstance(self.late_receipt, intake.PlantEventRejected)
                and isinstance(again, claims.ClaimRejected)
                and any(r.code == claims.ClaimReason.MASS_ALREADY_CLAIMED and self.approved.claim_id in r.message
                        for r in again.reasons))


async def main_story(p: Platform, s: Story, groups: tuple[str, ...] = ("intake", "accounting", "claims")) -> Outcome:
    """Registration, certification, a day of production, three claims, a supplier's suspension and
    reinstatement, and a second claim for the same tonnes."""
    say = p.say
    await s.register()
    await s.certify()
    await p.caught_up("certificates.events.v1", groups)
    say("scenario", "plants start streaming: mine -> refinery -> smelter / remelter -> rolling mill -> can maker -> brand")
    await s.production_day()
    p.show_balances()
    logo = "ASI Responsible Aluminium Sourcing. Learn more at aluminium-stewardship.org"
    say("scenario", "the brand owner asks for three on-pack logo claims on its 330 ml can (13 g of aluminium)")
    good, too_much, misleading = (f"claim-{p.run}-{name}" for name in ("logo", "too-much", "wording"))
    await s.claim(good, 1_000_000, logo)
    approved = await s.decision(good)
    await s.claim(too_much, 10_000_000, logo)
    refused_mass = await s.decision(too_much)
    await s.claim(misleading, 1_000, "100% certified aluminium, fully traceable from mine to can. " + logo)
    refused_wording = await s.decision(misleading)
    cans, brand = s.cast["cans"], s.cast["brand"]
    say("scenario", f"{cans.name} ships another 20 t of CoC cans; the delivery is still on the road")
    shipped = await s.plant(
        cans, plant.MaterialShipped, shipped_on=s.today, customer_organisation_id=brand.org,
        customer_site_id=brand.site, material_category=MaterialCategory.ALUMINIUM, product_form="can-body",
        quantity=Decimal("20"), unit="t", coc_quantity=Decimal("20"), shipment_reference=f"DN-{p.run}-road")
    document = await p.wait_for(ledger.CoCDocumentIssued,
                                lambda m: m.document.movement_id == shipped.entry.movement_id)
    say("scenario", f"the secretariat suspends the CoC certificate of {cans.name}, the brand's can supplier")
    await p.send(certificates.SuspendCertificate.create(
        actor=SECRETARIAT, occurred_at=_now(), certificate_id=s.certificates[(cans.org, "chain_of_custody")],
        reason="Surveillance audit not held: unpaid certification fees"))
    await p.wait_for(ledger.AccountFrozen, lambda m: ledger.account_organisation_id(m.account_id) == cans.org
                     or m.account_id == f"site:{cans.site}")
    refused_designation = await s.plant(
        cans, plant.MaterialShipped, shipped_on=s.today, customer_organisation_id=brand.org,
        customer_site_id=brand.site, material_category=MaterialCategory.ALUMINIUM, product_form="can-body",
        quantity=Decimal("50"), unit="t", coc_quantity=Decimal("30"), shipment_reference=f"DN-{p.run}-after")
    await p.caught_up("certificates.events.v1", groups)
    late_receipt = await s.plant(
        brand, plant.MaterialReceived, received_on=s.today, supplier_organisation_id=cans.org,
        supplier_site_id=cans.site, material_category=MaterialCategory.ALUMINIUM, product_form="can-body",
        quantity=Decimal("20"), unit="t", coc_document_id=document.document.document_id)
    revocations = [m for m in p.records if isinstance(m, claims.ClaimRevoked) and m.claim_id == good]
    say("scenario", f"the brand's approved claim {'was REVOKED' if revocations else 'stands'}: it rests on the brand's "
                    f"own certificates and on can bodies received before the suspension")
    say("scenario", f"the secretariat reinstates the CoC certificate of {cans.name}")
    await p.send(certificates.ReinstateCertificate.create(
        actor=SECRETARIAT, occurred_at=_now(), certificate_id=s.certificates[(cans.org, "chain_of_custody")],
        reason="Fees paid, surveillance audit held"))
    await p.wait_for(ledger.AccountThawed, lambda m: ledger.account_organisation_id(m.account_id) == cans.org
                     or m.account_id == f"site:{cans.site}")
    say("scenario", "the brand asks again for the same tonnes: a claim for every CoC can body it received (60 t)")
    again = f"claim-{p.run}-again"
    await s.claim(again, 4_615_000, logo)
    same_tonnes_again = await s.decision(again)
    p.show_balances()
    outcome = Outcome(approved, refused_mass, refused_wording, refused_designation, late_receipt, revocations,
                      same_tonnes_again)
    say("scenario", f"scenario {'complete' if outcome.as_expected else 'FAILED'}: one claim approved and its mass "
                    "spent, two refused with reasons; the suspension froze the supplier's account, refused its "
                    "designation and made intake refuse its document, and left the approved claim standing; the same "
                    "tonnes claimed again were refused, naming the first claim")
    return outcome


async def story(endpoints: Endpoints, *, once: bool, stop: threading.Event, say: Say) -> bool:
    async with Platform(endpoints, say) as p:
        s = Story(p)
        outcome = await main_story(p, s)
        day = 1
        while not once and not stop.is_set():
            await asyncio.sleep(5)
            day += 1
            say("scenario", f"production day {day}")
            await s.production_day()
            p.show_balances()
        return outcome.as_expected


def run_scenario(endpoints: Endpoints, *, once: bool, stop: threading.Event, say: Say) -> bool:
    try:
        return asyncio.run(story(endpoints, once=once, stop=stop, say=say))
    except TimeoutError as exc:
        say("scenario", f"scenario stopped: {exc}")
        return False
