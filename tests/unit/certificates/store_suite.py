"""One test suite for every `CertificatesStore` (eventsourcing's recorder test case pattern): it
runs unchanged against the in-memory fake (test_store_fake.py) and against MongoDB
(tests/integration/test_certificates_store.py), so the fake the handler tests rely on cannot
drift."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import date, timedelta

import pytest
from pymongo.errors import PyMongoError

from contracts.audits import AuditOutcomeSubmitted
from contracts.common import Standard
from contracts.registry import Certificate, CertificateStatus
from services.certificates.domain.audits import submit_audit
from services.certificates.domain.books import counter_key
from services.certificates.domain.clock import clock_due
from services.certificates.domain.commands import apply_command
from services.certificates.domain.membership import Standing
from services.certificates.domain.model import Change
from services.certificates.ports import CertificatesStore
from tests.unit.certificates.builders import (
    BODY,
    NOW,
    ORG,
    OTHER,
    RULES,
    audit,
    books,
    majors,
    suspend,
    withdraw,
)

COUNTERS = [counter_key(RULES, s, NOW.year) for s in Standard]


class StoreSuite:
    """Subclasses provide `transaction()`: a store in a new transaction, committed at the end."""

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[CertificatesStore]:
        raise NotImplementedError
        yield

    async def registered(self) -> None:
        """The builders' members, sites and certification bodies."""
        known = books()
        async with self.transaction() as store:
            for record in [*known.members.values(), *known.sites.values(), *known.bodies.values()]:
                await store.save_record(record)

    async def take(self, submitted: AuditOutcomeSubmitted) -> list[Change]:
        """What the audits handler does: load, decide, save, in one transaction."""
        async with self.transaction() as store:
            loaded = await store.load_books(
                members=[submitted.organisation_id],
                sites=submitted.scope.site_ids,
                bodies=[submitted.certification_body_id],
                certificates=[submitted.certificate_id] if submitted.certificate_id else [],
                audits=[submitted.audit_id],
                counters=COUNTERS,
            )
            changes = submit_audit(loaded, submitted, NOW, RULES).changes
            await store.save_books(loaded, [f"jws-{c.certificate.revision}" for c in changes])
        return changes

    async def issued(self, audit_id: str = "AUD-1", n_majors: int = 0) -> Certificate:
        await self.registered()
        [change] = await self.take(audit(audit_id, findings=majors(n_majors)))
        return change.certificate

    async def stored(self, certificate_id: str) -> Certificate:
        async with self.transaction() as store:
            return (await store.load_books(certificates=[certificate_id])).certificates[
                certificate_id
            ]

    # ---- the registry --------------------------------------------------------------------------

    async def test_registry_records_are_read_back_one_by_one_and_in_books(self) -> None:
        await self.registered()
        async with self.transaction() as store:
            assert (await store.member(ORG)) == books().members[ORG]
            assert (await store.site("site-a")) == books().sites["site-a"]
            assert (await store.certification_body(BODY)) == books().bodies[BODY]
            assert await store.member("nobody") is None
            loaded = await store.load_books(
                members=[ORG, "nobody"], sites=["site-b", "site-b"], bodies=[BODY]
            )
            assert (await store.members([ORG, OTHER, "nobody"])).keys() == {ORG, OTHER}
        assert loaded.members == {ORG: books().members[ORG]}
        assert loaded.sites == {"site-b": books().sites["site-b"]}
        assert loaded.bodies == {BODY: books().bodies[BODY]}
        assert loaded.certificates == {} and loaded.loaded == {}

    async def test_a_registry_record_saved_again_replaces_the_first(self) -> None:
        await self.registered()
        renamed = books().members[ORG].model_copy(update={"name": "Smelter AS"})
        async with self.transaction() as store:
            await store.save_record(renamed)
        async with self.transaction() as store:
            assert (await store.member(ORG)) == renamed

    # ---- certificates, numbers, audits ---------------------------------------------------------

    async def test_an_issued_certificate_is_read_back_at_its_revision_with_its_audit(self) -> None:
        certificate = await self.issued()
        async with self.transaction() as store:
            loaded = await store.load_books(
                certificates=[certificate.certificate_id], audits=["AUD-1", "AUD-2"]
            )
        assert loaded.certificates == {certificate.certificate_id: certificate}
        assert loaded.loaded[certificate.certificate_id] == 1
        assert loaded.audit_digests.keys() == {"AUD-1"}

    async def test_numbers_count_on_across_transactions(self) -> None:
        first = await self.issued("AUD-1")
        [second] = await self.take(audit("AUD-2"))
        assert first.certificate_number == "ASI-PS-2026-000001"
        assert second.certificate.certificate_number == "ASI-PS-2026-000002"
        async with self.transaction() as store:
            loaded = await store.load_books(counters=COUNTERS)
        assert loaded.counters == {"ASI-PS-2026": 2}
        assert loaded.loaded["counter:ASI-PS-2026"] == 2

    async def test_the_same_audit_again_changes_nothing(self) -> None:
        certificate = await self.issued()
        assert await self.take(audit()) == []
        assert await self.stored(certificate.certificate_id) == certificate

    async def test_a_new_revision_replaces_the_one_it_was_read_at(self) -> None:
        certificate = await self.issued()
        async with self.transaction() as store:
            loaded = await store.load_books(certificates=[certificate.certificate_id])
            outcome = apply_command(loaded, suspend(certificate.certificate_id), NOW)
            await store.save_books(loaded, ["jws-2"])
        stored = await self.stored(certificate.certificate_id)
        assert stored == outcome.changes[0].certificate
        assert stored.status is CertificateStatus.SUSPENDED and stored.revision == 2

    async def test_a_revision_read_before_a_concurrent_change_is_a_write_conflict(self) -> None:
        certificate = await self.issued()
        async with self.transaction() as store:
            stale = await store.load_books(certificates=[certificate.certificate_id])
        async with self.transaction() as store:
            fresh = await store.load_books(certificates=[certificate.certificate_id])
            apply_command(fresh, suspend(certificate.certificate_id), NOW)
            await store.save_books(fresh, ["jws-2"])
        apply_command(stale, suspend(certificate.certificate_id), NOW)
        with pytest.raises(PyMongoError):
            async with self.transaction() as store:
                await store.save_books(stale, ["jws-2b"])
        assert (await self.stored(certificate.certificate_id)).revision == 2

    async def test_a_number_counted_by_another_transaction_is_a_write_conflict(self) -> None:
        await self.registered()
        async with self.transaction() as store:
            stale = await store.load_books(
                members=[ORG], sites=["site-a"], bodies=[BODY], counters=COUNTERS
            )
        await self.take(audit("AUD-1"))
        submit_audit(stale, audit("AUD-2"), NOW, RULES)
        with pytest.raises(PyMongoError):
            async with self.transaction() as store:
                await store.save_books(stale, ["jws-1"])

    # ---- the clock -----------------------------------------------------------------------------

    async def test_the_clock_finds_what_fell_due_and_nothing_else(self) -> None:
        full = await self.issued("AUD-1")
        [provisional] = await self.take(audit("AUD-2", findings=majors(1)))
        falls_due = clock_due(provisional.certificate, RULES)  # its plan's last day
        assert falls_due is not None and falls_due < full.valid_until
        async with self.transaction() as store:
            assert (await store.due_certificates(falls_due, 10)).certificates == {}
            after = await store.due_certificates(falls_due + timedelta(days=1), 10)
            expired = await store.due_certificates(full.valid_until + timedelta(days=1), 10)
            first = await store.due_certificates(full.valid_until + timedelta(days=1), 1)
        cid = provisional.certificate.certificate_id
        assert after.certificates == {cid: provisional.certificate} and after.loaded == {cid: 1}
        assert expired.certificates.keys() == {full.certificate_id, cid}
        assert first.certificates.keys() == {min(full.certificate_id, cid)}

    async def test_a_certificate_no_longer_live_is_not_due(self) -> None:
        certificate = await self.issued()
        async with self.transaction() as store:
            loaded = await store.load_books(certificates=[certificate.certificate_id])
            apply_command(loaded, withdraw(certificate.certificate_id), NOW)
            await store.save_books(loaded, ["jws-2"])
        async with self.transaction() as store:
            later = certificate.valid_until + timedelta(days=400)
            assert (await store.due_certificates(later, 10)).certificates == {}
            assert await store.current_certificates([ORG], Standard.PERFORMANCE_STANDARD) == []

    async def test_current_certificates_are_the_active_and_provisional_ones_of_a_standard(
        self,
    ) -> None:
        full = await self.issued("AUD-1")
        [provisional] = await self.take(audit("AUD-2", findings=majors(1)))
        async with self.transaction() as store:
            found = await store.current_certificates([ORG, OTHER], Standard.PERFORMANCE_STANDARD)
            other = await store.current_certificates([OTHER], Standard.PERFORMANCE_STANDARD)
            coc = await store.current_certificates([ORG], Standard.CHAIN_OF_CUSTODY)
        assert {c.certificate_id for c in found} == {
            full.certificate_id,
            provisional.certificate.certificate_id,
        }
        assert other == [] and coc == []

    # ---- membership checks ---------------------------------------------------------------------

    async def test_a_membership_check_falls_due_once_and_is_finished_once(self) -> None:
        deadline = date(2026, 1, 1)
        async with self.transaction() as store:
            await store.set_membership_check(ORG, deadline)
            await store.set_membership_check(OTHER, date(2027, 1, 1))
        async with self.transaction() as store:
            assert await store.due_membership_checks(deadline, 10) == {}
            due = await store.due_membership_checks(NOW.date(), 10)
            assert await store.membership_standing(ORG) == Standing(due_on=deadline)
            await store.finish_membership_checks({ORG: True})
        assert due == {ORG: deadline}
        async with self.transaction() as store:
            assert await store.due_membership_checks(NOW.date(), 10) == {}
            assert await store.membership_standing(ORG) == Standing(due_on=deadline, flagged=True)
        with pytest.raises(PyMongoError):
            async with self.transaction() as store:
                await store.finish_membership_checks({ORG: False})

    async def test_due_checks_come_earliest_first_up_to_the_limit(self) -> None:
        async with self.transaction() as store:
            await store.set_membership_check(ORG, date(2026, 3, 1))
            await store.set_membership_check(OTHER, date(2026, 2, 1))
        async with self.transaction() as store:
            assert await store.due_membership_checks(NOW.date(), 1) == {OTHER: date(2026, 2, 1)}

    async def test_an_extension_moves_the_check_and_a_later_registration_keeps_it(self) -> None:
        until = date(2027, 6, 1)
        async with self.transaction() as store:
            await store.set_membership_check(ORG, date(2026, 1, 1))
            await store.finish_membership_checks({ORG: True})
            await store.extend_membership_check(ORG, until)
            await store.set_membership_check(ORG, date(2026, 5, 1))  # registered again
        async with self.transaction() as store:
            standing = await store.membership_standing(ORG)
            assert await store.due_membership_checks(until, 10) == {}
            assert await store.due_membership_checks(until + timedelta(days=1), 10) == {ORG: until}
        assert standing == Standing(due_on=until, extended_until=until)

    async def test_no_duty_drops_a_pending_check_but_not_a_finished_one(self) -> None:
        async with self.transaction() as store:
            await store.set_membership_check(ORG, date(2026, 1, 1))
            await store.set_membership_check(OTHER, date(2026, 1, 1))
            await store.finish_membership_checks({OTHER: True})
            await store.set_membership_check(ORG, None)
            await store.set_membership_check(OTHER, None)
        async with self.transaction() as store:
            assert await store.membership_standing(ORG) == Standing()
            assert (await store.membership_standing(OTHER)).flagged

    async def test_a_forfeiture_is_kept_with_the_check(self) -> None:
        async with self.transaction() as store:
            await store.set_membership_check(ORG, date(2026, 1, 1))
            await store.finish_membership_checks({ORG: True})
            await store.forfeit_membership(ORG, NOW.date())
            await store.forfeit_membership("nobody", NOW.date())
        async with self.transaction() as store:
            assert (await store.membership_standing(ORG)).forfeited_on == NOW.date()
            assert await store.membership_standing("nobody") == Standing()
