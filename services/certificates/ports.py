"""What the certificates service's use cases need from the outside, in domain words. The adapters
implement them (adapters/store.py and adapters/keys.py on MongoDB, adapters/messages.py on the
contracts); tests use in-memory fakes (tests/unit/certificates/fakes.py)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from contracts.certificates import ExtendCertificationDeadline, RecordMembershipForfeiture
from contracts.common import Envelope, Reason, Standard
from contracts.registry import Certificate, CertificationBody, Member, Site
from libs.messaging import Outgoing, Tx
from services.certificates.domain.books import Books
from services.certificates.domain.membership import Standing
from services.certificates.domain.model import Change

RegistryRecord = Member | Site | CertificationBody


class CertificatesStore(Protocol):
    """The service's state, inside the batch's transaction: the registry, certificates with their
    history, accepted audits, number counters and the members' certification checks."""

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
        """The slice of state a batch needs, with the revisions as read (`Books.loaded`)."""
        ...

    async def save_books(self, books: Books, signed: Sequence[str]) -> None:
        """Write what the domain changed: each changed certificate's latest revision (guarded by
        the revision it was read at: a concurrent change is a write conflict, and the runtime
        retries the batch), one history entry per change with its signed form (`signed`, in the
        order of `books.changes`), the counters, the newly accepted audits."""
        ...

    async def due_certificates(self, today: date, limit: int) -> Books:
        """The books of live certificates the clock has something to do for by `today`."""
        ...

    async def member(self, organisation_id: str) -> Member | None: ...

    async def site(self, site_id: str) -> Site | None: ...

    async def certification_body(self, certification_body_id: str) -> CertificationBody | None: ...

    async def save_record(self, record: RegistryRecord) -> None: ...

    async def members(self, organisation_ids: Collection[str]) -> dict[str, Member]: ...

    async def current_certificates(
        self, organisation_ids: Collection[str], standard: Standard
    ) -> list[Certificate]:
        """The active or provisional certificates of these members for this standard."""
        ...

    async def set_membership_check(self, organisation_id: str, deadline: date | None) -> None:
        """The member's check falls due on its deadline (or a later one it was extended to);
        `None`: no duty, a pending check is dropped."""
        ...

    async def membership_standing(self, organisation_id: str) -> Standing: ...

    async def extend_membership_check(self, organisation_id: str, until: date) -> None: ...

    async def forfeit_membership(self, organisation_id: str, day: date) -> None: ...

    async def due_membership_checks(self, today: date, limit: int) -> dict[str, date]:
        """Members whose check fell due before `today`, with the day it fell due."""
        ...

    async def finish_membership_checks(self, flagged: Mapping[str, bool]) -> None:
        """Each check done, with whether the member was flagged."""
        ...


class CertificateSigner(Protocol):
    @property
    def kid(self) -> str: ...

    def sign_certificate(self, certificate: Certificate) -> str:
        """The certificate's compact JWS."""
        ...


@dataclass(frozen=True)
class SigningKey:
    """A signing key's state as verifiers learn it: current until `valid_until` is set."""

    kid: str
    jwk: dict[str, Any]
    valid_from: datetime
    valid_until: datetime | None


class SigningKeys(Protocol):
    """The key ring, inside the batch's transaction."""

    @property
    def from_settings(self) -> bool:
        """The key is set in the settings (rotated there, not by command)."""
        ...

    async def signer(self) -> CertificateSigner: ...

    async def enlist(self, now: datetime) -> None:
        """The current key is in the ring (valid from `now` if new), every other one retired."""
        ...

    async def rotate(self, now: datetime) -> None:
        """Sign with a new key from `now` on; the old one is retired."""
        ...

    async def unpublished(self) -> list[SigningKey]:
        """Keys whose latest state the topic does not have yet, oldest first."""
        ...

    async def mark_published(self, keys: Sequence[SigningKey]) -> None: ...


StoreFor = Callable[[Tx], CertificatesStore]
"""The store bound to one batch's transaction."""
KeysFor = Callable[[Tx], SigningKeys]
"""The key ring bound to one batch's transaction."""


class Messages(Protocol):
    """The answers the service publishes; event ids derive from the cause, so a re-run emits the
    same ids."""

    def rejected(
        self, cause: Envelope, organisation_id: str, reasons: list[Reason], now: datetime
    ) -> Outgoing: ...

    def registered(self, cause: Envelope, record: RegistryRecord, now: datetime) -> Outgoing: ...

    def changed(self, change: Change, signed: str, cause: Envelope | None) -> Outgoing:
        """A new revision of a certificate; `cause`: the input, or none for the clock's."""
        ...

    def deadline_extended(self, cause: ExtendCertificationDeadline, now: datetime) -> Outgoing: ...

    def forfeited(
        self, cause: RecordMembershipForfeiture, forfeited_on: date, now: datetime
    ) -> Outgoing: ...

    def certification_overdue(self, member: Member, deadline: date) -> Outgoing: ...

    def key_published(self, key: SigningKey) -> Outgoing: ...
