"""Composition root of the intake service."""

from __future__ import annotations

from typing import Any

from faststream import FastStream

from contracts import topics
from contracts.ledger import CoCDocumentIssued
from libs.service import Runtime
from services.intake.adapters import store
from services.intake.config import Settings
from services.intake.handlers import IntakeHandlers, on_conflict


def build_runtime(settings: Settings, **overrides: Any) -> Runtime:
    runtime = Runtime.build(settings, **overrides)
    handlers = IntakeHandlers(settings.rules(), settings.held_per_round)
    runtime.indexes(store.ensure_indexes)
    # Declared in the order a mixed batch is handled: what plant events depend on comes first.
    runtime.consume(topics.CERTIFICATES_EVENTS, handlers.handle_certificates_events)
    runtime.consume(topics.LEDGER_EVENTS, handlers.handle_ledger_events, only=[CoCDocumentIssued])
    runtime.consume(topics.PLANT_EVENTS, handlers.handle_plant_events, on_conflict=on_conflict,
                    inbox_while_computing=True)
    runtime.publishes(topics.MATERIAL_MOVEMENTS)
    runtime.publishes(topics.INTAKE_REJECTIONS)
    runtime.every("recheck_held", handlers.recheck_held)
    return runtime


def create_app(settings: Settings, **overrides: Any) -> FastStream:
    return build_runtime(settings, **overrides).app(
        "ASI material intake",
        "Validates, classifies and matches producers' plant events; publishes movements and rejections.",
    )
