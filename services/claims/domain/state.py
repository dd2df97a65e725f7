"""The state one batch works on: the claims it read, with the version each was read at, and what
it changed. Built by the store port (`ports.ClaimsStore`), changed by the saga, written back in one
go."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from contracts.common import Envelope
from services.claims.domain.saga import Claim


@dataclass
class Loaded:
    """Claims read in one transaction, with the version each was read at, and what the batch did."""

    claims: dict[str, Claim] = field(default_factory=dict)
    """By claim key (`identity.claim_key`: claimant and claim id), as every dict here."""
    new: set[str] = field(default_factory=set)
    """Claims requested in this batch (inserted, not updated)."""
    read_version: dict[str, int] = field(default_factory=dict)
    allocate_command_ids: dict[str, str] = field(default_factory=dict)
    """Allocation command id -> claim key of the claims read (a rejection names the command)."""
    changed: set[str] = field(default_factory=set)
    commands: dict[str, str] = field(default_factory=dict)
    """Claim key -> the allocation command this batch sent for it."""
    history: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """Claim key -> the decisions this batch published about it, appended to its record."""

    def add_new(self, claim: Claim) -> None:
        self.claims[claim.key] = claim
        self.new.add(claim.key)

    def add_read(self, claim: Claim, allocate_command_id: str | None) -> None:
        """A claim as stored (the first read wins: the batch may already have changed it)."""
        if claim.key in self.claims:
            return
        self.claims[claim.key] = claim
        self.read_version[claim.key] = claim.version
        if allocate_command_id:
            self.allocate_command_ids[allocate_command_id] = claim.key

    def claim_of_command(self, command_id: str) -> Claim | None:
        """The claim read with this allocation command, None if no claim of the batch was."""
        key = self.allocate_command_ids.get(command_id)
        return None if key is None else self.claims[key]

    def record(self, key: str, messages: Iterable[Envelope]) -> None:
        self.changed.add(key)
        self.history.setdefault(key, []).extend(m.model_dump(mode="json") for m in messages)
