"""The Assurance Manual's journey through the real broker and database: a provisional certificate
with two Majors, its Corrective Action Plan submitted and approved, the closures verified by the body
that audited, upgraded to full and re-signed; an on-pack logo claim, which needs a full certificate,
refused by claims while the certificate is provisional and approved once it is upgraded; the signing
keys learnt from certificates.events.v1, rotated by command, the old signature still verifiable with
the retired key."""

from __future__ import annotations

import json
from contextlib import AsyncExitStack
from datetime import date, timedelta

import pytest

from contracts.audits import CorrectiveActionPlanApproved, CorrectiveActionPlanSubmitted, NonconformityClosed
from contracts.certificates import CertificateChange, CertificateChanged, RotateSigningKey, SuspendCertificate
from contracts.claims import ClaimApproved, ClaimReason, ClaimRejected
from contracts.common import Role
from contracts.ledger import AllocateForClaim
from contracts.registry import CertificateStatus, CorrectiveAction
from contracts.signing import Signer, SigningKeyPublished, b64url, canonical_json, parse
from libs.clock import ManualClock
from services.certificates import cli as certificates_cli
from services.certificates.app import build_runtime
from services.certificates.config import Settings
from services.certificates.signing import VerificationError, verify
from services.claims.app import build_runtime as build_claims
from services.claims.config import Settings as ClaimsSettings
from tests.integration.test_certificates_journey import SECRETARIAT, audit, register
from tests.integration.test_claims_saga import approve_on_review, changed, granted, of, until
from tests.support import NOW, actor, running, service_settings, unique
from tests.unit.claims.builders import coc, request

pytestmark = pytest.mark.integration


def keys_on_topic(recorder) -> dict[str, SigningKeyPublished]:
    """What a verifier learns from the topic: every key, retired ones with their end."""
    learnt: dict[str, SigningKeyPublished] = {}
    for m in recorder.messages(kind=SigningKeyPublished):
        if m.kid not in learnt or m.valid_until is not None:
            learnt[m.kid] = m
    return learnt


async def test_provisional_with_two_majors_plan_approved_closures_verified_upgraded_then_key_rotated(
        stack, recorder, sender, capsys):
    settings = service_settings(Settings, stack, clock_start=NOW, tick_interval_s=0.2)
    org, body, sites = unique("org"), unique("cb"), [unique("site")]
    by_body = actor(body, Role.CERTIFICATION_BODY)
    async with running(build_runtime, settings), AsyncExitStack() as claims_running:
        claims = await claims_running.enter_async_context(
            running(build_claims, service_settings(ClaimsSettings, stack), clock=ManualClock(NOW)))
        await register(sender, recorder, org, body, sites)
        first = audit(org, body, sites, audit_id=unique("audit"), majors=2)
        await sender.send(first)
        [issued] = await recorder.wait_for(CertificateChanged, lambda m: m.certificate.organisation_id == org)
        cid = issued.certificate.certificate_id
        assert issued.certificate.status is CertificateStatus.PROVISIONAL
        assert issued.certificate.corrective_action_plans[0].submit_by == date(2026, 6, 20)

        # The same member also holds a full CoC certificate (played here): while its PS certificate is
        # provisional, claims refuses the on-pack logo claim, which needs full certificates.
        await sender.send(changed(coc(org=org, number=f"ASI-COC-2026-{unique('n')[-6:]}".upper(),
                                      certificate_id=unique("coc"))))
        registry = claims.db["registry"]
        await until(lambda: registry.count_documents({"organisation_id": org, "kind": "certificate"}), 2)
        early = unique("claim")
        await sender.send(request(claim_id=early, org=org))
        [refused] = await recorder.wait_for(ClaimRejected, of(early))
        assert [(r.code, r.field) for r in refused.reasons] == [
            (ClaimReason.FULL_CERTIFICATE_REQUIRED, "claimant_organisation_id")]
        assert issued.certificate.certificate_number in refused.reasons[0].message
        assert not recorder.messages(kind=AllocateForClaim, where=of(early))

        common = {"actor": by_body, "occurred_at": NOW, "certification_body_id": body, "organisation_id": org,
                  "certificate_id": cid}
        await sender.send(CorrectiveActionPlanSubmitted.create(
            **common, audit_id=first.audit_id, submitted_on=date(2026, 5, 27),
            actions=[CorrectiveAction(finding_id=f"NC-{i}", due_on=date(2026, 5, 20) + timedelta(days=90 + i),
                                      action="train and re-check") for i in range(2)]))
        await sender.send(CorrectiveActionPlanApproved.create(**common, audit_id=first.audit_id,
                                                              approved_on=date(2026, 5, 28)))
        for i in range(2):
            await sender.send(NonconformityClosed.create(**common, finding_id=f"NC-{i}", closed_on=date(2026, 5, 30),
                                                         evidence="verified on site"))
        events = await recorder.wait_for(CertificateChanged, lambda m: m.certificate.certificate_id == cid, count=6)
        assert [e.change for e in events] == [
            CertificateChange.ISSUED, CertificateChange.CAP_SUBMITTED, CertificateChange.CAP_APPROVED,
            CertificateChange.FINDING_CLOSED, CertificateChange.FINDING_CLOSED, CertificateChange.UPGRADED_TO_FULL]
        upgraded = events[-1]
        assert upgraded.certificate.status is CertificateStatus.ACTIVE and not upgraded.certificate.provisional
        assert upgraded.certificate.valid_until == date(2029, 5, 19)
        assert upgraded.certificate.surveillance_due_on == date(2028, 5, 20)

        # Upgraded to full: the claim needing a full certificate goes through (the test plays
        # accounting's allocation; the secretariat approves it from the review queue).
        await until(lambda: registry.count_documents({"certificate_id": cid, "status": "active"}), 1)
        later = unique("claim")
        await sender.send(request(claim_id=later, org=org))
        [allocate] = await recorder.wait_for(AllocateForClaim, of(later))
        await sender.send(granted(later, org, str(allocate.mass_kg), allocate))
        await approve_on_review(sender, recorder, later, org)
        [approved] = await recorder.wait_for(ClaimApproved, of(later))
        assert {c.certificate_id: c.status for c in approved.evidence.certificates}[cid] is CertificateStatus.ACTIVE
        await claims_running.aclose()  # its logs would mix with the command line's output below

        # The signed form is re-issued; a verifier finds its key on the topic.
        first_kid = parse(upgraded.signed_certificate)[0]["kid"]
        await recorder.wait_for(SigningKeyPublished, lambda m: m.kid == first_kid)  # not an earlier test's key
        learnt = keys_on_topic(recorder)
        assert learnt[first_kid].valid_until is None
        assert verify(upgraded.signed_certificate, learnt[first_kid].jwk) == upgraded.certificate.model_dump(mode="json")

        # Rotation: the old key is published again as retired, the new one signs from now on.
        await sender.send(RotateSigningKey.create(actor=SECRETARIAT, occurred_at=NOW, reason="yearly rotation"))
        await recorder.wait_for(SigningKeyPublished, lambda m: m.kid == first_kid and m.valid_until is not None)
        await sender.send(SuspendCertificate.create(actor=SECRETARIAT, occurred_at=NOW, certificate_id=cid,
                                                    reason="unpaid fees"))
        [suspended] = await recorder.wait_for(CertificateChanged, lambda m: m.certificate.certificate_id == cid
                                              and m.change is CertificateChange.SUSPENDED)
        new_kid = parse(suspended.signed_certificate)[0]["kid"]
        await recorder.wait_for(SigningKeyPublished, lambda m: m.kid == new_kid)
        learnt = keys_on_topic(recorder)
        assert new_kid != first_kid and learnt[new_kid].valid_until is None
        assert verify(suspended.signed_certificate, learnt[new_kid].jwk)["status"] == "suspended"
        assert verify(upgraded.signed_certificate, learnt[first_kid].jwk)["status"] == "active"
        with pytest.raises(VerificationError):
            verify(upgraded.signed_certificate, learnt[new_kid].jwk)

        # The command line learns the keys from the topic too.
        async def cli(*argv: str) -> tuple[int, str, str]:
            capsys.readouterr()
            code = await certificates_cli.run(list(argv), settings)
            captured = capsys.readouterr()
            return code, captured.out, captured.err

        code, out, _ = await cli("verify", upgraded.signed_certificate)
        checked = json.loads(out)
        assert code == 0 and checked["kid"] == first_kid and checked["key_retired_at"] is not None
        header, payload, signature = upgraded.signed_certificate.split(".")
        forged_body = b64url(canonical_json({**upgraded.certificate.model_dump(mode="json"), "status": "withdrawn"}))
        code, _, err = await cli("verify", f"{header}.{forged_body}.{signature}")
        assert code == 1 and err.startswith("INVALID")
        code, _, err = await cli("verify", Signer.generate().sign(b"{}"))
        assert code == 1 and err.startswith("UNKNOWN")
        code, out, _ = await cli("keys")
        assert {k["kid"] for k in json.loads(out)} >= {first_kid, new_kid}
