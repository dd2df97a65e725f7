"""The scenario's steps, in supply-chain order: registration, certification, plant events, shipments
with their CoC Documents, a day of production, claims and their decisions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from contracts import audits, certificates, claims, intake, ledger, plant
from contracts.common import Actor, Envelope, MaterialCategory, ProcessStep, Role
from contracts.registry import (
    CertificateScope,
    ConversionFactor,
    Finding,
    Member,
    ScopeLevel,
    Severity,
    Site,
)
from devstack.scenario.cast import BODY, SECRETARIAT, Participant, participants
from devstack.scenario.platform import Platform


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
