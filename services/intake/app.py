"""Composition root of the intake service: the one place real or fake adapters are wired."""

from __future__ import annotations

from typing import Any

from faststream import FastStream

from contracts import topics
from contracts.ledger import CoCDocumentIssued
from libs.service import Runtime
from services.intake.adapters import store
from services.intake.adapters.messages import KafkaMessages
from services.intake.config import Settings
from services.intake.handlers import IntakeHandlers
from services.intake.ports import Messages, StoreFor


def build_handlers(
    settings: Settings, *, store_for: StoreFor | None = None, messages: Messages | None = None
) -> IntakeHandlers:
    """The use cases on MongoDB and the contracts, or on the fakes a test passes."""
    return IntakeHandlers(
        settings.rules(),
        store_for or store.MongoStore,
        messages or KafkaMessages(),
        settings.held_per_round,
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
    # Declared in the order a mixed batch is handled: what plant events depend on comes first.
    runtime.consume(topics.CERTIFICATES_EVENTS, handlers.handle)
    runtime.consume(topics.LEDGER_EVENTS, handlers.handle, only=[CoCDocumentIssued])
    runtime.consume(
        topics.PLANT_EVENTS,
        handlers.handle,
        on_conflict=handlers.on_conflict,
        inbox_while_computing=True,
    )
    runtime.publishes(topics.MATERIAL_MOVEMENTS)
    runtime.publishes(topics.INTAKE_REJECTIONS)
    runtime.every("recheck_held", handlers.recheck_held)
    return runtime


def create_app(settings: Settings, **overrides: Any) -> FastStream:
    return build_runtime(settings, **overrides).app(
        "ASI material intake",
        "Validates, classifies and matches producers' plant events; "
        "publishes movements and rejections.",
    )
