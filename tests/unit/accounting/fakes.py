"""An in-memory `AccountingStore` for handler tests (cosmicpython's FakeUnitOfWork), held to the
same store suite as the MongoDB adapter (store_suite.py) so the two cannot drift."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from datetime import date
from typing import TypeVar

from contracts.ledger import LedgerEntry, PeriodStatement
from contracts.registry import Certificate
from libs.messaging import Tx
from services.accounting.adapters.store import ConcurrentUpdate
from services.accounting.domain.ledger import (
    DEBITED,
    GRANTED,
    Account,
    Allocation,
    Ledger,
    Lot,
    MovementRecord,
)
from services.accounting.domain.rules import Assignment
from services.accounting.signing import Signer

T = TypeVar("T")


def _copies(table: dict[str, T], keys: Iterable[str]) -> list[T]:
    return [copy.deepcopy(table[k]) for k in sorted(set(keys)) if k in table]


class FakeStore:
    """The whole database in dicts; loads hand out copies, so only the writes change the store."""

    def __init__(self) -> None:
        self.accounts: dict[str, Account] = {}
        self.entries: list[LedgerEntry] = []
        self.statements: dict[str, PeriodStatement] = {}
        self.movements: dict[str, MovementRecord] = {}
        self.lots: dict[str, Lot] = {}
        self.allocations: dict[str, Allocation] = {}
        self.assignments: dict[str, list[Assignment]] = {}
        self.certificates: dict[str, Certificate] = {}
        self.sites: dict[str, str] = {}
        self.flags: dict[str, tuple[bool, str]] = {}
        self.signer = Signer.generate()

    def __call__(self, tx: Tx) -> FakeStore:
        """The `StoreFor` port: one store, whatever the transaction."""
        return self

    async def load_accounts(self, account_ids: Iterable[str]) -> list[Account]:
        return _copies(self.accounts, account_ids)

    async def load_movements(self, movement_ids: Iterable[str]) -> list[MovementRecord]:
        return _copies(self.movements, movement_ids)

    async def load_organisation_movements(self, organisation_id: str) -> list[MovementRecord]:
        return [
            copy.deepcopy(m)
            for m in self.movements.values()
            if m.organisation_id == organisation_id and m.movement is not None
        ]

    async def load_lots(self, lot_ids: Iterable[str]) -> list[Lot]:
        return _copies(self.lots, lot_ids)

    async def load_owner(self, owners: Iterable[str]) -> tuple[list[Account], list[Lot]]:
        wanted = set(owners)
        accounts = [a for a in self.accounts.values() if a.organisation_id in wanted]
        lots = [
            lot
            for lot in self.lots.values()
            if lot.lot_id.partition("#")[0] in wanted and not lot.void and lot.remaining > 0
        ]
        return copy.deepcopy(accounts), copy.deepcopy(sorted(lots, key=lambda lot: lot.lot_id))

    async def load_allocations(self, keys: Iterable[str]) -> list[Allocation]:
        return _copies(self.allocations, keys)

    async def load_claim_holders(self, owners: Iterable[str], limit: int) -> list[Allocation]:
        found: list[Allocation] = []
        for owner in sorted(set(owners)):
            mine = [
                a
                for a in self.allocations.values()
                if a.owner == owner and a.status in (GRANTED, DEBITED)
            ]
            found += sorted(mine, key=lambda a: a.mass, reverse=True)[:limit]
        return copy.deepcopy(found)

    async def accounts_due(self, today: date, limit: int) -> list[Account]:
        due = [a for a in self.accounts.values() if a.period.end < today]
        return copy.deepcopy(due[:limit])

    async def load_assignments(self, organisations: Iterable[str]) -> dict[str, list[Assignment]]:
        return {o: list(self.assignments[o]) for o in set(organisations) if o in self.assignments}

    async def add_assignment(self, organisation_id: str, assignment: Assignment) -> None:
        self.assignments.setdefault(organisation_id, []).append(assignment)

    async def load_certificates(self, organisations: Iterable[str]) -> list[Certificate]:
        wanted = set(organisations)
        return [c for c in self.certificates.values() if c.organisation_id in wanted]

    async def save_certificate(self, certificate: Certificate) -> bool:
        current = self.certificates.get(certificate.certificate_id)
        if current is not None and current.revision >= certificate.revision:
            return False
        self.certificates[certificate.certificate_id] = certificate
        return True

    async def save_site(self, site_id: str, organisation_id: str) -> None:
        self.sites[site_id] = organisation_id

    async def load_flags(self, account_ids: Iterable[str]) -> dict[str, bool]:
        return {k: self.flags[k][0] for k in set(account_ids) if k in self.flags}

    async def save_flags(self, flags: dict[str, tuple[bool, str]]) -> None:
        self.flags.update(flags)

    async def save(self, books: Ledger) -> None:
        for account_id in sorted(books.dirty_accounts):
            account = books.accounts.get(account_id)
            if account is None:
                continue
            stored = self.accounts.get(account_id)
            if (stored.version if stored is not None else 0) != account.version:
                raise ConcurrentUpdate("an account changed since this batch read it")
            self.accounts[account_id] = copy.deepcopy(account)
            self.accounts[account_id].version = account.version + 1
        self.entries += books.entries
        for statement in books.statements:
            key = f"{statement.account_id}|{statement.period_id}"
            if key in self.statements:
                raise ValueError(f"statement {key} exists: statements are immutable")
            self.statements[key] = statement
        for name, dirty, table, stored in (
            ("movements", books.dirty_movements, books.movements, self.movements),
            ("lots", books.dirty_lots, books.lots, self.lots),
            ("allocations", books.dirty_allocations, books.allocations, self.allocations),
        ):
            for key in dirty:
                if key not in table:
                    continue
                if key in stored and key not in books.loaded[name]:  # MongoDB inserts new keys
                    raise KeyError(f"duplicate key: {name} {key} exists")
                stored[key] = copy.deepcopy(table[key])  # type: ignore[index]  # one of three tables

    async def signing_key(self) -> Signer:
        return self.signer
