"""In-memory adapters of the certificates service's ports for handler tests (cosmicpython's
FakeUnitOfWork). The store is held to the same store suite as the MongoDB adapter (store_suite.py),
so the two cannot drift."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import TypeVar

from pymongo.errors import OperationFailure

from contracts.common import Standard
from contracts.registry import Certificate, CertificationBody, Member, Site
from libs.messaging import Tx
from services.certificates.domain.books import AuditRecord, Books
from services.certificates.domain.clock import clock_due
from services.certificates.domain.membership import Standing
from services.certificates.domain.model import CURRENT, LIVE, Change
from services.certificates.domain.rules import DEFAULT_RULES, Rules
from services.certificates.ports import RegistryRecord, SigningKey
from services.certificates.signing import Signer

WRITE_CONFLICT = 112
T = TypeVar("T")


@dataclass
class Check:
    """A member's certification check, as `membership_checks` keeps it."""

    due_on: date | None = None
    done: bool = False
    flagged: bool = False
    extended_until: date | None = None
    forfeited_on: date | None = None


def _conflict(what: str) -> OperationFailure:
    return OperationFailure(f"{what} changed concurrently", code=WRITE_CONFLICT)


class FakeStore:
    """The whole database in dicts; `load_books` hands out new dicts, so only `save_books` changes
    the store (certificates are immutable models: a change is a new revision)."""

    def __init__(self, rules: Rules = DEFAULT_RULES) -> None:
        self.rules = rules
        self.member_by_id: dict[str, Member] = {}
        self.site_by_id: dict[str, Site] = {}
        self.body_by_id: dict[str, CertificationBody] = {}
        self.certificates: dict[str, Certificate] = {}
        self.history: dict[tuple[str, int], tuple[Change, str]] = {}
        self.audits: dict[str, AuditRecord] = {}
        self.counters: dict[str, int] = {}
        self.checks: dict[str, Check] = {}

    def __call__(self, tx: Tx) -> FakeStore:
        """The `StoreFor` port: one store, whatever the transaction."""
        return self

    async def load_books(
        self,
        *,
        members: Iterable[str] = (),
        sites: Iterable[str] = (),
        bodies: Iterable[str] = (),
        certificates: Iterable[str] = (),
        audits: Iterable[str] = (),
        counters: Iterable[str] = (),
    ) -> Books:
        books = Books(
            members=_pick(self.member_by_id, members),
            sites=_pick(self.site_by_id, sites),
            bodies=_pick(self.body_by_id, bodies),
            certificates=_pick(self.certificates, certificates),
            audit_digests={k: r.digest for k, r in _pick(self.audits, audits).items()},
            counters=_pick(self.counters, counters),
        )
        books.loaded = {cid: c.revision for cid, c in books.certificates.items()}
        books.loaded |= {f"counter:{k}": v for k, v in books.counters.items()}
        return books

    async def save_books(self, books: Books, signed: Sequence[str]) -> None:
        latest: dict[str, Certificate] = {}
        for change in books.changes:
            latest[change.certificate.certificate_id] = change.certificate
        for cid in latest:
            stored, before = self.certificates.get(cid), books.loaded.get(cid)
            if (stored.revision if stored else None) != before:
                raise _conflict(f"certificate {cid}")
        for key, seq in books.counters.items():
            before = books.loaded.get(f"counter:{key}")
            if before != seq and self.counters.get(key) != before:
                raise _conflict(f"counter {key}")
        if any(r.audit.audit_id in self.audits for r in books.new_audits):
            raise _conflict("an audit")
        for change, jws in zip(books.changes, signed, strict=True):
            c = change.certificate
            self.history[(c.certificate_id, c.revision)] = (change, jws)
        self.certificates |= latest
        self.counters |= books.counters
        self.audits |= {r.audit.audit_id: r for r in books.new_audits}

    async def due_certificates(self, today: date, limit: int) -> Books:
        due = []
        for cid in sorted(self.certificates):
            c = self.certificates[cid]
            next_due = clock_due(c, self.rules)
            if (c.status in LIVE and c.valid_until < today) or (next_due and next_due < today):
                due.append(c)
        chosen = due[:limit]
        return Books(
            certificates={c.certificate_id: c for c in chosen},
            loaded={c.certificate_id: c.revision for c in chosen},
        )

    async def member(self, organisation_id: str) -> Member | None:
        return self.member_by_id.get(organisation_id)

    async def site(self, site_id: str) -> Site | None:
        return self.site_by_id.get(site_id)

    async def certification_body(self, certification_body_id: str) -> CertificationBody | None:
        return self.body_by_id.get(certification_body_id)

    async def save_record(self, record: RegistryRecord) -> None:
        if isinstance(record, Member):
            self.member_by_id[record.organisation_id] = record
        elif isinstance(record, Site):
            self.site_by_id[record.site_id] = record
        else:
            self.body_by_id[record.certification_body_id] = record

    async def members(self, organisation_ids: Collection[str]) -> dict[str, Member]:
        return _pick(self.member_by_id, organisation_ids)

    async def current_certificates(
        self, organisation_ids: Collection[str], standard: Standard
    ) -> list[Certificate]:
        return [
            c
            for c in self.certificates.values()
            if c.organisation_id in organisation_ids
            and c.standard is standard
            and c.status in CURRENT
        ]

    async def set_membership_check(self, organisation_id: str, deadline: date | None) -> None:
        check = self.checks.get(organisation_id)
        if deadline is None:
            if check is not None and not check.done:
                del self.checks[organisation_id]
            return
        check = self.checks.setdefault(organisation_id, Check())
        extended = check.extended_until
        check.due_on = max(deadline, extended) if extended else deadline

    async def membership_standing(self, organisation_id: str) -> Standing:
        check = self.checks.get(organisation_id, Check())
        return Standing(
            due_on=check.due_on,
            flagged=check.done and check.flagged,
            forfeited_on=check.forfeited_on,
            extended_until=check.extended_until,
        )

    async def extend_membership_check(self, organisation_id: str, until: date) -> None:
        check = self.checks.setdefault(organisation_id, Check())
        check.due_on = check.extended_until = until
        check.done = check.flagged = False

    async def forfeit_membership(self, organisation_id: str, day: date) -> None:
        if organisation_id in self.checks:
            self.checks[organisation_id].forfeited_on = day

    async def due_membership_checks(self, today: date, limit: int) -> dict[str, date]:
        due = sorted(
            (c.due_on, org)
            for org, c in self.checks.items()
            if not c.done and c.due_on is not None and c.due_on < today
        )
        return {org: day for day, org in due[:limit]}

    async def finish_membership_checks(self, flagged: Mapping[str, bool]) -> None:
        pending = [org for org in flagged if org in self.checks and not self.checks[org].done]
        if len(pending) != len(flagged):
            raise _conflict("a membership check")
        for org, was in flagged.items():
            self.checks[org].done, self.checks[org].flagged = True, was


def _pick(records: Mapping[str, T], ids: Iterable[str]) -> dict[str, T]:
    return {i: records[i] for i in dict.fromkeys(ids) if i in records}


class FakeKeys:
    """The `SigningKeys` port in memory: a generated key (or one 'from the settings'), and the
    ring of every key with its state and whether the topic has it."""

    def __init__(self, *, from_settings: bool = False) -> None:
        self.current = Signer.generate()
        self.ring: dict[str, SigningKey] = {}
        self.published: set[tuple[str, datetime | None]] = set()
        self._from_settings = from_settings

    def __call__(self, tx: Tx) -> FakeKeys:
        """The `KeysFor` port: one ring, whatever the transaction."""
        return self

    @property
    def from_settings(self) -> bool:
        return self._from_settings

    async def signer(self) -> Signer:
        return self.current

    async def enlist(self, now: datetime) -> None:
        kid = self.current.kid
        if kid not in self.ring:
            self.ring[kid] = SigningKey(kid, self.current.jwk, now, None)
        for other, key in self.ring.items():
            if other != kid and key.valid_until is None:
                self.ring[other] = replace(key, valid_until=now)

    async def rotate(self, now: datetime) -> None:
        self.current = Signer.generate()
        await self.enlist(now)

    async def unpublished(self) -> list[SigningKey]:
        keys = [k for k in self.ring.values() if (k.kid, k.valid_until) not in self.published]
        return sorted(keys, key=lambda k: k.valid_from)

    async def mark_published(self, keys: Sequence[SigningKey]) -> None:
        self.published |= {(k.kid, k.valid_until) for k in keys}
