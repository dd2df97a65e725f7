"""Intake's use cases through the handlers on the in-memory fake store, one message type at a time,
with the real messages adapter: the tests assert on what would be published (message, topic and
key)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from contracts import topics
from contracts.certificates import (
    CertificateChange,
    CertificateChanged,
    MemberRegistered,
    SiteRegistered,
)
from contracts.common import Activity, Actor, Classification, Envelope, ProcessStep, Role
from contracts.intake import IntakeReason as R
from contracts.intake import PlantEventHeld, PlantEventRejected
from contracts.ledger import AllocateForClaim, CoCDocument, CoCDocumentIssued
from contracts.movements import (
    MaterialReceivedRecorded,
    MaterialShippedRecorded,
    MaterialTransformedRecorded,
    MovementCancelled,
)
from contracts.registry import Certificate
from libs.messaging import Incoming, Outgoing, Record, Tx
from services.intake.app import build_handlers
from services.intake.config import Settings
from services.intake.domain.keys import document_key
from services.intake.domain.model import Status
from services.intake.handlers import IntakeHandlers
from tests.unit.intake.builders import (
    NOW,
    REMELTER,
    ROLLER,
    SMELTER,
    cancelled,
    certificate,
    document,
    later,
    line,
    received,
    scrap,
    shipped,
    site,
    transformed,
)
from tests.unit.intake.fakes import FakeStore
from tests.unit.intake.store_suite import member

SERVICE = Actor(organisation_id="certificates", role=Role.SERVICE)


class Service:
    """The handlers wired by the composition root on a fake store, and a way to deliver batches."""

    def __init__(self) -> None:
        self.store = FakeStore()
        self.handlers: IntakeHandlers = build_handlers(
            Settings(held_per_round=100), store_for=self.store
        )
        self.offset = 0

    async def deliver(self, *messages: Envelope, hours: float = 0) -> list[Outgoing]:
        batch = []
        for message in messages:
            self.offset += 1
            batch.append(Incoming(message, Record("t", 0, self.offset, None, None)))
        return list(await self.handlers.handle(batch, tx(hours)))

    async def registered(self, *, documents: tuple[CoCDocument, ...] = ()) -> None:
        sites = [
            site("site-roll", ROLLER, [Activity.ROLLING], {ProcessStep.ROLLING: "0.85"}),
            site("site-remelt", REMELTER, [Activity.REMELTING], {ProcessStep.REMELTING: "0.97"}),
        ]
        await self.deliver(
            *(
                MemberRegistered.create(actor=SERVICE, occurred_at=NOW, member=member(org))
                for org in (SMELTER, ROLLER, REMELTER)
            ),
            *(SiteRegistered.create(actor=SERVICE, occurred_at=NOW, site=s) for s in sites),
            changed(certificate()),
        )
        if documents:
            await self.deliver(*(issued(d) for d in documents))


def tx(hours: float = 0) -> Tx:
    """A transaction without a database: the fake store ignores it; `computing()` has nothing
    pending."""
    none: Any = None
    return Tx(none, none, later(hours))


def changed(c: Certificate) -> CertificateChanged:
    return CertificateChanged.create(
        actor=SERVICE, occurred_at=NOW, change=CertificateChange.ISSUED, certificate=c
    )


def issued(d: CoCDocument) -> CoCDocumentIssued:
    return CoCDocumentIssued.create(
        actor=Actor(organisation_id="accounting", role=Role.SERVICE),
        occurred_at=NOW,
        account_id="site:site-smelt",
        document=d,
        signature="x",
        key_id="k",
    )


def only(out: list[Outgoing]) -> Envelope:
    assert len(out) == 1, out
    return out[0].message


def published(out: list[Outgoing]) -> list[tuple[str, str, str]]:
    """(message type, topic, key) of each message, as the runtime would publish it."""
    return [(o.message.type, o.resolved_topic().name, o.key or "") for o in out]


async def test_a_coc_receipt_is_matched_and_published_as_a_movement_keyed_by_site():
    service = Service()
    await service.registered(documents=(document(mass="6000"),))
    event = received(quantity="4000")
    out = await service.deliver(event)
    assert published(out) == [
        ("material_received_recorded", topics.MATERIAL_MOVEMENTS.name, "site-roll")
    ]
    m = only(out)
    assert (
        isinstance(m, MaterialReceivedRecorded) and m.classification is Classification.COC_MATERIAL
    )
    assert m.coc_quantity_kg == Decimal(4000) and m.causation_id == event.event_id
    assert service.store.documents["DOC-1"][1] == Decimal(4000)
    assert service.store.events[event.event_id].status is Status.ACCEPTED


async def test_a_refused_receipt_is_published_on_the_rejections_topic_with_its_reasons():
    service = Service()
    await service.registered()
    out = await service.deliver(received(coc_document_id=None))
    assert published(out) == [("plant_event_rejected", topics.INTAKE_REJECTIONS.name, "site-roll")]
    rejected = only(out)
    assert isinstance(rejected, PlantEventRejected)
    assert [r.code for r in rejected.reasons] == [R.DUE_DILIGENCE_MISSING]


async def test_a_receipt_that_failed_due_diligence_is_published_as_non_coc_input():
    service = Service()
    await service.registered()
    m = only(await service.deliver(scrap(due_diligence_status="failed")))
    assert (
        isinstance(m, MaterialReceivedRecorded)
        and m.classification is Classification.NON_COC_MATERIAL
    )
    assert m.coc_quantity_kg == 0 and m.due_diligence_status == "failed"


async def test_site_registered_releases_what_waited_for_the_site():
    service = Service()
    event = received(coc_document_id=None, due_diligence_status="passed")
    out = await service.deliver(event)
    assert published(out) == [("plant_event_held", topics.INTAKE_REJECTIONS.name, "site-roll")]
    held = only(out)
    assert isinstance(held, PlantEventHeld) and [r.code for r in held.waiting_for] == [
        R.UNKNOWN_SITE
    ]
    out = await service.deliver(
        SiteRegistered.create(
            actor=SERVICE, occurred_at=NOW, site=site("site-roll", ROLLER, [Activity.ROLLING])
        )
    )
    assert isinstance(only(out), MaterialReceivedRecorded)
    assert event.event_id not in service.store.held


async def test_member_registered_re_evaluates_a_receipt_waiting_for_its_supplier():
    service = Service()
    await service.deliver(
        SiteRegistered.create(
            actor=SERVICE, occurred_at=NOW, site=site("site-roll", ROLLER, [Activity.ROLLING])
        )
    )
    event = received()
    held = only(await service.deliver(event))
    assert isinstance(held, PlantEventHeld)
    assert {r.code for r in held.waiting_for} == {R.UNKNOWN_DOCUMENT, R.SUPPLIER_NOT_ON_PLATFORM}
    assert (
        await service.deliver(
            MemberRegistered.create(actor=SERVICE, occurred_at=NOW, member=member(SMELTER))
        )
        == []
    )
    assert [w.key for w in service.store.held[event.event_id].waits] == [document_key("DOC-1")]


async def test_coc_document_issued_releases_the_receipt_that_cites_it():
    service = Service()
    await service.registered()
    event = received()
    assert isinstance(only(await service.deliver(event)), PlantEventHeld)
    m = only(await service.deliver(issued(document())))
    assert isinstance(m, MaterialReceivedRecorded) and m.coc_quantity_kg == Decimal(4000)
    assert (
        await service.deliver(issued(document(mass="1"))) == []
    )  # a redelivered document: the first stands
    assert service.store.documents["DOC-1"][0].coc_mass_kg == Decimal(10000)


async def test_certificate_changed_releases_receipts_waiting_for_the_issuers_coc_certificate():
    service = Service()
    await service.deliver(
        *(
            MemberRegistered.create(actor=SERVICE, occurred_at=NOW, member=member(o))
            for o in (SMELTER, ROLLER)
        ),
        SiteRegistered.create(
            actor=SERVICE, occurred_at=NOW, site=site("site-roll", ROLLER, [Activity.ROLLING])
        ),
    )
    await service.deliver(issued(document()))
    held = only(await service.deliver(received()))
    assert isinstance(held, PlantEventHeld) and [r.code for r in held.waiting_for] == [
        R.SUPPLIER_NOT_CERTIFIED
    ]
    m = only(await service.deliver(changed(certificate(revision=2))))
    assert isinstance(m, MaterialReceivedRecorded)
    assert (
        await service.deliver(changed(certificate(revision=1))) == []
    )  # older revision: nothing changes
    assert service.store.certificates[certificate().certificate_id].revision == 2


async def test_a_transformation_is_published_with_the_sites_factor():
    service = Service()
    await service.registered()
    m = only(
        await service.deliver(
            transformed([line("aluminium", "20000")], [line("aluminium", "17000")])
        )
    )
    assert isinstance(m, MaterialTransformedRecorded) and m.conversion_factor == Decimal("0.85")


async def test_a_shipment_is_published_with_its_coc_designation():
    service = Service()
    await service.registered()
    m = only(await service.deliver(shipped()))
    assert isinstance(m, MaterialShippedRecorded) and m.coc_quantity_kg == Decimal(5000)


async def test_a_cancellation_withdraws_the_movement_and_gives_back_the_document_mass():
    service = Service()
    await service.registered(documents=(document(),))
    first = received()
    await service.deliver(first)
    m = only(await service.deliver(cancelled(first.event_id)))
    assert isinstance(m, MovementCancelled) and m.cancelled_movement_id == first.event_id
    assert service.store.documents["DOC-1"][1] == 0
    assert service.store.events[first.event_id].status is Status.CANCELLED


async def test_a_correction_waiting_for_its_held_original_is_decided_in_the_same_batch_as_it():
    """The document releases the original; deciding the original releases the correction (a second
    round)."""
    service = Service()
    await service.registered(documents=(document(),))
    original = received(coc_document_id="DOC-LATE")
    correction = received(quantity="3000", corrects_event_id=original.event_id)
    assert [type(o.message) for o in await service.deliver(original, correction)] == [
        PlantEventHeld
    ] * 2
    out = await service.deliver(issued(document("DOC-LATE")))
    assert [(type(o.message), getattr(o.message, "movement_id", None)) for o in out] == [
        (MaterialReceivedRecorded, original.event_id),
        (MaterialReceivedRecorded, correction.event_id),
    ]
    assert service.store.documents["DOC-LATE"][1] == 0 and service.store.documents["DOC-1"][
        1
    ] == Decimal(3000)


async def test_the_tick_refuses_what_waited_past_its_deadline():
    service = Service()
    await service.registered()
    event = received()
    await service.deliver(event)
    assert (
        await service.handlers.recheck_held(tx(hours=0.05)) == []
    )  # re-checked, still waiting: nothing new
    rejected = only(await service.handlers.recheck_held(tx(hours=1)))
    assert isinstance(rejected, PlantEventRejected)
    assert [r.code for r in rejected.reasons] == [R.DEPENDENCY_TIMEOUT, R.UNKNOWN_DOCUMENT]
    assert service.store.held == {}


async def test_a_reused_event_id_with_other_content_is_refused_as_a_conflict():
    service = Service()
    event = received()
    out = service.handlers.on_conflict(Incoming(event, Record("t", 0, 1, None, None)), NOW)
    assert published(out) == [("plant_event_rejected", topics.INTAKE_REJECTIONS.name, "site-roll")]
    rejected = only(out)
    assert (
        isinstance(rejected, PlantEventRejected) and rejected.reasons[0].code == R.EVENT_ID_CONFLICT
    )
    assert rejected.rejected_event_id == event.event_id


async def test_messages_intake_does_not_take_are_ignored():
    service = Service()
    other = AllocateForClaim.model_construct()
    assert (
        await service.handlers.handle([Incoming(other, Record("t", 0, 1, None, None))], tx()) == []
    )


def test_every_plant_event_type_and_every_projected_type_has_a_use_case():
    """A plant event type missing from the table would be acknowledged and never answered."""
    from services.intake.handlers import DISPATCH

    projected = {MemberRegistered, SiteRegistered, CertificateChanged, CoCDocumentIssued}
    assert set(topics.PLANT_EVENTS.message_types()) | projected == set(DISPATCH)


async def test_a_re_run_publishes_the_same_event_ids():
    """Ids derive from the plant event: a batch redone after a crash answers with the same ids."""
    events = (received(), received(coc_document_id=None), received(site_id="site-new"))
    runs = []
    for _ in range(2):
        service = Service()
        await service.registered(documents=(document(),))
        runs.append([(o.message.type, o.message.event_id) for o in await service.deliver(*events)])
    assert [kind for kind, _ in runs[0]] == [
        "material_received_recorded",
        "plant_event_rejected",
        "plant_event_held",
    ]
    assert runs[0] == runs[1]
