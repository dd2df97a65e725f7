"""Composition root of the claims service: the one place real or fake adapters are wired."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from faststream import FastStream

from contracts import topics
from contracts.ledger import (
    AllocationGranted,
    AllocationRefused,
    CoCDocumentIssued,
    LedgerCommandRejected,
)
from libs.service import Runtime
from services.claims.adapters import store
from services.claims.adapters.messages import KafkaMessages
from services.claims.config import Settings
from services.claims.domain.rule_sets import wording_rules
from services.claims.handlers import ClaimsHandlers
from services.claims.ports import Messages, StoreFor

CLOCK_TICK = "claims-clock"


def build_handlers(
    settings: Settings, *, store_for: StoreFor | None = None, messages: Messages | None = None
) -> ClaimsHandlers:
    """The use cases on MongoDB and the contracts, or on the fakes a test passes."""
    return ClaimsHandlers(
        wording_rules(settings.wording_rules_version),
        timedelta(seconds=settings.allocation_timeout_s),
        store_for or store.MongoStore,
        messages or KafkaMessages(),
        tick_limit=settings.tick_batch_limit,
    )


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
    runtime.indexes(store.ensure_indexes)
    runtime.consume(
        topics.CLAIMS_REQUESTS, handlers.handle_requests, on_conflict=handlers.on_conflict
    )
    runtime.consume(
        topics.LEDGER_EVENTS,
        handlers.handle_ledger_events,
        only=[AllocationGranted, AllocationRefused, LedgerCommandRejected, CoCDocumentIssued],
    )
    runtime.consume(topics.CERTIFICATES_EVENTS, handlers.handle_certificate_events)
    runtime.publishes(topics.CLAIMS_DECISIONS)
    runtime.publishes(topics.LEDGER_COMMANDS)
    runtime.every(CLOCK_TICK, handlers.tick)
    return runtime


def create_app(settings: Settings, **overrides: Any) -> FastStream:
    return build_runtime(settings, **overrides).app(
        "ASI claim verification",
        "Checks brand owners' claims, allocates their mass in accounting, decides with evidence.",
    )
