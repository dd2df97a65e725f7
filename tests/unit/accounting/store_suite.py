"""One test suite for every `AccountingStore` (eventsourcing's recorder test case pattern): it runs
unchanged against the in-memory fake (test_store_fake.py) and against MongoDB
(tests/integration/test_accounting_store.py), so the fake the handler tests rely on cannot drift."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from contracts.registry import CertificateStatus
from services.accounting.domain import claims_mass
from services.accounting.domain.ledger import GRANTED, Allocation, Ledger
from services.accounting.domain.rules import Assignment
from services.accounting.domain.state import allocation_key
from services.accounting.ports import AccountingStore
from tests.unit.accounting.factories import NOW, ORG, certificate, group, ledger, receipt, ship


class StoreSuite:
    """Subclasses provide `transaction()`: a store in a new transaction, committed at the end."""

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[AccountingStore]:
        raise NotImplementedError
        yield

    async def booked(self, *movements: object) -> Ledger:
        """What the movements handler does: apply in order to fresh books, save."""
        books = ledger()
        for m in movements:
            books.apply(m, NOW)  # type: ignore[arg-type]
        async with self.transaction() as store:
            await store.save(books)
        return books

    async def test_an_account_comes_back_exactly_as_saved(self) -> None:
        first = receipt("1000.123", pre="0.05", post="0.2")
        books = await self.booked(first, ship("10", "0.5"))
        async with self.transaction() as store:
            [account] = await store.load_accounts([group(), "group:nobody/x"])
        saved = books.accounts[group()]
        assert account.version == 1 and saved.version == 0
        assert replace(account, version=0) == saved
        assert account.balance == Decimal("999.623") and str(account.balance) == "999.623"
        assert account.buckets == {"aluminium|ingot": Decimal("999.623")}
        assert account.period.recycled == {
            "aluminium|ingot": {
                "coc_kg": Decimal("1000.123"),
                "pre_consumer_kg": Decimal("50.006"),
                "post_consumer_kg": Decimal("200.024"),
            }
        }

    async def test_a_changed_account_is_saved_with_a_new_version(self) -> None:
        await self.booked(receipt("100"))
        async with self.transaction() as store:
            [account] = await store.load_accounts([group()])
            movements = await store.load_movements([])
            books = Ledger(accounts=[account], movements=movements, certificates=[certificate()])
            books.apply(receipt("5"), NOW)
            await store.save(books)
        async with self.transaction() as store:
            [again] = await store.load_accounts([group()])
        assert (again.version, again.balance) == (2, Decimal("105"))

    async def test_saving_an_account_another_batch_changed_meanwhile_is_refused(self) -> None:
        await self.booked(receipt("100"))
        async with self.transaction() as store:
            [stale] = await store.load_accounts([group()])
        async with self.transaction() as store:
            [account] = await store.load_accounts([group()])
            books = Ledger(accounts=[account], certificates=[certificate()])
            books.apply(receipt("1"), NOW)
            await store.save(books)
        books = Ledger(accounts=[stale], certificates=[certificate()])
        books.apply(receipt("2"), NOW)
        with pytest.raises(Exception, match="changed since this batch read it"):
            async with self.transaction() as store:
                await store.save(books)

    async def test_movement_records_and_lots_come_back_with_their_effects(self) -> None:
        first = receipt("100", document="doc-1")
        refused = ship("500", "500")
        books = await self.booked(first, refused)
        async with self.transaction() as store:
            records = await store.load_movements(
                [str(first.movement_id), str(refused.movement_id), "unknown"]
            )
            lots = await store.load_lots([f"{ORG}#{first.movement_id}"])
        by_id = {r.movement_id: r for r in records}
        assert set(by_id) == {str(first.movement_id), str(refused.movement_id)}
        assert by_id[str(first.movement_id)] == books.movements[str(first.movement_id)]
        assert by_id[str(refused.movement_id)].status == "refused"
        assert lots == [books.lots[f"{ORG}#{first.movement_id}"]]
        assert lots[0].mass == Decimal("100") and lots[0].document_id == "doc-1"

    async def test_an_owner_loads_its_accounts_and_only_lots_with_mass_left(self) -> None:
        kept, spent = receipt("100", document="doc-1"), receipt("50", document="doc-2")
        await self.booked(kept, spent, receipt("7", org="org-other"))
        async with self.transaction() as store:
            [lot] = await store.load_lots([f"{ORG}#{spent.movement_id}"])
            claimed = Ledger(lots=[lot])
            claimed.touch("lots", lot.lot_id)
            lot.allocated = Decimal("50")
            await store.save(claimed)
        async with self.transaction() as store:
            accounts, lots = await store.load_owner([ORG])
        assert [a.account_id for a in accounts] == [group()]
        assert [lot.lot_id for lot in lots] == [f"{ORG}#{kept.movement_id}"]

    async def test_a_new_record_saved_twice_is_refused(self) -> None:
        books = await self.booked(receipt("1"))
        books.dirty_accounts.clear()
        books.entries.clear()
        with pytest.raises(Exception, match=r"(?i)duplicate"):
            async with self.transaction() as store:
                await store.save(books)

    async def test_claim_holders_are_the_largest_granted_or_debited_allocations(self) -> None:
        books = Ledger()
        for claim_id, mass, status in (
            ("c-1", "10", GRANTED),
            ("c-2", "30", "debited"),
            ("c-3", "20", GRANTED),
            ("c-4", "99", "released"),
            ("c-5", "50", GRANTED),
        ):
            allocation = Allocation(claim_id, ORG, Decimal(mass), status)
            books.allocations[allocation.key] = allocation
            books.dirty_allocations.add(allocation.key)
        for other in (
            Allocation("c-x", "org-other", Decimal(70), GRANTED),
            Allocation("c-4", "org-other", Decimal(5), GRANTED),
        ):  # claim ids are the owner's
            books.allocations[other.key] = other
            books.dirty_allocations.add(other.key)
        async with self.transaction() as store:
            await store.save(books)
        async with self.transaction() as store:
            holders = await store.load_claim_holders([ORG], 3)
            loaded = await store.load_allocations(
                [allocation_key(ORG, "c-4"), allocation_key(ORG, "c-none")]
            )
            others = await store.load_allocations([allocation_key("org-other", "c-4")])
        assert [a.claim_id for a in holders] == ["c-5", "c-2", "c-3"]
        assert loaded == [books.allocations[allocation_key(ORG, "c-4")]]
        assert [(a.owner, a.claim_id, a.mass) for a in others] == [("org-other", "c-4", Decimal(5))]
        assert claims_mass.HOLDERS_NAMED > 3

    async def test_accounts_due_are_those_whose_period_ended(self) -> None:
        await self.booked(receipt("1"), receipt("1", org="org-late", day=date(2026, 7, 1)))
        async with self.transaction() as store:
            due = await store.accounts_due(date(2027, 1, 1), 10)
            early = await store.accounts_due(NOW.date(), 10)
            one = await store.accounts_due(date(2030, 1, 1), 1)
        assert {a.account_id for a in due} == {group(), "group:org-late"}
        assert early == [] and len(one) == 1

    async def test_assignments_come_back_in_the_order_they_were_added(self) -> None:
        async with self.transaction() as store:
            await store.add_assignment(ORG, Assignment(date(2026, 1, 1), "v3-draft-group-credit"))
            await store.add_assignment(
                ORG, Assignment(date(2025, 1, 1), "v2-2022-group-percentage")
            )
        async with self.transaction() as store:
            found = await store.load_assignments([ORG, "org-none"])
        assert found == {
            ORG: [
                Assignment(date(2026, 1, 1), "v3-draft-group-credit"),
                Assignment(date(2025, 1, 1), "v2-2022-group-percentage"),
            ]
        }

    async def test_a_certificate_keeps_its_newest_revision(self) -> None:
        suspended = certificate(status=CertificateStatus.SUSPENDED, revision=2)
        async with self.transaction() as store:
            assert await store.save_certificate(certificate())
            assert await store.save_certificate(suspended)
            assert not await store.save_certificate(certificate())
            assert not await store.save_certificate(suspended)
            await store.save_certificate(certificate(org="org-other", certificate_id="cert-9"))
        async with self.transaction() as store:
            assert await store.load_certificates([ORG]) == [suspended]

    async def test_flags_say_which_accounts_are_frozen(self) -> None:
        async with self.transaction() as store:
            await store.save_flags({"a": (True, "cert-1"), "b": (False, "cert-2")})
            await store.save_flags({"a": (False, "cert-3")})
            await store.save_site("site-a", ORG)
        async with self.transaction() as store:
            assert await store.load_flags(["a", "b", "c"]) == {"a": False, "b": False}

    async def test_the_signing_key_is_made_once(self) -> None:
        async with self.transaction() as store:
            first = await store.signing_key()
        async with self.transaction() as store:
            assert (await store.signing_key()).key_id == first.key_id
