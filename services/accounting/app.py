"""Composition root of the accounting service."""

from __future__ import annotations

from typing import Any

from faststream import FastStream

from contracts import topics
from libs.service import Runtime
from services.accounting import handlers
from services.accounting.config import Settings


def build_runtime(settings: Settings, **overrides: Any) -> Runtime:
    runtime = Runtime.build(settings, **overrides)
    runtime.consume(topics.MATERIAL_MOVEMENTS, handlers.handle_material_movements)
    runtime.consume(topics.LEDGER_COMMANDS, handlers.handle_ledger_commands)
    runtime.consume(topics.CERTIFICATES_EVENTS, handlers.handle_certificates_events)
    runtime.publishes(topics.LEDGER_EVENTS)
    return runtime


def create_app(settings: Settings, **overrides: Any) -> FastStream:
    return build_runtime(settings, **overrides).app("ASI balance accounting", "")
