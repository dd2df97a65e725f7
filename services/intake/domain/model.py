"""The state intake keeps: projections it reads and the record of every plant event it answered.

`World` is the one state object a batch works on: the store port loads it and writes it back."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from uuid import UUID

from contracts.common import Reason
from contracts.ledger import CoCDocument
from contracts.registry import Certificate, Site
from services.intake.domain.outcomes import PlantEvent


class Status(StrEnum):
    """Where a plant event stands."""

    ACCEPTED = "accepted"
    HELD = "held"
    REFUSED = "refused"
    CANCELLED = "cancelled"
    SUPERSEDED = "superseded"


@dataclass(frozen=True)
class Wait:
    """A dependency a plant event waits for: a key the projections announce when it arrives."""

    key: str
    reason: Reason


@dataclass
class DocumentState:
    """A CoC Document issued on the platform and how much of it was received so far (the two-party
    match)."""

    document: CoCDocument
    received_kg: Decimal = Decimal(0)
    dirty: bool = False

    @property
    def remaining_kg(self) -> Decimal:
        remaining: Decimal = self.document.coc_mass_kg - self.received_kg  # Kg reads as Any
        return remaining

    def receive(self, kg: Decimal) -> None:
        if kg:
            self.received_kg += kg
            self.dirty = True


@dataclass
class EventRecord:
    """What intake decided about one plant event; held events keep the event to re-evaluate it."""

    event_id: UUID
    site_id: str
    type: str
    status: Status
    document_id: str | None = None
    coc_kg: Decimal = Decimal(0)
    closed_by: UUID | None = None
    event: PlantEvent | None = None
    waits: list[Wait] = field(default_factory=list)
    held_since: datetime | None = None
    retry_until: datetime | None = None
    next_check_at: datetime | None = None
    order: int | None = None
    """Arrival order among held events (set by the store once): they are released in that order."""
    stored_as: Status | None = None
    """How the store last saved it (None: not saved yet); the store keeps held events apart."""
    dirty: bool = True


@dataclass
class World:
    """The slice of state one batch needs, loaded up front and written back once."""

    sites: dict[str, Site] = field(default_factory=dict)
    members: set[str] = field(default_factory=set)
    certificates: dict[str, list[Certificate]] = field(default_factory=dict)
    documents: dict[str, DocumentState] = field(default_factory=dict)
    events: dict[UUID, EventRecord] = field(default_factory=dict)
