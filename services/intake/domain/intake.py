"""The gate: validate, classify and match one plant event at a time against the loaded state.

`Intake.apply` decides, changes the in-memory state (document matches, superseded and cancelled
events, held records) and returns the answer to publish. Events are applied in arrival order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from contracts.common import (
    SCRAP_CATEGORIES,
    Actor,
    Classification,
    DueDiligenceStatus,
    Envelope,
    MassUnit,
    Reason,
    Role,
    Standard,
    derived_event_id,
)
from contracts.intake import IntakeReason as R
from contracts.intake import PlantEventHeld, PlantEventRejected
from contracts.movements import (
    MaterialReceivedRecorded,
    MaterialShippedRecorded,
    MaterialTransformedRecorded,
    MovementCancelled,
    MovementLine,
    Verification,
)
from contracts.plant import MaterialReceived, MaterialShipped, MaterialTransformed, PlantEventCancelled, PlantLine
from contracts.registry import Site
from services.intake.domain.model import DocumentState, EventRecord, Status, Wait, World, covered_on
from services.intake.domain.rules import IntakeRules
from services.intake.domain.units import to_kg

ACTOR = Actor(organisation_id="intake", role=Role.SERVICE)
PlantEvent = MaterialReceived | MaterialTransformed | MaterialShipped | PlantEventCancelled


@dataclass(frozen=True)
class Accepted:
    movement: Envelope


@dataclass(frozen=True)
class Refused:
    rejection: PlantEventRejected


@dataclass(frozen=True)
class Held:
    notice: PlantEventHeld | None
    """Published the first time only; a re-evaluation that still waits says nothing new."""


Outcome = Accepted | Refused | Held


def site_key(site_id: str) -> str:
    return f"site:{site_id}"


def member_key(organisation_id: str) -> str:
    return f"member:{organisation_id}"


def certificates_key(organisation_id: str) -> str:
    return f"certificates:{organisation_id}"


def document_key(document_id: str) -> str:
    return f"document:{document_id}"


def event_key(event_id: UUID | str) -> str:
    return f"event:{event_id}"


class _Check:
    """Collects refusals and waits while one event is evaluated."""

    def __init__(self) -> None:
        self.reasons: list[Reason] = []
        self.waits: list[Wait] = []

    def refuse(self, code: str, message: str, field: str | None = None) -> None:
        self.reasons.append(Reason(code=code, message=message, field=field))

    def wait(self, key: str, code: str, message: str, field: str | None = None) -> None:
        self.waits.append(Wait(key, Reason(code=code, message=message, field=field)))


@dataclass(frozen=True)
class _Replacing:
    """The earlier accepted event a correction replaces."""

    record: EventRecord | None


class Intake:
    def __init__(self, world: World, rules: IntakeRules) -> None:
        self.world = world
        self.rules = rules

    # ---- entry point ------------------------------------------------------------------------

    def apply(self, event: PlantEvent, now: datetime) -> Outcome:
        """Decide one event (new, or held and re-evaluated); a held event past its deadline is refused."""
        check = _Check()
        site = self._site(event, check)
        replacing = self._reference(event, check)
        if isinstance(event, MaterialReceived):
            accept = self._received(event, site, replacing, check, now)
        elif isinstance(event, MaterialTransformed):
            accept = self._transformed(event, site, replacing, check, now)
        elif isinstance(event, MaterialShipped):
            accept = self._shipped(event, site, replacing, check, now)
        else:
            accept = self._cancelled(event, site, check, now)
        if check.reasons:
            return self._refuse(event, check.reasons + [w.reason for w in check.waits], now)
        if check.waits:
            held = self.world.events.get(event.event_id)
            if held is not None and held.status is Status.HELD and held.retry_until and now >= held.retry_until:
                timeout = Reason(code=R.DEPENDENCY_TIMEOUT, message="what the event depends on did not arrive by "
                                 f"{held.retry_until.isoformat()}")
                return self._refuse(event, [timeout, *(w.reason for w in check.waits)], now)
            return self._hold(event, check.waits, now)
        assert accept is not None
        return accept()

    # ---- shared checks ----------------------------------------------------------------------

    def _site(self, event: PlantEvent, check: _Check) -> Site | None:
        if event.actor.role not in self.rules.senders.get(event.type, frozenset({Role.PRODUCER})):
            check.refuse(R.ACTOR_NOT_PRODUCER, f"a {event.actor.role.value} may not report {event.type}",
                         "actor.role")
        site = self.world.sites.get(event.site_id)
        if site is None:
            check.wait(site_key(event.site_id), R.UNKNOWN_SITE, f"site {event.site_id} is not registered", "site_id")
        elif site.organisation_id != event.actor.organisation_id:
            check.refuse(R.SITE_NOT_OWNED, f"site {event.site_id} belongs to {site.organisation_id}, "
                         f"not to {event.actor.organisation_id}", "site_id")
        return site

    def _reference(self, event: PlantEvent, check: _Check) -> _Replacing:
        target_id = event.cancels_event_id if isinstance(event, PlantEventCancelled) else event.corrects_event_id
        field = "cancels_event_id" if isinstance(event, PlantEventCancelled) else "corrects_event_id"
        if isinstance(event, PlantEventCancelled) and event.corrects_event_id is not None:
            check.refuse(R.CORRECTION_TYPE_MISMATCH, "a cancellation cannot correct another event; cancel it instead",
                         "corrects_event_id")
        if target_id is None:
            return _Replacing(None)
        target = self.world.events.get(target_id)
        if target is None or target.site_id != event.site_id:
            check.refuse(R.UNKNOWN_EVENT_REFERENCE, f"no event {target_id} of site {event.site_id} is known", field)
            return _Replacing(None)
        if target.event_id == event.event_id:
            check.refuse(R.UNKNOWN_EVENT_REFERENCE, "an event cannot refer to itself", field)
            return _Replacing(None)
        if not isinstance(event, PlantEventCancelled) and target.type != event.type:
            check.refuse(R.CORRECTION_TYPE_MISMATCH, f"event {target_id} is a {target.type}; a correction "
                         f"must have the same type, not {event.type}", field)
            return _Replacing(None)
        if target.status is Status.HELD:
            check.wait(event_key(target_id), R.REFERENCED_EVENT_NOT_ACCEPTED,
                       f"event {target_id} is itself held; this one waits for its outcome", field)
            return _Replacing(None)
        if target.status is Status.REFUSED and not isinstance(event, PlantEventCancelled):
            return _Replacing(None)  # correcting a refused event: evaluated as a fresh event
        if target.status is not Status.ACCEPTED:
            by = f" by {target.closed_by}" if target.closed_by else ""
            check.refuse(R.REFERENCED_EVENT_NOT_ACCEPTED, f"event {target_id} is {target.status.value}{by}; "
                         "refer to the event that stands", field)
            return _Replacing(None)
        return _Replacing(target)

    def _kg(self, quantity: Decimal, unit: MassUnit, field: str, check: _Check, *, zero_ok: bool = False) -> Decimal:
        kg = to_kg(quantity, unit)
        if kg < 0 or (kg == 0 and not zero_ok):
            check.refuse(R.QUANTITY_NOT_POSITIVE, f"{quantity} {unit.value} is {kg} kg once normalised", field)
        elif kg > self.rules.max_quantity_kg:
            check.refuse(R.QUANTITY_ABSURD, f"{kg} kg is above the ceiling of {self.rules.max_quantity_kg} kg "
                         "for one event line", field)
        return kg

    def _date(self, day: date, field: str, now: datetime, check: _Check) -> None:
        latest = (now + self.rules.future_skew).date()
        if day > latest:
            check.refuse(R.DATE_IN_FUTURE, f"{day.isoformat()} is in the future (latest accepted: {latest})", field)

    def _category(self, site: Site | None, category: object, allowed: frozenset, verb: str, field: str,
                  check: _Check) -> None:
        if site is not None and category not in allowed:
            activities = ", ".join(a.value for a in site.activities)
            check.refuse(R.CATEGORY_NOT_ALLOWED, f"a site doing {activities} cannot {verb} {category}", field)

    # ---- received -------------------------------------------------------------------------

    def _received(self, event: MaterialReceived, site: Site | None, replacing: _Replacing, check: _Check,
                  now: datetime):  # noqa: ANN202
        kg = self._kg(event.quantity, event.unit, "quantity", check)
        self._date(event.received_on, "received_on", now, check)
        failed = event.due_diligence_status is DueDiligenceStatus.FAILED  # physically received: non-CoC input
        scrap = event.material_category in SCRAP_CATEGORIES
        if site is not None:
            if scrap and not (set(site.activities) & self.rules.scrap_classifying_activities):
                check.refuse(R.SCRAP_NOT_ALLOWED_AT_SITE, "only remelting or refining sites receive and classify "
                             f"scrap; {site.site_id} does not remelt or refine", "material_category")
            elif not scrap:
                self._category(site, event.material_category, self.rules.receivable(site.activities), "receive",
                               "material_category", check)
        document: DocumentState | None = None
        coc_kg = matched_kg = Decimal(0)
        recycled = carbon = None
        if event.coc_document_id is not None:
            document = self._document_for(event, replacing, check)
            if document is not None and not check.reasons and not check.waits:
                released = replacing.record.coc_kg if (
                    replacing.record and replacing.record.document_id == event.coc_document_id) else Decimal(0)
                remaining = document.remaining_kg + released
                if remaining <= 0:
                    check.refuse(R.DOCUMENT_OVER_RECEIVED, f"CoC Document {event.coc_document_id} "
                                 f"({document.document.coc_mass_kg} kg) is already fully received", "coc_document_id")
                matched_kg = min(kg, remaining)
                if not failed:
                    coc_kg = matched_kg
                    recycled = document.document.recycled_content_share
                    carbon = document.document.carbon_footprint_kg_co2e_per_kg
            classification, verification = Classification.COC_MATERIAL, Verification.VERIFIED
            if failed:  # the document's mass is used up all the same, so the tonnes are never received twice
                classification, verification = Classification.NON_COC_MATERIAL, Verification.NOT_APPLICABLE
        elif scrap:
            if event.due_diligence_reference is None:
                check.refuse(R.DUE_DILIGENCE_MISSING, "eligible scrap needs its due-diligence reference",
                             "due_diligence_reference")
            if event.due_diligence_status is None:
                check.refuse(R.DUE_DILIGENCE_MISSING, "scrap needs its due-diligence status", "due_diligence_status")
            if event.due_diligence_status is DueDiligenceStatus.PASSED:
                classification, coc_kg, recycled = Classification.ELIGIBLE_SCRAP, kg, Decimal(1)
            else:
                classification = Classification.NON_COC_MATERIAL  # eligible once due diligence passes (a correction)
            verification = Verification.NOT_APPLICABLE
        else:
            if event.due_diligence_status is None:
                check.refuse(R.DUE_DILIGENCE_MISSING, "non-CoC material needs its due-diligence status",
                             "due_diligence_status")
            classification, verification = Classification.NON_COC_MATERIAL, Verification.NOT_APPLICABLE

        def accept() -> Outcome:
            assert site is not None
            self._close(replacing, event.event_id, Status.SUPERSEDED)
            if document is not None:
                document.receive(matched_kg)
            self._record(event, Status.ACCEPTED, document_id=event.coc_document_id if document else None,
                         coc_kg=matched_kg if document else Decimal(0))
            return Accepted(MaterialReceivedRecorded.create(
                actor=ACTOR, occurred_at=now, cause=event, event_id=derived_event_id(event.event_id, "movement"),
                movement_id=event.event_id, corrects_movement_id=_replaced_id(replacing), site_id=event.site_id,
                organisation_id=site.organisation_id, received_on=event.received_on,
                supplier_organisation_id=event.supplier_organisation_id, supplier_site_id=event.supplier_site_id,
                material_category=event.material_category, product_form=event.product_form, quantity_kg=kg,
                classification=classification, coc_quantity_kg=coc_kg, coc_document_id=event.coc_document_id,
                verification=verification, due_diligence_reference=event.due_diligence_reference,
                due_diligence_status=event.due_diligence_status, recycled_content_share=recycled,
                carbon_footprint_kg_co2e_per_kg=carbon,
            ))

        return accept

    def _document_for(self, event: MaterialReceived, replacing: _Replacing, check: _Check) -> DocumentState | None:
        document_id = event.coc_document_id
        assert document_id is not None
        state = self.world.documents.get(document_id)
        if state is None:
            check.wait(document_key(document_id), R.UNKNOWN_DOCUMENT,
                       f"CoC Document {document_id} is not known (yet)", "coc_document_id")
            if event.supplier_organisation_id not in self.world.members:
                check.wait(member_key(event.supplier_organisation_id), R.SUPPLIER_NOT_ON_PLATFORM,
                           f"supplier {event.supplier_organisation_id} is not on the platform: only CoC Documents "
                           "issued on the platform are accepted", "supplier_organisation_id")
            return None
        doc = state.document
        if doc.recipient_organisation_id != event.actor.organisation_id or (
            doc.recipient_site_id is not None and doc.recipient_site_id != event.site_id
        ):
            recipient = doc.recipient_organisation_id + (f"/{doc.recipient_site_id}" if doc.recipient_site_id else "")
            check.refuse(R.DOCUMENT_NOT_FOR_RECIPIENT, f"CoC Document {document_id} was issued to {recipient}, not "
                         f"to {event.actor.organisation_id}/{event.site_id}", "coc_document_id")
        if doc.material_category != event.material_category:
            check.refuse(R.DOCUMENT_MATERIAL_MISMATCH, f"CoC Document {document_id} is for "
                         f"{doc.material_category.value}, not {event.material_category.value}", "material_category")
        if doc.issuer_organisation_id != event.supplier_organisation_id or (
            event.supplier_site_id is not None and event.supplier_site_id != doc.issuer_site_id
        ):
            check.refuse(R.DOCUMENT_SUPPLIER_MISMATCH, f"CoC Document {document_id} was issued by "
                         f"{doc.issuer_organisation_id}/{doc.issuer_site_id}", "supplier_organisation_id")
        certificates = self.world.certificates.get(doc.issuer_organisation_id, [])
        if not any(c.standard is Standard.CHAIN_OF_CUSTODY for c in certificates):
            check.wait(certificates_key(doc.issuer_organisation_id), R.SUPPLIER_NOT_CERTIFIED,
                       f"no CoC certificate of {doc.issuer_organisation_id} is known (yet)", "coc_document_id")
        elif not any(covered_on(c, doc.issuer_site_id, doc.issued_on) for c in certificates):
            check.refuse(R.SUPPLIER_NOT_CERTIFIED, f"no CoC certificate of {doc.issuer_organisation_id} covered site "
                         f"{doc.issuer_site_id} on {doc.issued_on.isoformat()}", "coc_document_id")
        return state

    # ---- transformed ------------------------------------------------------------------------

    def _lines(self, lines: list[PlantLine], name: str, check: _Check) -> list[MovementLine]:
        out = []
        for i, line in enumerate(lines):
            kg = self._kg(line.quantity, line.unit, f"{name}[{i}].quantity", check)
            if 0 < kg <= self.rules.max_quantity_kg:  # a refused line builds no movement line
                out.append(MovementLine(material_category=line.material_category, product_form=line.product_form,
                                        quantity_kg=kg))
        return out

    def _transformed(self, event: MaterialTransformed, site: Site | None, replacing: _Replacing, check: _Check,
                     now: datetime):  # noqa: ANN202
        self._date(event.transformed_on, "transformed_on", now, check)
        inputs = self._lines(event.inputs, "inputs", check)
        outputs = self._lines(event.outputs, "outputs", check)
        factor = None
        if site is not None:
            consumable = self.rules.receivable(site.activities) | self.rules.producible(site.activities)
            for i, line in enumerate(event.inputs):
                self._category(site, line.material_category, consumable, "consume", f"inputs[{i}].material_category",
                               check)
            for i, line in enumerate(event.outputs):
                self._category(site, line.material_category, self.rules.producible(site.activities), "produce",
                               f"outputs[{i}].material_category", check)
            factor = next((f.factor for f in site.conversion_factors if f.process_step == event.process_step), None)
            if factor is None:
                check.refuse(R.NO_DECLARED_YIELD, f"site {site.site_id} declared no conversion factor for "
                             f"{event.process_step.value}", "process_step")
            elif not check.reasons:
                total_in = sum((line.quantity_kg for line in inputs), Decimal(0))
                product = sum((line.quantity_kg for line in outputs if line.material_category not in SCRAP_CATEGORIES),
                              Decimal(0))
                total_out = sum((line.quantity_kg for line in outputs), Decimal(0))
                if product > total_in * factor:
                    check.refuse(R.YIELD_EXCEEDED, f"{product} kg of product from {total_in} kg of input exceeds the "
                                 f"declared yield {factor} for {event.process_step.value}", "outputs")
                elif total_out > total_in * max(factor, Decimal(1)):
                    check.refuse(R.YIELD_EXCEEDED, f"{total_out} kg of output (with scrap) from {total_in} kg of input "
                                 "creates mass", "outputs")

        def accept() -> Outcome:
            assert site is not None and factor is not None
            self._close(replacing, event.event_id, Status.SUPERSEDED)
            self._record(event, Status.ACCEPTED)
            return Accepted(MaterialTransformedRecorded.create(
                actor=ACTOR, occurred_at=now, cause=event, event_id=derived_event_id(event.event_id, "movement"),
                movement_id=event.event_id, corrects_movement_id=_replaced_id(replacing), site_id=event.site_id,
                organisation_id=site.organisation_id, transformed_on=event.transformed_on,
                process_step=event.process_step, inputs=inputs, outputs=outputs, conversion_factor=factor,
            ))

        return accept

    # ---- shipped ----------------------------------------------------------------------------

    def _shipped(self, event: MaterialShipped, site: Site | None, replacing: _Replacing, check: _Check,
                 now: datetime):  # noqa: ANN202
        kg = self._kg(event.quantity, event.unit, "quantity", check)
        coc_kg = self._kg(event.coc_quantity, event.unit, "coc_quantity", check, zero_ok=True)
        if coc_kg > kg:
            check.refuse(R.COC_QUANTITY_EXCEEDS_SHIPMENT, f"{coc_kg} kg designated as CoC out of {kg} kg shipped",
                         "coc_quantity")
        self._date(event.shipped_on, "shipped_on", now, check)
        if site is not None:
            self._category(site, event.material_category, self.rules.producible(site.activities), "ship",
                           "material_category", check)

        def accept() -> Outcome:
            assert site is not None
            self._close(replacing, event.event_id, Status.SUPERSEDED)
            self._record(event, Status.ACCEPTED)
            return Accepted(MaterialShippedRecorded.create(
                actor=ACTOR, occurred_at=now, cause=event, event_id=derived_event_id(event.event_id, "movement"),
                movement_id=event.event_id, corrects_movement_id=_replaced_id(replacing), site_id=event.site_id,
                organisation_id=site.organisation_id, shipped_on=event.shipped_on,
                customer_organisation_id=event.customer_organisation_id, customer_site_id=event.customer_site_id,
                material_category=event.material_category, product_form=event.product_form, quantity_kg=kg,
                coc_quantity_kg=coc_kg, shipment_reference=event.shipment_reference,
                carbon_footprint_kg_co2e_per_kg=event.carbon_footprint_kg_co2e_per_kg,
            ))

        return accept

    # ---- cancelled --------------------------------------------------------------------------

    def _cancelled(self, event: PlantEventCancelled, site: Site | None, check: _Check, now: datetime):  # noqa: ANN202
        target = self.world.events.get(event.cancels_event_id)

        def accept() -> Outcome:
            assert site is not None and target is not None
            self._close(_Replacing(target), event.event_id, Status.CANCELLED)
            self._record(event, Status.ACCEPTED)
            return Accepted(MovementCancelled.create(
                actor=ACTOR, occurred_at=now, cause=event, event_id=derived_event_id(event.event_id, "movement"),
                movement_id=event.event_id, site_id=event.site_id, organisation_id=site.organisation_id,
                cancelled_movement_id=event.cancels_event_id, reason=event.reason,
            ))

        return accept

    # ---- state changes ----------------------------------------------------------------------

    def _close(self, replacing: _Replacing, by: UUID, status: Status) -> None:
        target = replacing.record
        if target is None:
            return
        if target.document_id is not None and target.coc_kg:
            self.world.documents[target.document_id].receive(-target.coc_kg)
        target.status, target.closed_by, target.dirty = status, by, True

    def _record(self, event: PlantEvent, status: Status, **values: object) -> EventRecord:
        record = self.world.events.get(event.event_id)
        if record is None:
            record = EventRecord(event.event_id, event.site_id, event.type, status)
            self.world.events[event.event_id] = record
        record.status, record.dirty = status, True
        record.event, record.waits = None, []
        record.held_since = record.retry_until = record.next_check_at = None
        for name, value in values.items():
            setattr(record, name, value)
        return record

    def _refuse(self, event: PlantEvent, reasons: list[Reason], now: datetime) -> Refused:
        self._record(event, Status.REFUSED)
        message = "; ".join(r.message for r in reasons)
        return Refused(PlantEventRejected.create(
            actor=ACTOR, occurred_at=now, cause=event, event_id=derived_event_id(event.event_id, "rejected"),
            site_id=event.site_id, rejected_event_id=event.event_id, rejected_event_type=event.type,
            reasons=reasons, message=message[:4000],
        ))

    def _hold(self, event: PlantEvent, waits: list[Wait], now: datetime) -> Held:
        record = self.world.events.get(event.event_id)
        first = record is None or record.status is not Status.HELD
        if first:
            record = self._record(event, Status.HELD, held_since=now, retry_until=now + self.rules.hold_for)
        assert record is not None
        record.event, record.waits, record.dirty = event, waits, True
        record.next_check_at = now + self.rules.recheck_every
        if not first:
            return Held(None)
        assert record.retry_until is not None
        return Held(PlantEventHeld.create(
            actor=ACTOR, occurred_at=now, cause=event, event_id=derived_event_id(event.event_id, "held"),
            site_id=event.site_id, held_event_id=event.event_id, waiting_for=[w.reason for w in waits],
            retry_until=record.retry_until,
        ))


def _replaced_id(replacing: _Replacing) -> UUID | None:
    return replacing.record.event_id if replacing.record else None
