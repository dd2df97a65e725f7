"""The clock through the real broker and database: members flagged once, and a certificate that
expires while the service is down expires on restart, exactly once, dated at its end date."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from contracts.certificates import CertificateChange, CertificateChanged, MemberCertificationOverdue
from contracts.registry import CertificateStatus
from libs.clock import ManualClock
from services.certificates.app import build_runtime
from services.certificates.config import Settings
from tests.integration.test_certificates_journey import audit, register
from tests.support import running, service_settings, unique

pytestmark = pytest.mark.integration


async def test_members_are_flagged_once_and_expiry_catches_up_after_downtime(stack, recorder, sender):
    clock = ManualClock(datetime(2025, 12, 1, 9, tzinfo=UTC))
    settings = service_settings(Settings, stack)
    certified, idle, body = unique("org"), unique("org"), unique("cb")
    sites = [unique("site")]
    async with running(build_runtime, settings, clock=clock) as runtime:
        await register(sender, recorder, certified, body, sites, joined=date(2024, 1, 1))
        await register(sender, recorder, idle, body, [unique("site")], joined=date(2024, 1, 1))
        await sender.send(audit(certified, body, sites, audit_id=unique("audit"), completed=date(2025, 11, 20)))
        [issued] = await recorder.wait_for(CertificateChanged, lambda m: m.certificate.organisation_id == certified)
        assert issued.certificate.valid_until == date(2028, 11, 19)

        clock.set(datetime(2026, 1, 2, 0, 0, tzinfo=UTC))  # both members' deadline (2026-01-01) has passed
        for _ in range(3):
            await runtime.run_tick("membership-certification")
        [flag] = await recorder.wait_for(MemberCertificationOverdue, lambda m: m.organisation_id in {certified, idle})
        assert flag.organisation_id == idle and flag.occurred_at == datetime(2026, 1, 2, tzinfo=UTC)

    # Down for three years: the surveillance due on 2027-11-20 was missed (flagged the next day, suspended
    # after 60 days of grace) and the certificate ended on 2028-11-19.
    clock.set(datetime(2029, 3, 1, tzinfo=UTC))
    async with running(build_runtime, settings, clock=clock) as runtime:
        [expired] = await recorder.wait_for(CertificateChanged, lambda m: m.certificate.organisation_id == certified
                                            and m.change is CertificateChange.EXPIRED)
        for _ in range(3):
            await runtime.run_tick("certificate-clock")
            await runtime.run_tick("membership-certification")
    await recorder.settle(quiet_s=0.5)
    assert expired.occurred_at == datetime(2028, 11, 20, tzinfo=UTC)
    assert expired.certificate.status is CertificateStatus.EXPIRED and expired.certificate.revision == 4
    changes = recorder.messages(kind=CertificateChanged, where=lambda m: m.certificate.organisation_id == certified)
    assert [(c.change, c.occurred_at.date()) for c in changes] == [
        (CertificateChange.ISSUED, date(2025, 12, 1)), (CertificateChange.SURVEILLANCE_OVERDUE, date(2027, 11, 21)),
        (CertificateChange.SUSPENDED, date(2028, 1, 20)), (CertificateChange.EXPIRED, date(2028, 11, 20))]
    assert len(recorder.messages(kind=MemberCertificationOverdue,
                                 where=lambda m: m.organisation_id in {certified, idle})) == 1
