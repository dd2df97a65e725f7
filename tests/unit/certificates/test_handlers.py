"""The certificates service's use cases through the handlers on the in-memory fakes, one incoming
message type at a time, with the real messages adapter: the tests assert on what would be published
(message, topic and key) and on what the store then holds."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from contracts import topics
from contracts.audits import AuditOutcomeSubmitted
from contracts.certificates import (
    CertificateChange,
    CertificateChanged,
    CertificateInputRejected,
    CertificationBodyRegistered,
    CertificationDeadlineExtended,
    ExtendCertificationDeadline,
    MemberCertificationOverdue,
    MemberRegistered,
    MembershipForfeited,
    RecordMembershipForfeiture,
    RegisterCertificationBody,
    RegisterMember,
    RegisterSite,
    RotateSigningKey,
    SiteRegistered,
)
from contracts.certificates import CertificateReason as R
from contracts.common import Activity, Actor, Envelope, Role, Standard
from contracts.registry import Certificate, CertificateStatus, Site
from contracts.signing import SigningKeyPublished
from libs.messaging import Incoming, Outgoing, Record, Tx
from services.certificates.app import build_handlers
from services.certificates.config import Settings
from services.certificates.handlers import DISPATCH, CertificatesHandlers
from services.certificates.signing import verify
from tests.unit.certificates.builders import (
    BODY,
    NOW,
    ORG,
    OTHER,
    SECRETARIAT,
    audit,
    books,
    cap_approved,
    cap_submitted,
    change_scope,
    closure,
    majors,
    reinstate,
    scope,
    suspend,
    withdraw,
)
from tests.unit.certificates.fakes import FakeKeys, FakeStore

MEMBER = Actor(organisation_id=ORG, role=Role.PRODUCER)


class Service:
    """The handlers wired by the composition root on the fakes, and a way to deliver batches."""

    def __init__(self, *, key_from_settings: bool = False) -> None:
        self.store = FakeStore()
        self.keys = FakeKeys(from_settings=key_from_settings)
        self.handlers: CertificatesHandlers = build_handlers(
            Settings(), store_for=self.store, keys_for=self.keys
        )
        self.offset = 0

    async def deliver(self, *messages: Envelope, now: datetime = NOW) -> list[Outgoing]:
        batch = []
        for message in messages:
            self.offset += 1
            batch.append(Incoming(message, Record("t", 0, self.offset, None, None)))
        return list(await self.handlers.handle(batch, tx(now)))

    async def registered(self) -> None:
        known = books()
        commands: list[Envelope] = [register(m) for m in known.members.values()]
        commands += [register(s) for s in known.sites.values()]
        commands += [register(b) for b in known.bodies.values()]
        await self.deliver(*commands)

    async def issued(self, submitted: AuditOutcomeSubmitted | None = None) -> Certificate:
        await self.registered()
        [out] = await self.deliver(submitted or audit())
        return changed(out).certificate


def tx(now: datetime = NOW) -> Tx:
    """A transaction without a database: the fakes ignore it."""
    none: Any = None
    return Tx(none, none, now)


def register(record: Any, actor: Actor = SECRETARIAT) -> Envelope:
    if isinstance(record, Site):
        return RegisterSite.create(actor=actor, occurred_at=NOW, site=record)
    if hasattr(record, "certification_body_id"):
        return RegisterCertificationBody.create(
            actor=actor, occurred_at=NOW, certification_body=record
        )
    return RegisterMember.create(actor=actor, occurred_at=NOW, member=record)


def changed(out: Outgoing) -> CertificateChanged:
    assert out.topic is topics.CERTIFICATES_EVENTS
    assert isinstance(out.message, CertificateChanged)
    assert out.key == out.message.certificate.certificate_id
    return out.message


def rejected(out: Outgoing, org: str) -> list[str]:
    assert out.topic is topics.CERTIFICATES_REJECTIONS
    assert isinstance(out.message, CertificateInputRejected)
    assert out.key == org == out.message.organisation_id
    return [r.code for r in out.message.reasons]


def test_every_message_type_of_the_consumed_topics_has_a_use_case() -> None:
    consumed = {*topics.CERTIFICATES_COMMANDS.message_types()}
    consumed |= {*topics.AUDITS_OUTCOMES.message_types()}
    assert set(DISPATCH) == consumed


# ---- the registry (certificates.commands.v1) -----------------------------------------------------


async def test_a_member_registered_is_announced_keyed_by_organisation_and_its_check_set() -> None:
    service = Service()
    member = books().members[ORG]
    [out] = await service.deliver(register(member))
    assert isinstance(out.message, MemberRegistered) and out.message.member == member
    assert (out.topic, out.key) == (topics.CERTIFICATES_EVENTS, ORG)
    assert service.store.checks[ORG].due_on == date(2026, 1, 1)  # joined 2024 + 2 years
    assert await service.deliver(register(member)) == []  # the same again: unchanged


async def test_only_the_secretariat_registers() -> None:
    service = Service()
    [out] = await service.deliver(register(books().members[ORG], MEMBER))
    assert rejected(out, ORG) == [R.NOT_SECRETARIAT]
    assert service.store.member_by_id == {}


async def test_a_site_registered_is_announced_keyed_by_site() -> None:
    service = Service()
    await service.deliver(register(books().members[ORG]))
    [out] = await service.deliver(register(books().sites["site-a"]))
    assert isinstance(out.message, SiteRegistered)
    assert (out.topic, out.key) == (topics.CERTIFICATES_EVENTS, "site-a")
    assert service.store.site_by_id["site-a"] == books().sites["site-a"]


async def test_a_site_of_an_unknown_member_is_refused() -> None:
    service = Service()
    [out] = await service.deliver(register(books().sites["site-a"]))
    assert rejected(out, ORG) == [R.UNKNOWN_MEMBER]


async def test_a_certification_body_registered_is_announced_keyed_by_body() -> None:
    service = Service()
    [out] = await service.deliver(register(books().bodies[BODY]))
    assert isinstance(out.message, CertificationBodyRegistered)
    assert (out.topic, out.key) == (topics.CERTIFICATES_EVENTS, BODY)
    assert service.store.body_by_id[BODY] == books().bodies[BODY]


# ---- audits.outcomes.v1 --------------------------------------------------------------------------


async def test_an_audit_issues_a_signed_certificate_once() -> None:
    service = Service()
    await service.registered()
    submitted = audit()
    [out] = await service.deliver(submitted)
    event = changed(out)
    assert event.change is CertificateChange.ISSUED and event.causation_id == submitted.event_id
    assert event.certificate.certificate_number == "ASI-PS-2026-000001"
    assert verify(event.signed_certificate, service.keys.current.jwk)["certificate_id"] == (
        event.certificate.certificate_id
    )
    assert service.store.certificates == {event.certificate.certificate_id: event.certificate}
    assert service.store.counters == {"ASI-PS-2026": 1}
    assert await service.deliver(audit()) == []  # the same audit under a new event id


async def test_an_audit_id_again_with_other_content_is_refused() -> None:
    service = Service()
    await service.issued()
    [out] = await service.deliver(audit(findings=majors(1)))
    assert rejected(out, ORG) == [R.DUPLICATE_AUDIT_ID]


async def test_two_audits_in_one_batch_are_numbered_in_order() -> None:
    service = Service()
    await service.registered()
    outs = await service.deliver(audit("AUD-1"), audit("AUD-2"))
    numbers = [changed(o).certificate.certificate_number for o in outs]
    assert numbers == ["ASI-PS-2026-000001", "ASI-PS-2026-000002"]
    assert len(service.store.history) == 2


async def test_numbers_count_on_from_one_batch_to_the_next() -> None:
    service = Service()
    await service.issued(audit("AUD-1"))
    [out] = await service.deliver(audit("AUD-2", standard=Standard.PERFORMANCE_STANDARD))
    assert changed(out).certificate.certificate_number == "ASI-PS-2026-000002"
    [coc] = await service.deliver(audit("AUD-3", standard=Standard.CHAIN_OF_CUSTODY))
    assert changed(coc).certificate.certificate_number == "ASI-COC-2026-000001"


async def test_closing_the_last_major_upgrades_a_provisional_certificate() -> None:
    service = Service()
    certificate = await service.issued(audit(findings=majors(1)))
    assert certificate.provisional
    outs = await service.deliver(closure(certificate.certificate_id, "NC-0"))
    changes = [changed(o).change for o in outs]
    assert changes == [CertificateChange.FINDING_CLOSED, CertificateChange.UPGRADED_TO_FULL]
    stored = service.store.certificates[certificate.certificate_id]
    assert stored.status is CertificateStatus.ACTIVE and stored.revision == 3


async def test_a_closure_of_an_unknown_finding_is_refused() -> None:
    service = Service()
    certificate = await service.issued(audit(findings=majors(1)))
    [out] = await service.deliver(closure(certificate.certificate_id, "NC-9"))
    assert rejected(out, ORG) == [R.UNKNOWN_FINDING]


async def test_a_corrective_action_plan_is_submitted_then_approved() -> None:
    service = Service()
    certificate = await service.issued(audit(findings=majors(1)))
    cid = certificate.certificate_id
    [submitted] = await service.deliver(cap_submitted(cid, {"NC-0": date(2026, 9, 1)}))
    [approved] = await service.deliver(cap_approved(cid))
    assert changed(submitted).change is CertificateChange.CAP_SUBMITTED
    assert changed(approved).change is CertificateChange.CAP_APPROVED
    [finding] = service.store.certificates[cid].findings
    assert finding.due_on == date(2026, 9, 1)


async def test_an_approval_without_a_plan_is_refused() -> None:
    service = Service()
    certificate = await service.issued(audit(findings=majors(1)))
    [out] = await service.deliver(cap_approved(certificate.certificate_id))
    assert rejected(out, ORG) == [R.CAP_NOT_SUBMITTED]


# ---- lifecycle commands --------------------------------------------------------------------------


async def test_suspend_reinstate_and_withdraw() -> None:
    service = Service()
    cid = (await service.issued()).certificate_id
    outs = await service.deliver(suspend(cid), reinstate(cid), withdraw(cid))
    assert [changed(o).change for o in outs] == [
        CertificateChange.SUSPENDED,
        CertificateChange.REINSTATED,
        CertificateChange.WITHDRAWN,
    ]
    assert service.store.certificates[cid].status is CertificateStatus.WITHDRAWN
    [again] = await service.deliver(suspend(cid))
    assert rejected(again, ORG) == [R.CERTIFICATE_WITHDRAWN]


async def test_a_scope_change_sees_a_site_registered_earlier_in_the_same_batch() -> None:
    service = Service()
    cid = (await service.issued()).certificate_id
    site = Site(
        site_id="site-c", organisation_id=ORG, name="C", country="NO", activities=[Activity.ROLLING]
    )
    registered, scoped = await service.deliver(
        register(site), change_scope(cid, scope("site-a", "site-c"))
    )
    assert isinstance(registered.message, SiteRegistered)
    assert changed(scoped).change is CertificateChange.SCOPE_CHANGED
    assert service.store.certificates[cid].scope.site_ids == ["site-a", "site-c"]


async def test_the_same_scope_again_changes_nothing_but_only_the_secretariat_may_send_it() -> None:
    service = Service()
    cid = (await service.issued()).certificate_id
    assert await service.deliver(change_scope(cid, scope("site-a"))) == []
    by_member = change_scope(cid, scope("site-a")).model_copy(update={"actor": MEMBER})
    [out] = await service.deliver(by_member)
    assert rejected(out, ORG) == [R.NOT_SECRETARIAT]


async def test_a_command_on_an_unknown_certificate_is_refused() -> None:
    service = Service()
    [out] = await service.deliver(suspend("cert-nope"))
    assert rejected(out, SECRETARIAT.organisation_id) == [R.UNKNOWN_CERTIFICATE]


# ---- signing keys --------------------------------------------------------------------------------


async def test_a_rotation_signs_with_a_new_key_and_the_tick_publishes_both() -> None:
    service = Service()
    [first] = await service.handlers.publish_keys(tx())
    old = service.keys.current
    assert isinstance(first.message, SigningKeyPublished) and first.message.kid == old.kid
    assert (first.topic, first.key) == (topics.CERTIFICATES_EVENTS, f"key:{old.kid}")
    rotate = RotateSigningKey.create(actor=SECRETARIAT, occurred_at=NOW, reason="yearly")
    later = NOW + timedelta(hours=1)
    assert await service.deliver(rotate, now=later) == []
    assert service.keys.current.kid != old.kid
    published = [o.message for o in await service.handlers.publish_keys(tx(later))]
    assert {(k.kid, k.valid_until) for k in published} == {  # type: ignore[attr-defined]
        (old.kid, later),
        (service.keys.current.kid, None),
    }
    assert await service.handlers.publish_keys(tx(later)) == []


async def test_a_key_from_the_settings_is_not_rotated_by_command() -> None:
    service = Service(key_from_settings=True)
    rotate = RotateSigningKey.create(actor=SECRETARIAT, occurred_at=NOW, reason="yearly")
    before = service.keys.current
    [out] = await service.deliver(rotate)
    assert rejected(out, SECRETARIAT.organisation_id) == [R.SIGNING_KEY_FROM_SETTINGS]
    assert service.keys.current is before


# ---- membership at risk --------------------------------------------------------------------------


def extend(until: date, org: str = ORG) -> ExtendCertificationDeadline:
    return ExtendCertificationDeadline.create(
        actor=SECRETARIAT, occurred_at=NOW, organisation_id=org, until=until, reason="audit booked"
    )


def forfeit(org: str = ORG) -> RecordMembershipForfeiture:
    return RecordMembershipForfeiture.create(
        actor=SECRETARIAT, occurred_at=NOW, organisation_id=org, reason="no certification"
    )


async def test_the_membership_tick_flags_an_uncertified_member_once() -> None:
    service = Service()
    await service.registered()
    outs = await service.handlers.membership(tx())
    flagged = {o.message.organisation_id: o for o in outs}  # type: ignore[attr-defined]
    assert flagged.keys() == {ORG, OTHER}
    overdue = flagged[ORG].message
    assert isinstance(overdue, MemberCertificationOverdue) and flagged[ORG].key == ORG
    assert overdue.occurred_at.date() == date(2026, 1, 2)  # the day after the deadline
    assert await service.handlers.membership(tx()) == []


async def test_a_certified_member_is_not_flagged() -> None:
    service = Service()
    await service.issued()
    outs = await service.handlers.membership(tx())
    assert [o.message.organisation_id for o in outs] == [OTHER]  # type: ignore[attr-defined]


async def test_an_extension_rearms_the_check() -> None:
    service = Service()
    await service.registered()
    [out] = await service.deliver(extend(date(2026, 12, 31)))
    assert isinstance(out.message, CertificationDeadlineExtended) and out.key == ORG
    assert service.store.checks[ORG].due_on == date(2026, 12, 31)
    [early] = await service.deliver(extend(date(2026, 3, 1)))
    assert rejected(early, ORG) == [R.DATES_OUT_OF_ORDER]  # not later than the extension
    [unknown] = await service.deliver(extend(date(2026, 12, 31), "org-nobody"))
    assert rejected(unknown, "org-nobody") == [R.UNKNOWN_MEMBER]


async def test_a_forfeiture_needs_a_member_at_risk() -> None:
    service = Service()
    await service.registered()
    [refused] = await service.deliver(forfeit())
    assert rejected(refused, ORG) == [R.MEMBERSHIP_NOT_AT_RISK]
    await service.handlers.membership(tx())
    [out] = await service.deliver(forfeit())
    assert isinstance(out.message, MembershipForfeited) and out.key == ORG
    assert out.message.forfeited_on == NOW.date()
    assert service.store.checks[ORG].forfeited_on == NOW.date()


# ---- the certificate clock -----------------------------------------------------------------------


async def test_the_clock_expires_a_certificate_once_dated_when_it_fell_due() -> None:
    service = Service()
    certificate = await service.issued(audit())
    after = datetime.combine(certificate.valid_until + timedelta(days=5), NOW.timetz())
    outs = await service.handlers.clock(tx(after))
    events = [changed(o) for o in outs]
    assert events[-1].change is CertificateChange.EXPIRED
    assert events[-1].occurred_at.date() == certificate.valid_until + timedelta(days=1)
    assert events[-1].causation_id is None
    stored = service.store.certificates[certificate.certificate_id]
    assert stored.status is CertificateStatus.EXPIRED
    assert await service.handlers.clock(tx(after)) == []


async def test_a_replayed_event_id_with_other_content_is_refused() -> None:
    service = Service()
    message = suspend("cert-1")
    item = Incoming(message, Record("t", 0, 1, None, None))
    [out] = service.handlers.on_conflict(item, NOW)
    assert rejected(out, SECRETARIAT.organisation_id) == [R.EVENT_ID_CONFLICT]


async def test_only_the_secretariat_decides_on_membership() -> None:
    service = Service()
    await service.registered()
    command = ExtendCertificationDeadline.create(
        actor=MEMBER, occurred_at=NOW, organisation_id=ORG, until=date(2026, 12, 31), reason="x"
    )
    [out] = await service.deliver(command)
    assert rejected(out, ORG) == [R.NOT_SECRETARIAT]
