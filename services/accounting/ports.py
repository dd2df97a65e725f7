"""What accounting's use cases need from the outside, in domain words. The adapters implement them
(adapters/store.py on MongoDB, adapters/messages.py on the contracts); tests use in-memory fakes
(tests/unit/accounting/fakes.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from typing import Protocol

from contracts.certificates import CertificateChanged
from contracts.common import Envelope, Reason
from contracts.ledger import AssignRuleSet, RequestShadowReport
from contracts.registry import Certificate
from libs.messaging import Outgoing, Tx
from services.accounting.domain.claims_mass import Outcome as ClaimOutcome
from services.accounting.domain.ledger import Account, Allocation, Ledger, Lot, MovementRecord
from services.accounting.domain.outcomes import Outcome
from services.accounting.domain.rules import Assignment, RuleSet
from services.accounting.domain.shadow import ShadowReport
from services.accounting.signing import Signer


class AccountingStore(Protocol):
    """Accounting's state inside the batch's transaction. Loads return fresh objects: only `save`
    (and the `save_*` / `add_*` methods) change what is stored."""

    async def load_accounts(self, account_ids: Iterable[str]) -> list[Account]: ...

    async def load_movements(self, movement_ids: Iterable[str]) -> list[MovementRecord]:
        """What became of these movement ids (booked, refused, reversed, void); unknown ids are
        left out."""
        ...

    async def load_lots(self, lot_ids: Iterable[str]) -> list[Lot]: ...

    async def load_organisation_movements(self, organisation_id: str) -> list[MovementRecord]:
        """Every movement of the organisation kept with its contract JSON (for shadow reports)."""
        ...

    async def load_owner(self, owners: Iterable[str]) -> tuple[list[Account], list[Lot]]:
        """The owners' accounts and their lots with mass left to allocate."""
        ...

    async def load_allocations(self, keys: Iterable[str]) -> list[Allocation]:
        """By `state.allocation_key` (owner and claim id)."""

    async def load_claim_holders(self, owners: Iterable[str], limit: int) -> list[Allocation]:
        """Per owner, at most `limit` granted or debited allocations holding the most mass."""
        ...

    async def accounts_due(self, today: date, limit: int) -> list[Account]:
        """Accounts whose open period ended before `today`."""
        ...

    async def load_assignments(self, organisations: Iterable[str]) -> dict[str, list[Assignment]]:
        """Rule-set assignments per organisation, in the order they were added."""
        ...

    async def add_assignment(self, organisation_id: str, assignment: Assignment) -> None: ...

    async def load_certificates(self, organisations: Iterable[str]) -> list[Certificate]: ...

    async def save_certificate(self, certificate: Certificate) -> bool:
        """Keep the newest revision; False when this one is not newer than what is stored."""
        ...

    async def save_site(self, site_id: str, organisation_id: str) -> None: ...

    async def load_flags(self, account_ids: Iterable[str]) -> dict[str, bool]:
        """Whether each account is frozen; accounts never flagged are left out."""
        ...

    async def save_flags(self, flags: dict[str, tuple[bool, str]]) -> None:
        """Per account: frozen or not, and the certificate that decided it."""
        ...

    async def save(self, books: Ledger) -> None:
        """Write back what the batch changed. An account changed by a concurrent batch since it
        was loaded raises a transient error (the runtime retries the batch)."""
        ...

    async def signing_key(self) -> Signer:
        """The key that signs CoC Documents, generated once and shared by every instance."""
        ...


StoreFor = Callable[[Tx], AccountingStore]
"""The store bound to one batch's transaction."""


class Messages(Protocol):
    """What accounting announces: entries, signed CoC Documents, statements, alerts, and the answers
    to commands and movements (granted, refused, rejected ...)."""

    signer: Signer | None
    """Signs the CoC Documents published (loaded at start-up or by the first batch that needs
    it)."""

    def publish(
        self,
        outcomes: Sequence[Outcome | ClaimOutcome],
        cause: Envelope | None,
        now: datetime,
        release_reason: str = "released",
    ) -> list[Outgoing]: ...

    def rejection(self, cause: Envelope, reasons: list[Reason], now: datetime) -> Outgoing:
        """A command refused before it reached the books."""
        ...

    def rule_set_assigned(
        self, cause: AssignRuleSet, rules: RuleSet, effective_from: date, now: datetime
    ) -> Outgoing: ...

    def shadow_report(
        self,
        cause: RequestShadowReport,
        report: ShadowReport,
        now: datetime,
    ) -> Outgoing:
        """`ShadowReportPublished`: what every rule set would have allowed (never authoritative)."""
        ...

    def account_flagged(
        self,
        cause: CertificateChanged,
        account_id: str,
        frozen: bool,
        certificate: Certificate,
        now: datetime,
    ) -> Outgoing:
        """The account is frozen (its certificate lapsed) or thawed."""
        ...

    def command_conflict(self, command: Envelope, now: datetime) -> Outgoing:
        """The same command event id came back with other content: reject it."""
        ...

    def movement_conflict(self, movement: Envelope, now: datetime) -> Outgoing:
        """The same movement event id came back with other content: refuse it."""
        ...
