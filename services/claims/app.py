"""Composition root of the claims service."""

from __future__ import annotations

from typing import Any

from faststream import FastStream

from contracts import topics
from libs.service import Runtime
from services.claims import handlers
from services.claims.config import Settings


def build_runtime(settings: Settings, **overrides: Any) -> Runtime:
    runtime = Runtime.build(settings, **overrides)
    runtime.consume(topics.CLAIMS_REQUESTS, handlers.handle_claims_requests)
    runtime.consume(topics.LEDGER_EVENTS, handlers.handle_ledger_events)
    runtime.consume(topics.CERTIFICATES_EVENTS, handlers.handle_certificates_events)
    runtime.publishes(topics.CLAIMS_DECISIONS)
    runtime.publishes(topics.LEDGER_COMMANDS)
    return runtime


def create_app(settings: Settings, **overrides: Any) -> FastStream:
    return build_runtime(settings, **overrides).app("ASI claim verification", "")
