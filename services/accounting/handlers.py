"""Use cases of the accounting service (skeleton: to be filled by its issue)."""

from __future__ import annotations

from collections.abc import Sequence

from libs.messaging import Incoming, Outgoing, Tx


async def handle_material_movements(batch: Sequence[Incoming], tx: Tx) -> list[Outgoing]:
    return []


async def handle_ledger_commands(batch: Sequence[Incoming], tx: Tx) -> list[Outgoing]:
    return []


async def handle_certificates_events(batch: Sequence[Incoming], tx: Tx) -> list[Outgoing]:
    return []
