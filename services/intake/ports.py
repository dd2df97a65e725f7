"""What intake's use cases need from the outside, in domain words. The adapters implement them
(adapters/store.py on MongoDB, adapters/messages.py on the contracts); tests use in-memory fakes."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from typing import Protocol

from contracts.ledger import CoCDocument
from contracts.registry import Certificate, Member, Site
from libs.messaging import Outgoing, Tx
from services.intake.domain.model import World
from services.intake.domain.outcomes import Outcome, PlantEvent


class IntakeStore(Protocol):
    """Intake's state, inside the batch's transaction: the projections of the registry and of CoC
    Documents, and the record of every plant event (held ones with what they wait for)."""

    async def load(self, events: Sequence[PlantEvent], *, fresh: bool) -> World:
        """Everything deciding these events reads, in a few queries. `fresh`: they come straight
        from the topic past the runtime's inbox, so none has a record yet; only what they correct or
        cancel is read."""
        ...

    async def save(self, world: World) -> None:
        """Write back what the batch changed (records marked dirty, documents' received mass)."""
        ...

    async def held_waiting_for(self, keys: Collection[str], limit: int) -> list[PlantEvent]:
        """Held events waiting for any of these dependency keys, in arrival order."""
        ...

    async def held_due(self, now: datetime, limit: int) -> list[PlantEvent]:
        """Held events due for a re-check or past their deadline, in arrival order."""
        ...

    async def save_members(self, members: Sequence[Member]) -> None: ...

    async def save_sites(self, sites: Sequence[Site]) -> None: ...

    async def save_certificates(self, certificates: Sequence[Certificate]) -> list[Certificate]:
        """Keep the highest revision of each certificate; return those that changed the store."""
        ...

    async def save_documents(self, documents: Sequence[CoCDocument]) -> None:
        """A document is immutable once issued: the first copy is kept, with the mass received
        against it."""
        ...


StoreFor = Callable[[Tx], IntakeStore]
"""The store bound to one batch's transaction."""


class Messages(Protocol):
    """The answers intake sends: a movement, a refusal, a hold notice (the first time only)."""

    def answer(self, outcome: Outcome, now: datetime) -> Outgoing | None: ...

    def conflict(self, event: PlantEvent, digest: str, now: datetime) -> Outgoing:
        """The same event id came back with other content: refuse it, the first version stands."""
        ...
