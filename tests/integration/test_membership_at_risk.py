"""Membership at risk through the real broker and database: the certificates service flags a
must-certify member without a PS certificate past its deadline; the gateway shows the standing to
the member and the secretariat; the secretariat extends one member's deadline and records another's
forfeiture through the gateway; a forfeiture for a member not at risk is refused with its reason."""

from __future__ import annotations

from datetime import date

import pytest

from contracts.certificates import (
    CertificateInputRejected,
    CertificationDeadlineExtended,
    MemberCertificationOverdue,
    MembershipForfeited,
    RecordMembershipForfeiture,
    RegisterMember,
)
from contracts.common import Role
from contracts.registry import Member, MembershipClass
from services.certificates.app import build_runtime
from services.certificates.config import Settings
from devstack.gateway_testing import eventually, gateway_client
from tests.integration.test_gateway_api import ADMIN, auth, gateway_settings, new_key
from tests.support import NOW, actor, running, service_settings, unique

pytestmark = pytest.mark.integration
SECRETARIAT = actor("asi", Role.SECRETARIAT)


async def test_members_at_risk_are_flagged_shown_extended_or_forfeited(stack, recorder, sender):
    at_risk, forfeits, fine = unique("mill"), unique("smelter"), unique("ngo")
    for org, klass, joined in ((at_risk, MembershipClass.PRODUCTION_AND_TRANSFORMATION, date(2024, 1, 1)),
                               (forfeits, MembershipClass.INDUSTRIAL_USERS, date(2024, 1, 1)),
                               (fine, MembershipClass.CIVIL_SOCIETY, date(2024, 1, 1))):
        await sender.send(RegisterMember.create(actor=SECRETARIAT, occurred_at=NOW, member=Member(
            organisation_id=org, name=org, membership_class=klass, joined_on=joined)))
    settings = service_settings(Settings, stack, clock_start=NOW, tick_interval_s=0.2)
    async with running(build_runtime, settings), gateway_client(gateway_settings(stack)) as (_, client):
        flagged = await recorder.wait_for(MemberCertificationOverdue, lambda m: m.organisation_id in (at_risk, forfeits),
                                          count=2)
        assert {m.organisation_id for m in flagged} == {at_risk, forfeits}
        assert not recorder.messages(kind=MemberCertificationOverdue, where=lambda m: m.organisation_id == fine)

        member_token = await new_key(client, at_risk, Role.PRODUCER)

        async def standing(org: str, token: str = ADMIN) -> str | None:
            response = await client.get(f"/v1/members/{org}/certification", headers=auth(token))
            return response.json()["certification"]["status"] if response.status_code == 200 else None

        await eventually(lambda: _is(standing(at_risk, member_token), "at_risk"), what="the member sees it is at risk")
        assert (await client.get(f"/v1/members/{forfeits}/certification", headers=auth(member_token))).status_code == 404

        extend = {"type": "extend_certification_deadline", "organisation_id": at_risk, "until": "2026-12-31",
                  "reason": "audit booked for October"}
        forfeit = {"type": "record_membership_forfeiture", "organisation_id": forfeits, "reason": "no audit booked"}
        for command in (extend, forfeit):
            response = await client.post("/v1/certificate-commands", json=command, headers=auth(ADMIN))
            assert response.status_code == 202, response.text
        [extended] = await recorder.wait_for(CertificationDeadlineExtended, lambda m: m.organisation_id == at_risk)
        assert extended.until == date(2026, 12, 31)
        [forfeited] = await recorder.wait_for(MembershipForfeited, lambda m: m.organisation_id == forfeits)
        assert forfeited.forfeited_on == NOW.date()
        await eventually(lambda: _is(standing(at_risk), "extended"), what="extended")
        await eventually(lambda: _is(standing(forfeits), "forfeited"), what="forfeited")

        # Once extended, the member is not at risk: a forfeiture is refused, with the reason.
        refused = RecordMembershipForfeiture.create(actor=SECRETARIAT, occurred_at=NOW, organisation_id=at_risk,
                                                    reason="changed our mind")
        await sender.send(refused)
        [rejection] = await recorder.wait_for(CertificateInputRejected, lambda m: m.rejected_event_id == refused.event_id)
        assert {(r.code, r.field) for r in rejection.reasons} == {("membership_not_at_risk", "organisation_id")}


async def _is(value, expected: str) -> bool:
    return (await value) == expected
