"""Certificates through the real broker and database: audit to signed certificate, secretariat
commands, refusals, and a registry rebuilt by replaying certificates.events.v1 from the start."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from contracts.audits import AuditOutcomeSubmitted, AuditType, NonconformityClosed
from contracts.certificates import (
    CertificateChange,
    CertificateChanged,
    CertificateInputRejected,
    CertificationBodyRegistered,
    RegisterCertificationBody,
    RegisterMember,
    RegisterSite,
    ReinstateCertificate,
    SiteRegistered,
    SuspendCertificate,
)
from contracts.common import Activity, Role, Standard
from contracts.registry import (
    CertificateScope,
    CertificateStatus,
    CertificationBody,
    Finding,
    Member,
    MembershipClass,
    ScopeLevel,
    Severity,
    Site,
)
from services.certificates import cli as certificates_cli
from services.certificates.adapters.store import certificate_from
from services.certificates.adapters.keys import load_signer
from services.certificates.app import build_runtime
from services.certificates.config import Settings
from services.certificates.domain.figures import rebuild
from services.certificates.signing import verify
from tests.support import NOW, TopicRecorder, actor, running, service_settings, unique

pytestmark = pytest.mark.integration
SECRETARIAT = actor("asi", Role.SECRETARIAT)


async def register(sender, recorder, org: str, body: str, sites: list[str],
                   klass: MembershipClass = MembershipClass.PRODUCTION_AND_TRANSFORMATION,
                   joined: date = date(2025, 1, 1)) -> None:
    await sender.send(RegisterCertificationBody.create(actor=SECRETARIAT, occurred_at=NOW, certification_body=CertificationBody(
        certification_body_id=body, name="Audits", accredited_from=date(2020, 1, 1), accredited_until=date(2030, 12, 31))))
    await sender.send(RegisterMember.create(actor=SECRETARIAT, occurred_at=NOW, member=Member(
        organisation_id=org, name="Smelter", membership_class=klass, joined_on=joined)))
    for site in sites:
        await sender.send(RegisterSite.create(actor=SECRETARIAT, occurred_at=NOW, site=Site(
            site_id=site, organisation_id=org, name=site, country="NO", activities=[Activity.SMELTING])))
    await recorder.wait_for(CertificationBodyRegistered, lambda m: m.certification_body.certification_body_id == body)
    await recorder.wait_for(SiteRegistered, lambda m: m.site.organisation_id == org, count=len(sites))


def audit(org: str, body: str, sites: list[str], *, audit_id: str, majors: int = 0, completed: date = date(2026, 5, 20),
          audit_type: AuditType = AuditType.INITIAL, certificate_id: str | None = None) -> AuditOutcomeSubmitted:
    findings = [Finding(finding_id=f"NC-{i}", principle="PS-9", criterion="9.1", severity=Severity.MAJOR,
                        description="gap", raised_on=completed, due_on=completed + timedelta(days=180))
                for i in range(majors)]
    return AuditOutcomeSubmitted.create(
        actor=actor(body, Role.CERTIFICATION_BODY), occurred_at=NOW, audit_id=audit_id, certification_body_id=body,
        organisation_id=org, audit_type=audit_type, standard=Standard.PERFORMANCE_STANDARD, standard_version="V3-2022",
        audit_started_on=completed - timedelta(days=2), audit_completed_on=completed,
        scope=CertificateScope(level=ScopeLevel.FACILITY, site_ids=sites), findings=findings,
        certificate_id=certificate_id)


def changes_of(recorder, cid: str) -> list[CertificateChanged]:
    return recorder.messages(kind=CertificateChanged, where=lambda m: m.certificate.certificate_id == cid)


async def test_an_audit_issues_a_signed_certificate_and_the_secretariat_suspends_it(stack, recorder, sender):
    settings = service_settings(Settings, stack, clock_start=NOW)
    org, body, sites = unique("org"), unique("cb"), [unique("site"), unique("site")]
    async with running(build_runtime, settings) as runtime:
        await register(sender, recorder, org, body, sites)
        first = audit(org, body, sites, audit_id=unique("audit"), majors=1)
        await sender.send(first)
        [issued] = await recorder.wait_for(CertificateChanged, lambda m: m.certificate.organisation_id == org)
        certificate = issued.certificate
        assert issued.change is CertificateChange.ISSUED and issued.causation_id == first.event_id
        assert certificate.status is CertificateStatus.PROVISIONAL and certificate.valid_until == date(2027, 5, 19)
        assert certificate.certificate_number.startswith("ASI-PS-2026-")
        jwk = (await load_signer(settings, runtime.db)).jwk
        assert verify(issued.signed_certificate, jwk) == certificate.model_dump(mode="json")

        cid = certificate.certificate_id
        await sender.send(SuspendCertificate.create(actor=SECRETARIAT, occurred_at=NOW, certificate_id=cid,
                                                    reason="unpaid fees"))
        await recorder.wait_for(CertificateChanged, lambda m: m.certificate.certificate_id == cid
                                and m.change is CertificateChange.SUSPENDED)
        await sender.send(ReinstateCertificate.create(actor=SECRETARIAT, occurred_at=NOW, certificate_id=cid,
                                                      reason="paid"))
        await recorder.wait_for(CertificateChanged, lambda m: m.certificate.certificate_id == cid, count=3)
        await sender.send(NonconformityClosed.create(
            actor=actor(body, Role.CERTIFICATION_BODY), occurred_at=NOW, certification_body_id=body,
            organisation_id=org, certificate_id=cid, finding_id="NC-0", closed_on=date(2026, 5, 30), evidence="fixed"))
        # Closing the only Major, verified by the body that audited, upgrades it to full.
        await recorder.wait_for(CertificateChanged, lambda m: m.certificate.certificate_id == cid, count=5)

        # Refusals: unknown certificate, duplicate audit id with other content, audit for an unknown site.
        ghost = SuspendCertificate.create(actor=SECRETARIAT, occurred_at=NOW, certificate_id="cert-ghost", reason="x")
        forged = audit(org, body, sites, audit_id=first.audit_id, majors=0)
        stranger = audit(org, body, [unique("site")], audit_id=unique("audit"))
        replay = first.model_copy()
        for message in (ghost, forged, stranger, replay):
            await sender.send(message)
        for message, code in ((ghost, "unknown_certificate"), (forged, "duplicate_audit_id"), (stranger, "unknown_site")):
            [rejected] = await recorder.wait_for(CertificateInputRejected, lambda m, e=message.event_id: m.rejected_event_id == e)
            assert code in {r.code for r in rejected.reasons}

        stored = certificate_from(await runtime.db["certificates"].find_one({"_id": cid}))
        assert await runtime.db["audits"].count_documents({"organisation_id": org}) == 1
        assert await runtime.db["certificate_history"].count_documents({"certificate_id": cid}) == 5

    events = changes_of(recorder, cid)
    assert [e.change for e in events] == [CertificateChange.ISSUED, CertificateChange.SUSPENDED,
                                          CertificateChange.REINSTATED, CertificateChange.FINDING_CLOSED,
                                          CertificateChange.UPGRADED_TO_FULL]
    assert [e.certificate.revision for e in events] == [1, 2, 3, 4, 5]
    assert stored == events[-1].certificate and stored.status is CertificateStatus.ACTIVE
    assert stored.valid_until == date(2029, 5, 19)
    assert len(recorder.messages(kind=CertificateChanged, where=lambda m: m.certificate.organisation_id == org)) == 5


async def test_a_subscriber_replaying_the_topic_from_the_start_rebuilds_the_same_registry(stack, recorder, sender,
                                                                                         capsys, tmp_path):
    settings = service_settings(Settings, stack, clock_start=NOW)
    org, body, sites = unique("org"), unique("cb"), [unique("site")]
    async with running(build_runtime, settings) as runtime:
        await register(sender, recorder, org, body, sites)
        # Completed on 10 May: its Corrective Action Plan is not due yet (10 June), so the clock leaves it alone.
        initial = audit(org, body, sites, audit_id=unique("audit"), majors=2, completed=date(2026, 5, 10))
        other = audit(org, body, sites, audit_id=unique("audit"))
        await sender.send(initial)
        await sender.send(other)
        await recorder.wait_for(CertificateChanged, lambda m: m.certificate.organisation_id == org, count=2)
        [old] = [m.certificate for m in recorder.messages(kind=CertificateChanged)
                 if m.certificate.organisation_id == org and m.certificate.audit_id == initial.audit_id]
        await sender.send(audit(org, body, sites, audit_id=unique("audit"), audit_type=AuditType.RECERTIFICATION,
                                certificate_id=old.certificate_id))
        await recorder.wait_for(CertificateChanged, lambda m: m.certificate.organisation_id == org, count=4)
        late = SuspendCertificate.create(actor=SECRETARIAT, occurred_at=NOW, reason="complaint",
                                         certificate_id=old.certificate_id)
        await sender.send(late)
        [refused] = await recorder.wait_for(CertificateInputRejected, lambda m: m.rejected_event_id == late.event_id)
        assert refused.reasons[0].code == "certificate_superseded"
        stored = {doc["_id"]: certificate_from(doc)
                  async for doc in runtime.db["certificates"].find({"organisation_id": org})}

    replayer = await TopicRecorder(stack.kafka_bootstrap, ["certificates.events.v1"]).start()
    try:
        await replayer.wait_for(CertificateChanged, lambda m: m.certificate.organisation_id == org, count=4)
        rebuilt = rebuild(m for m in replayer.messages() if isinstance(m, CertificateChanged)
                          and m.certificate.organisation_id == org)
    finally:
        await replayer.stop()
    assert rebuilt == stored and len(rebuilt) == 3
    statuses = sorted(c.status.value for c in rebuilt.values())
    assert statuses == ["active", "provisional", "superseded"], (
        "the suspend came after the supersession and was refused; the two open Majors were carried to the new one")
    await check_the_cli(settings, org, old, rebuilt, capsys, tmp_path)


async def check_the_cli(settings, org, old, rebuilt, capsys, tmp_path) -> None:
    async def cli(*argv: str) -> tuple[int, str]:
        capsys.readouterr()
        code = await certificates_cli.run(list(argv), settings)
        return code, capsys.readouterr().out

    code, out = await cli("lookup", "--number", old.certificate_number)
    [found] = json.loads(out)
    assert code == 0 and [h["change"] for h in found["history"]] == ["issued", "superseded"]
    assert [a["outcome"] for a in found["audits"]] == ["issued", "issued"]
    code, out = await cli("lookup", "--organisation", org)
    assert {c["certificate"]["certificate_id"] for c in json.loads(out)} == set(rebuilt)
    code, out = await cli("lookup", "--site", old.scope.site_ids[0])
    assert len(json.loads(out)) == 3
    code, out = await cli("status", old.certificate_number, "ASI-PS-1999-000000")
    first, missing = (json.loads(line) for line in out.splitlines())
    assert code == 1 and first["status"] == "superseded" and missing["status"] == "unknown"
    code, out = await cli("figures", "--as-of", "2026-06-01")
    assert json.loads(out)["by_principle"]["PS-9"]["major"] >= 2

    code, out = await cli("public-key")
    jwk_file = tmp_path / "jwk.json"
    jwk_file.write_text(out)
    signed = await certificates_cli.run(["status-list"], settings)
    jws = capsys.readouterr().out.strip()
    statuses = verify(jws, json.loads(out))["statuses"]
    assert signed == 0 and statuses[old.certificate_number] == "superseded"
    code, out = await cli("verify", jws, "--jwk", str(jwk_file))
    assert code == 0 and json.loads(out)["valid"] is True
    header, payload, signature = jws.split(".")
    code, _ = await cli("verify", f"{header}.{payload[:-4]}AAAA.{signature}", "--jwk", str(jwk_file))
    assert code == 1
