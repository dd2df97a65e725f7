"""Composition root of the accounting service: the one place real or fake adapters are wired."""

from __future__ import annotations

from typing import Any

from faststream import FastStream
from pymongo.asynchronous.database import AsyncDatabase

from contracts import topics
from libs.messaging import Outgoing, Tx
from libs.service import Runtime
from services.accounting.adapters import keys, store
from services.accounting.adapters.messages import KafkaMessages
from services.accounting.config import Settings
from services.accounting.handlers import AccountingHandlers
from services.accounting.key_publication import publish_signing_key
from services.accounting.ports import Messages, StoreFor

PERIOD_CLOCK = "close-due-periods"


def build_handlers(
    settings: Settings, *, store_for: StoreFor | None = None, messages: Messages | None = None
) -> AccountingHandlers:
    """The use cases on MongoDB and the contracts, or on the fakes a test passes. A configured
    signing key is used as is; otherwise it is loaded (or generated once) at start-up."""
    if messages is None:
        signer = keys.signer_from_setting(settings.signing_key) if settings.signing_key else None
        messages = KafkaMessages(signer)
    return AccountingHandlers(store_for or store.MongoStore, messages, settings.period_close_batch)


def build_runtime(
    settings: Settings,
    *,
    store_for: StoreFor | None = None,
    messages: Messages | None = None,
    **overrides: Any,
) -> Runtime:
    """`overrides`: the runtime's (broker, clock, client); `store_for`, `messages`: the ports'
    adapters."""
    runtime = Runtime.build(settings, **overrides)
    handlers = build_handlers(settings, store_for=store_for, messages=messages)

    async def setup(db: AsyncDatabase[dict[str, Any]]) -> None:
        await store.ensure_indexes(db)
        if handlers.messages.signer is None:
            handlers.messages.signer = await keys.ensure_signer(db)

    async def publish_key(tx: Tx) -> list[Outgoing]:
        return await publish_signing_key(handlers.signer, tx)

    runtime.indexes(setup)
    # Declared in the order a mixed batch is handled: certificates and rule-set assignments decide
    # how movements are booked, so they come first.
    runtime.consume(
        topics.CERTIFICATES_EVENTS,
        handlers.certificates,
        description="Certificate and site projection; freezes and thaws accounts.",
    )
    runtime.consume(
        topics.LEDGER_COMMANDS,
        handlers.commands,
        on_conflict=handlers.command_conflict,
        description="Allocations for claims, period close, rule-set assignment.",
    )
    runtime.consume(
        topics.MATERIAL_MOVEMENTS,
        handlers.movements,
        on_conflict=handlers.movement_conflict,
        description="Receipts credit, transformations convert, designations debit the "
        "mass-balance books.",
        inbox_while_computing=True,
    )
    runtime.publishes(topics.LEDGER_EVENTS)
    runtime.every(PERIOD_CLOCK, handlers.close_due_periods)
    runtime.every("signing-key", publish_key)
    return runtime


def create_app(settings: Settings, **overrides: Any) -> FastStream:
    return build_runtime(settings, **overrides).app(
        "ASI balance accounting",
        "The mass-balance ledger: site and group accounts under versioned rule sets, no overdraft, "
        "signed CoC Documents, periods, allocations for claims, a hash-chained audit trail.",
    )
