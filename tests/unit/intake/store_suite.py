"""One test suite for every `IntakeStore` (eventsourcing's recorder test case pattern): it runs
unchanged against the in-memory fake (test_store_fake.py) and against MongoDB
(tests/integration/test_intake_store.py), so the fake the handler tests rely on cannot drift."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import date, timedelta
from decimal import Decimal

from contracts.common import Activity
from contracts.registry import Member, MembershipClass
from services.intake.domain.intake import Intake
from services.intake.domain.keys import document_key, site_key
from services.intake.domain.model import Status
from services.intake.domain.outcomes import PlantEvent
from services.intake.domain.rules import IntakeRules
from services.intake.ports import IntakeStore
from tests.unit.intake.builders import NOW, ROLLER, SMELTER, certificate, document, received, site

RULES = IntakeRules(hold_for=timedelta(minutes=10), recheck_every=timedelta(seconds=5))


def member(org: str) -> Member:
    return Member(
        organisation_id=org,
        name=org,
        membership_class=MembershipClass.PRODUCTION_AND_TRANSFORMATION,
        joined_on=date(2024, 1, 1),
    )


class StoreSuite:
    """Subclasses provide `transaction()`: a store in a new transaction, committed at the end."""

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[IntakeStore]:
        raise NotImplementedError
        yield

    async def decide(
        self, *events: PlantEvent, fresh: bool = True, hours: float = 0
    ) -> list[object]:
        """What a handler does: load, decide in order, save, in one transaction."""
        async with self.transaction() as store:
            world = await store.load(list(events), fresh=fresh)
            gate = Intake(world, RULES)
            outcomes: list[object] = [gate.apply(e, NOW + timedelta(hours=hours)) for e in events]
            await store.save(world)
        return outcomes

    async def registry(self, *, documents: tuple[str, ...] = ("10000",)) -> list[str]:
        async with self.transaction() as store:
            await store.save_members([member(SMELTER), member(ROLLER)])
            await store.save_sites([site("site-roll", ROLLER, [Activity.ROLLING])])
            await store.save_certificates([certificate()])
            issued = [document(f"DOC-{i}", mass=mass) for i, mass in enumerate(documents)]
            await store.save_documents(issued)
        return [d.document_id for d in issued]

    async def test_a_batch_loads_its_sites_documents_suppliers_and_issuers_certificates(
        self,
    ) -> None:
        [doc_id] = await self.registry()
        async with self.transaction() as store:
            world = await store.load([received(coc_document_id=doc_id)], fresh=True)
        assert set(world.sites) == {"site-roll"} and world.members == {SMELTER}
        assert set(world.documents) == {doc_id} and world.documents[doc_id].received_kg == 0
        assert [c.certificate_id for c in world.certificates[SMELTER]] == [
            certificate().certificate_id
        ]
        async with self.transaction() as store:
            bare = await store.load(
                [received(coc_document_id=None, site_id="site-elsewhere")], fresh=True
            )
        assert (bare.sites, bare.members, bare.documents, bare.certificates) == ({}, set(), {}, {})

    async def test_a_certificate_keeps_its_highest_revision_and_reports_only_changes(self) -> None:
        async with self.transaction() as store:
            assert [
                c.revision
                for c in await store.save_certificates(
                    [certificate(revision=2), certificate(revision=3)]
                )
            ] == [3]
            assert await store.save_certificates([certificate(revision=2)]) == []
        [doc_id] = await self.registry()  # revision 1 again: ignored
        async with self.transaction() as store:
            world = await store.load([received(coc_document_id=doc_id)], fresh=True)
        assert [c.revision for c in world.certificates[SMELTER]] == [3]

    async def test_a_document_keeps_its_first_copy_and_the_mass_received_against_it(self) -> None:
        [doc_id] = await self.registry(documents=("6000.000000001",))
        await self.decide(received(coc_document_id=doc_id, quantity="4000"))
        async with self.transaction() as store:
            await store.save_documents(
                [document(doc_id, mass="1")]
            )  # a redelivery: the first copy stands
            world = await store.load([received(coc_document_id=doc_id)], fresh=True)
        state = world.documents[doc_id]
        assert state.document.coc_mass_kg == Decimal(
            "6000.000000001"
        ) and state.received_kg == Decimal(4000)
        assert state.remaining_kg == Decimal("2000.000000001")

    async def test_a_fresh_batch_reads_only_the_events_it_corrects_or_cancels(self) -> None:
        [doc_id] = await self.registry()
        first = received(coc_document_id=doc_id, quantity="0.000000001", unit="t")
        await self.decide(first)
        correction = received(
            coc_document_id=doc_id, quantity="3", unit="t", corrects_event_id=first.event_id
        )
        async with self.transaction() as store:
            fresh = await store.load([correction, first], fresh=True)
            again = await store.load([first], fresh=False)
        assert set(fresh.events) == {first.event_id} == set(again.events)
        record = fresh.events[first.event_id]
        assert (record.status, record.document_id, record.coc_kg) == (
            Status.ACCEPTED,
            doc_id,
            Decimal("0.000001"),
        )
        assert not record.dirty and record.stored_as is Status.ACCEPTED

    async def test_a_correction_supersedes_its_original_in_the_store(self) -> None:
        [doc_id] = await self.registry()
        first = received(coc_document_id=doc_id, quantity="4000")
        await self.decide(first)
        await self.decide(
            received(coc_document_id=doc_id, quantity="2500", corrects_event_id=first.event_id)
        )
        async with self.transaction() as store:
            world = await store.load([first], fresh=False)
        assert world.events[first.event_id].status is Status.SUPERSEDED
        assert world.documents[doc_id].received_kg == Decimal(2500)

    async def test_held_events_are_found_by_what_they_wait_for_in_arrival_order(self) -> None:
        [doc_id] = await self.registry()
        waiting = [received(coc_document_id="DOC-LATE", quantity=str(q)) for q in (1, 2, 3)]
        elsewhere = received(site_id="site-new", coc_document_id=doc_id)
        await self.decide(*waiting[:2])
        await self.decide(elsewhere, waiting[2])
        async with self.transaction() as store:
            assert await store.held_waiting_for([document_key("DOC-LATE")], 10) == waiting
            assert await store.held_waiting_for([document_key("DOC-LATE")], 2) == waiting[:2]
            assert await store.held_waiting_for([site_key("site-new"), "nothing"], 10) == [
                elsewhere
            ]
            assert await store.held_waiting_for([], 10) == []
            world = await store.load([waiting[0]], fresh=False)
        record = world.events[waiting[0].event_id]
        assert record.status is Status.HELD and record.event == waiting[0]
        assert [w.key for w in record.waits] == [document_key("DOC-LATE")]
        assert record.retry_until == NOW + RULES.hold_for and record.stored_as is Status.HELD

    async def test_a_held_event_leaves_the_waiting_list_once_decided(self) -> None:
        await self.registry()
        event = received(coc_document_id="DOC-LATE")
        await self.decide(event)
        await self.decide(event, fresh=False, hours=1)  # past the deadline: refused
        async with self.transaction() as store:
            assert await store.held_waiting_for([document_key("DOC-LATE")], 10) == []
            assert await store.held_due(NOW + timedelta(days=1), 10) == []
            world = await store.load([event], fresh=False)
        assert (
            world.events[event.event_id].status is Status.REFUSED
            and world.events[event.event_id].event is None
        )

    async def test_held_events_are_due_at_their_recheck_or_their_deadline(self) -> None:
        await self.registry()
        event = received(coc_document_id="DOC-LATE")
        await self.decide(event)
        async with self.transaction() as store:
            assert await store.held_due(NOW + timedelta(seconds=4), 10) == []
            assert await store.held_due(NOW + RULES.recheck_every, 10) == [event]
        await self.decide(
            event, fresh=False, hours=0.1
        )  # re-checked: still waiting, next check later
        async with self.transaction() as store:
            assert await store.held_due(NOW + timedelta(hours=0.1, seconds=4), 10) == []
            assert await store.held_due(NOW + RULES.hold_for, 10) == [event]
