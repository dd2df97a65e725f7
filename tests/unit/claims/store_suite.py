"""One test suite for every `ClaimsStore` (eventsourcing's recorder test case pattern): it runs
unchanged against the in-memory fake (test_store_fake.py) and against MongoDB
(tests/integration/test_claims_store.py), so the fake the handler tests rely on cannot drift."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import date, timedelta
from decimal import Decimal

import pytest
from pymongo.errors import OperationFailure

from contracts.claims import ClaimType, ClaimTypeStatus
from contracts.registry import CertificateStatus, Member, MembershipClass, Site
from services.claims.adapters.store import WRITE_CONFLICT
from services.claims.domain.effects import Status
from services.claims.domain.membership import AT_RISK, FORFEITED
from services.claims.domain.requests import request_hash
from services.claims.domain.saga import Claim, claim_key
from services.claims.domain.state import Loaded
from services.claims.domain.texts import ApprovedText
from services.claims.ports import ClaimsStore
from tests.unit.claims.builders import (
    BRAND,
    COC_NUMBER,
    FOOTPRINT_ID,
    NOW,
    coc,
    footprint,
    ps,
    request,
)

SUPPLIER = "smelter-1"


def member(org: str, joined_on: date = date(2024, 1, 1)) -> Member:
    return Member(
        organisation_id=org,
        name=org,
        membership_class=MembershipClass.PRODUCTION_AND_TRANSFORMATION,
        joined_on=joined_on,
    )


KEY_1 = claim_key(BRAND, "claim-1")


def claim(
    claim_id: str, status: Status = Status.PENDING, org: str = BRAND, **state: object
) -> Claim:
    r = request(claim_id=claim_id, org=org)
    return Claim(r, request_hash(r), status, **state)  # type: ignore[arg-type]


class StoreSuite:
    """Subclasses provide `transaction()`: a store in a new transaction, committed at the end."""

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[ClaimsStore]:
        raise NotImplementedError
        yield

    async def insert(self, *claims: Claim, command: str | None = None) -> None:
        async with self.transaction() as store:
            loaded = Loaded()
            for c in claims:
                loaded.add_new(c)
                loaded.record(c.key, [])
                if command is not None:
                    loaded.commands[c.key] = command
            await store.save_claims(loaded)

    async def test_a_new_claim_is_found_by_its_id_and_by_the_allocation_command_it_sent(
        self,
    ) -> None:
        decide_by = NOW + timedelta(seconds=30)
        await self.insert(claim("claim-1", decide_by=decide_by), command="cmd-1")
        async with self.transaction() as store:
            by_id = await store.load_claims(
                ids=[KEY_1, claim_key(BRAND, "claim-unknown"), claim_key("brand-2", "claim-1")]
            )
            by_command = await store.load_claims(allocate_command_ids=["cmd-1"])
            neither = await store.load_claims(
                ids=[claim_key(BRAND, "claim-2")], allocate_command_ids=["cmd-2"]
            )
        found = by_id.claims[KEY_1]
        assert list(by_id.claims) == [KEY_1] and by_id.read_version == {KEY_1: 1}
        assert (found.status, found.decide_by, found.version) == (Status.PENDING, decide_by, 1)
        assert (
            found.request_hash
            == request_hash(found.request)
            == request_hash(request(claim_id="claim-1"))
        )
        assert by_command.claim_of_command("cmd-1") is not None
        assert by_command.claim_of_command("cmd-1").claim_id == "claim-1"  # type: ignore[union-attr]
        assert neither.claims == {}

    async def test_two_owners_keep_claims_of_the_same_id_apart(self) -> None:
        await self.insert(claim("claim-1", status=Status.APPROVED, approval_code="RAS-A"))
        await self.insert(claim("claim-1", org="brand-2"))
        other = claim_key("brand-2", "claim-1")
        async with self.transaction() as store:
            both = await store.load_claims(ids=[KEY_1, other])
            mine = await store.load_claims(ids=[KEY_1])
        assert sorted(both.claims) == sorted([KEY_1, other])
        assert both.claims[KEY_1].claimant == BRAND and both.claims[other].claimant == "brand-2"
        assert (both.claims[KEY_1].status, both.claims[other].status) == (
            Status.APPROVED,
            Status.PENDING,
        )
        assert list(mine.claims) == [KEY_1]

    async def test_an_update_bumps_the_version_and_a_stale_copy_is_a_write_conflict(self) -> None:
        await self.insert(claim("claim-1"))
        async with self.transaction() as store:
            first = await store.load_claims(ids=[KEY_1])
        async with self.transaction() as store:
            second = await store.load_claims(ids=[KEY_1])
        first.claims[KEY_1].status = Status.REJECTED
        first.record(KEY_1, [])
        async with self.transaction() as store:
            await store.save_claims(first)
        second.claims[KEY_1].status = Status.WITHDRAWN
        second.record(KEY_1, [])
        with pytest.raises(OperationFailure) as lost:
            async with self.transaction() as store:
                await store.save_claims(second)
        assert lost.value.code == WRITE_CONFLICT
        async with self.transaction() as store:
            stored = (await store.load_claims(ids=[KEY_1])).claims[KEY_1]
        assert (stored.status, stored.version) == (Status.REJECTED, 2)

    async def test_the_clock_finds_pending_claims_past_their_deadline_and_lapsed_approvals(
        self,
    ) -> None:
        approved = {"approval_code": "RAS-A", "certificate_ids": ["cert-x"]}
        await self.insert(
            claim("late", decide_by=NOW - timedelta(seconds=1)),
            claim("waiting", decide_by=NOW + timedelta(seconds=1)),
            claim("lapsed", Status.APPROVED, valid_until=date(2026, 5, 31), **approved),
            claim("valid", Status.APPROVED, valid_until=NOW.date(), **approved),
            claim("closed", Status.REJECTED, decide_by=NOW - timedelta(days=1)),
        )
        async with self.transaction() as store:
            due = await store.load_due(NOW, limit=10)
            one = await store.load_due(NOW, limit=1)
            resting = await store.load_approved_resting_on(["cert-x"])
            elsewhere = await store.load_approved_resting_on(["cert-y"])
        assert {c.claim_id for c in due.claims.values()} == {"late", "lapsed"}
        assert len(one.claims) == 1 and elsewhere.claims == {}
        assert {c.claim_id for c in resting.claims.values()} == {"lapsed", "valid"}

    async def test_the_registry_holds_what_a_request_needs_and_quoted_numbers_any_case(
        self,
    ) -> None:
        quoted = coc(org="other-org", number="ASI-COC-2025-00099", certificate_id="cert-other")
        async with self.transaction() as store:
            await store.save_members([member(BRAND), member("other-org")])
            await store.save_certificates(
                [
                    ps(),
                    coc(),
                    quoted,
                    coc(
                        org="unrelated",
                        certificate_id="cert-unrelated",
                        number="ASI-COC-2025-00100",
                    ),
                ]
            )
            registry = await store.load_registry([request()], ["asi-coc-2025-00099"])
            nothing = await store.load_registry([], [COC_NUMBER])
        assert registry.members == frozenset({BRAND})
        numbers = sorted(c.certificate_number for c in registry.certificates)
        assert numbers == sorted([ps().certificate_number, COC_NUMBER, "ASI-COC-2025-00099"])
        assert nothing.certificates == () and nothing.members == frozenset()

    async def test_only_newer_certificate_revisions_are_kept_in_order(self) -> None:
        async with self.transaction() as store:
            await store.save_certificates([coc(revision=2)])
            newer = await store.newer_certificates(
                [
                    coc(revision=1),
                    coc(revision=3, status=CertificateStatus.SUSPENDED),
                    coc(revision=3),
                    ps(revision=1),
                ]
            )
        assert [(c.certificate_id, c.revision, c.status) for c in newer] == [
            (coc().certificate_id, 3, CertificateStatus.SUSPENDED),
            (ps().certificate_id, 1, CertificateStatus.ACTIVE),
        ]

    async def test_a_forfeited_membership_outranks_at_risk_and_clears_only_on_a_later_join(
        self,
    ) -> None:
        async def standing() -> object:
            async with self.transaction() as store:
                registry = await store.load_registry([request()], [])
            return registry.standing.get(BRAND)

        async with self.transaction() as store:
            await store.mark_at_risk(BRAND, NOW)
        assert await standing() == AT_RISK
        async with self.transaction() as store:
            await store.clear_at_risk(BRAND)
        assert await standing() is None
        async with self.transaction() as store:
            await store.mark_forfeited(BRAND, NOW, date(2026, 5, 1))
            await store.mark_at_risk(BRAND, NOW)
            await store.clear_at_risk(BRAND)
            await store.clear_forfeited(BRAND, date(2026, 5, 1))
        assert await standing() == FORFEITED
        async with self.transaction() as store:
            await store.clear_forfeited(BRAND, date(2026, 5, 2))
        assert await standing() is None

    async def test_a_text_version_is_kept_once_and_the_latest_version_wins(self) -> None:
        v1 = ApprovedText("t1", 1, ClaimType.ON_PACK_LOGO, "en", "ASI {link}", True)
        async with self.transaction() as store:
            assert await store.save_text(v1)
            assert await store.save_text(v1)
            assert not await store.save_text(ApprovedText("t1", 1, v1.claim_type, "en", "x", True))
            assert await store.save_text(ApprovedText("t1", 2, v1.claim_type, "de", "y", False))
            latest = await store.latest_texts(["t1", "t-unknown"])
            none = await store.latest_texts([])
        assert list(latest) == ["t1"] and (latest["t1"].version, latest["t1"].template) == (2, "y")
        assert none == {}

    async def test_a_footprint_keeps_its_latest_version_and_a_request_naming_it_reads_it(
        self,
    ) -> None:
        async with self.transaction() as store:
            await store.save_footprint(footprint())
            await store.save_footprint(footprint(version=2, comment="v2"))
            kept = await store.load_footprints([FOOTPRINT_ID, "unknown"])
            wanted = request(ClaimType.CARBON_FOOTPRINT)
            registry = await store.load_registry([wanted], [])
        assert list(kept) == [FOOTPRINT_ID]
        assert (kept[FOOTPRINT_ID].version, kept[FOOTPRINT_ID].document.comment) == (2, "v2")
        assert kept[FOOTPRINT_ID].owner == BRAND and kept[FOOTPRINT_ID].submitted_at == NOW
        assert kept[FOOTPRINT_ID].document.pcf.p_cf_excluding_biogenic == Decimal("4.2")
        assert registry.footprints == kept

    async def test_the_secretariats_claim_type_statuses_are_kept_the_last_one_wins(self) -> None:
        async with self.transaction() as store:
            assert await store.claim_type_statuses() == {}
            await store.set_claim_type_status(ClaimType.RECYCLED_CONTENT, ClaimTypeStatus.OFF, NOW)
            await store.set_claim_type_status(
                ClaimType.RECYCLED_CONTENT, ClaimTypeStatus.ENABLED, NOW
            )
            await store.set_claim_type_status(ClaimType.ON_PACK_LOGO, ClaimTypeStatus.PILOT, NOW)
            statuses = await store.claim_type_statuses()
        assert statuses == {
            ClaimType.RECYCLED_CONTENT: ClaimTypeStatus.ENABLED,
            ClaimType.ON_PACK_LOGO: ClaimTypeStatus.PILOT,
        }

    async def test_an_approved_claims_mass_and_usage_survive_a_round_trip(self) -> None:
        from tests.unit.claims.builders import allocation

        approved = claim(
            "claim-1",
            Status.APPROVED,
            allocation=allocation("13000.125"),
            approval_code="RAS-A",
            valid_until=date(2027, 6, 30),
            usage={"2026-07-01/2026-09-30": 400_000},
            certificate_ids=["cert-x"],
        )
        await self.insert(approved)
        async with self.transaction() as store:
            stored = (await store.load_claims(ids=[KEY_1])).claims[KEY_1]
        assert stored.allocation == allocation("13000.125")
        assert stored.approved_kg == Decimal("13000.125")
        assert stored.used.used_kg == Decimal("5200.000") and stored.certificate_ids == ["cert-x"]
        assert (stored.approval_code, stored.valid_until) == ("RAS-A", date(2027, 6, 30))

    async def test_open_claims_with_a_product_and_artwork_are_found_closed_ones_and_others_not(
        self,
    ) -> None:
        def with_artwork(claim_id: str, status: Status, artwork: str = "artwork-x") -> Claim:
            r = request(claim_id=claim_id, artwork_reference=artwork)
            return Claim(r, request_hash(r), status)

        await self.insert(
            with_artwork("dup-pending", Status.PENDING),
            with_artwork("dup-review", Status.AWAITING_REVIEW),
            with_artwork("dup-approved", Status.APPROVED),
            with_artwork("dup-rejected", Status.REJECTED),
            with_artwork("dup-withdrawn", Status.WITHDRAWN),
            with_artwork("other-artwork", Status.APPROVED, artwork="artwork-y"),
        )
        async with self.transaction() as store:
            found = await store.open_claims_with("GTIN-05000112637922", "artwork-x")
            other_product = await store.open_claims_with("GTIN-other", "artwork-x")
        assert found == [f"{BRAND}/dup-approved", f"{BRAND}/dup-pending", f"{BRAND}/dup-review"]
        assert other_product == []

    async def test_a_sites_yearly_output_adds_up_exactly_and_remembers_its_alert(self) -> None:
        site_id, site = _smelter(Decimal("1000.5"))
        async with self.transaction() as store:
            unknown = await store.add_site_output(site_id, 2026, Decimal("0.1"))
            await store.save_sites([site])
        assert (unknown.organisation_id, unknown.capacity_kg) == (None, None)
        async with self.transaction() as store:
            first = await store.add_site_output(site_id, 2026, Decimal("600.25"))
            second = await store.add_site_output(site_id, 2026, Decimal("400.2"))
            other_year = await store.add_site_output(site_id, 2027, Decimal(7))
        assert (first.coc_output_kg, second.coc_output_kg) == (
            Decimal("600.35"),
            Decimal("1000.55"),
        )
        assert (second.organisation_id, second.capacity_kg, second.alerted) == (
            SUPPLIER,
            Decimal("1000.5"),
            False,
        )
        assert (other_year.year, other_year.coc_output_kg) == (2027, Decimal(7))
        async with self.transaction() as store:
            await store.mark_site_alerted(site_id, 2026)
        async with self.transaction() as store:
            after = await store.add_site_output(site_id, 2026, Decimal(1))
            next_year = await store.add_site_output(site_id, 2027, Decimal(1))
        assert (after.coc_output_kg, after.alerted) == (Decimal("1001.55"), True)
        assert next_year.alerted is False

    async def test_one_transaction_sees_its_own_site_output_registration_and_alert(self) -> None:
        site_id, site = _smelter(Decimal(10))
        async with self.transaction() as store:
            unknown = await store.add_site_output(site_id, 2026, Decimal(6))
            await store.save_sites([site])
            known = await store.add_site_output(site_id, 2026, Decimal(5))
            await store.mark_site_alerted(site_id, 2026)
            alerted = await store.add_site_output(site_id, 2026, Decimal("0.5"))
        assert (unknown.organisation_id, unknown.coc_output_kg) == (None, Decimal(6))
        assert (known.organisation_id, known.capacity_kg, known.coc_output_kg, known.alerted) == (
            SUPPLIER,
            Decimal(10),
            Decimal(11),
            False,
        )
        assert (alerted.coc_output_kg, alerted.alerted) == (Decimal("11.5"), True)
        async with self.transaction() as store:
            later = await store.add_site_output(site_id, 2026, Decimal(1))
        assert (later.coc_output_kg, later.alerted) == (Decimal("12.5"), True)


def _smelter(capacity_kg_per_year: Decimal) -> tuple[str, Site]:
    """A new smelting site of the supplier with this declared yearly output capacity."""
    from contracts.common import Activity

    site_id = f"site-{uuid.uuid4().hex[:8]}"
    return site_id, Site(
        site_id=site_id,
        organisation_id=SUPPLIER,
        name="Smelter",
        country="NO",
        activities=[Activity.SMELTING],
        output_capacity_kg_per_year=capacity_kg_per_year,
    )
