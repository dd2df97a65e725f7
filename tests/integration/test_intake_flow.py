"""Intake through the real broker and database: movements, rejections, holds and duplicates."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal

import pytest

from contracts.certificates import CertificateChange, CertificateChanged, MemberRegistered, SiteRegistered
from contracts.common import Activity, Actor, ProcessStep, Role, Standard
from contracts.intake import IntakeReason, PlantEventHeld, PlantEventRejected
from contracts.ledger import CoCDocument, CoCDocumentIssued
from contracts.movements import MaterialReceivedRecorded
from contracts.plant import MaterialReceived
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
from libs.clock import ManualClock
from services.intake.app import build_runtime
from services.intake.config import Settings
from tests.support import NOW, actor, running, service_settings, unique

pytestmark = pytest.mark.integration
CERTIFICATES = Actor(organisation_id="certificates", role=Role.SERVICE)


class Chain:
    """A certified smelter supplying a rolling mill, with unique ids for this test."""

    def __init__(self) -> None:
        self.smelter, self.roller = unique("smelter"), unique("roller")
        self.smelter_site, self.roller_site = unique("site-smelt"), unique("site-roll")

    async def register(self, sender) -> None:  # noqa: ANN001
        for org in (self.smelter, self.roller):
            await sender.send(MemberRegistered.create(actor=CERTIFICATES, occurred_at=NOW, member=Member(
                organisation_id=org, name=org, membership_class=MembershipClass.PRODUCTION_AND_TRANSFORMATION,
                joined_on=date(2024, 1, 1))))
        for site_id, org, activity, step in ((self.smelter_site, self.smelter, Activity.SMELTING,
                                              ProcessStep.ALUMINA_TO_ALUMINIUM),
                                             (self.roller_site, self.roller, Activity.ROLLING, ProcessStep.ROLLING)):
            await sender.send(SiteRegistered.create(actor=CERTIFICATES, occurred_at=NOW, site=Site(
                site_id=site_id, organisation_id=org, name=site_id, country="DE", activities=[activity],
                conversion_factors=[ConversionFactor(process_step=step, factor=Decimal("0.85"))])))
        await sender.send(CertificateChanged.create(
            actor=CERTIFICATES, occurred_at=NOW, change=CertificateChange.ISSUED, certificate=Certificate(
                certificate_id=unique("cert"), certificate_number=unique("ASI-COC"), organisation_id=self.smelter,
                standard=Standard.CHAIN_OF_CUSTODY, standard_version="V2-2022", status=CertificateStatus.ACTIVE,
                provisional=False, scope=CertificateScope(level=ScopeLevel.FACILITY, site_ids=[self.smelter_site]),
                certification_body_id="cb-1", audit_id="audit-1", issued_on=date(2025, 1, 1),
                valid_from=date(2025, 1, 1), valid_until=date(2027, 12, 31), revision=1, updated_at=NOW)))

    def document(self, mass: str = "10000") -> CoCDocumentIssued:
        document = CoCDocument(
            document_id=unique("DOC"), issuer_organisation_id=self.smelter, issuer_site_id=self.smelter_site,
            issuer_certificate_number="ASI-COC-1", recipient_organisation_id=self.roller, issued_on=date(2026, 5, 20),
            shipment_reference="SHIP-1", movement_id=uuid.uuid4(), material_category="aluminium",
            product_form="ingot", coc_mass_kg=Decimal(mass), rule_set_id="v2", rule_set_version="1")
        return CoCDocumentIssued.create(actor=Actor(organisation_id="accounting", role=Role.SERVICE), occurred_at=NOW,
                                        account_id=f"site:{self.smelter_site}", document=document, signature="x",
                                        key_id="k")

    def receipt(self, document_id: str | None, quantity: str = "4", **body) -> MaterialReceived:  # noqa: ANN003
        values = dict(site_id=self.roller_site, received_on=date(2026, 5, 25), supplier_organisation_id=self.smelter,
                      supplier_site_id=self.smelter_site, material_category="aluminium", product_form="ingot",
                      quantity=quantity, unit="t", coc_document_id=document_id)
        return MaterialReceived.create(actor=actor(self.roller), occurred_at=NOW, **{**values, **body})


def settings(stack, **values) -> Settings:  # noqa: ANN001, ANN003
    return service_settings(Settings, stack, clock_start=NOW, **values)  # type: ignore[return-value]


async def test_an_accepted_receipt_becomes_a_movement_and_a_refused_one_a_rejection(stack, recorder, sender):
    chain = Chain()
    issued = chain.document("10000")
    async with running(build_runtime, settings(stack)):
        await chain.register(sender)
        await sender.send(issued)
        good = chain.receipt(issued.document.document_id, "4")
        over = chain.receipt(issued.document.document_id, "2", material_category="pre_consumer_scrap")
        await sender.send(good)
        [movement] = await recorder.wait_for(MaterialReceivedRecorded, lambda m: m.movement_id == good.event_id)
        assert movement.quantity_kg == movement.coc_quantity_kg == Decimal(4000)
        assert movement.coc_document_id == issued.document.document_id
        await sender.send(over)  # the registry and the document are known now
        [rejected] = await recorder.wait_for(PlantEventRejected, lambda m: m.rejected_event_id == over.event_id)
        codes = {r.code for r in rejected.reasons}
        assert codes == {IntakeReason.SCRAP_NOT_ALLOWED_AT_SITE, IntakeReason.DOCUMENT_MATERIAL_MISMATCH}
        assert rejected.site_id == chain.roller_site and rejected.message


async def test_a_receipt_before_its_document_is_held_then_released(stack, recorder, sender):
    chain = Chain()
    issued = chain.document("3000")
    async with running(build_runtime, settings(stack)):
        await chain.register(sender)
        early = chain.receipt(issued.document.document_id, "4")
        await sender.send(early)
        [held] = await recorder.wait_for(PlantEventHeld, lambda m: m.held_event_id == early.event_id)
        assert IntakeReason.UNKNOWN_DOCUMENT in {r.code for r in held.waiting_for}
        await sender.send(issued)
        [movement] = await recorder.wait_for(MaterialReceivedRecorded, lambda m: m.movement_id == early.event_id)
        assert movement.coc_quantity_kg == Decimal(3000) and movement.quantity_kg == Decimal(4000)


async def test_a_held_receipt_is_refused_when_its_deadline_passes(stack, recorder, sender):
    chain = Chain()
    clock = ManualClock(NOW)
    async with running(build_runtime, settings(stack), clock=clock) as runtime:
        await chain.register(sender)
        lost = chain.receipt(unique("DOC-never"), "4")
        await sender.send(lost)
        await recorder.wait_for(PlantEventHeld, lambda m: m.held_event_id == lost.event_id)
        clock.advance(timedelta(minutes=11))
        await runtime.run_tick("recheck_held")
        [rejected] = await recorder.wait_for(PlantEventRejected, lambda m: m.rejected_event_id == lost.event_id)
        assert rejected.reasons[0].code == IntakeReason.DEPENDENCY_TIMEOUT


async def test_a_duplicate_is_applied_once_and_a_reused_id_is_a_conflict(stack, recorder, sender):
    chain = Chain()
    issued = chain.document("5000")
    async with running(build_runtime, settings(stack)) as runtime:
        await chain.register(sender)
        await sender.send(issued)
        receipt = chain.receipt(issued.document.document_id, "5")
        await sender.send(receipt)
        await sender.send(receipt)
        await recorder.wait_for(MaterialReceivedRecorded, lambda m: m.movement_id == receipt.event_id)
        forged = chain.receipt(issued.document.document_id, "1", event_id=receipt.event_id)
        await sender.send(forged)
        [conflict] = await recorder.wait_for(
            PlantEventRejected, lambda m: m.rejected_event_id == receipt.event_id)
        assert conflict.reasons[0].code == IntakeReason.EVENT_ID_CONFLICT, conflict
        second = chain.receipt(issued.document.document_id, "1")
        await sender.send(second)
        [over] = await recorder.wait_for(PlantEventRejected, lambda m: m.rejected_event_id == second.event_id)
        assert over.reasons[0].code == IntakeReason.DOCUMENT_OVER_RECEIVED
        await recorder.settle(quiet_s=0.5)
        assert len(recorder.messages(kind=MaterialReceivedRecorded, where=lambda m: m.movement_id == receipt.event_id)) == 1
        stored = await runtime.db["coc_documents"].find_one({"_id": issued.document.document_id})
        assert stored["received_kg"] == Decimal(5000)
