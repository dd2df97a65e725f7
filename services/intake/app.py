"""Composition root of the intake service."""

from __future__ import annotations

from typing import Any

from faststream import FastStream

from contracts import topics
from libs.service import Runtime
from services.intake import handlers
from services.intake.config import Settings


def build_runtime(settings: Settings, **overrides: Any) -> Runtime:
    runtime = Runtime.build(settings, **overrides)
    runtime.consume(topics.PLANT_EVENTS, handlers.handle_plant_events)
    runtime.consume(topics.CERTIFICATES_EVENTS, handlers.handle_certificates_events)
    runtime.consume(topics.LEDGER_EVENTS, handlers.handle_ledger_events)
    runtime.publishes(topics.MATERIAL_MOVEMENTS)
    runtime.publishes(topics.INTAKE_REJECTIONS)
    return runtime


def create_app(settings: Settings, **overrides: Any) -> FastStream:
    return build_runtime(settings, **overrides).app("ASI material intake", "")
