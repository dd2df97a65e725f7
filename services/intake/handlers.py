"""Use cases of the intake service (skeleton: to be filled by its issue)."""

from __future__ import annotations

from collections.abc import Sequence

from libs.messaging import Incoming, Outgoing, Tx


async def handle_plant_events(batch: Sequence[Incoming], tx: Tx) -> list[Outgoing]:
    return []


async def handle_certificates_events(batch: Sequence[Incoming], tx: Tx) -> list[Outgoing]:
    return []


async def handle_ledger_events(batch: Sequence[Incoming], tx: Tx) -> list[Outgoing]:
    return []
