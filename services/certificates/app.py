"""Composition root of the certificates service."""

from __future__ import annotations

from typing import Any

from faststream import FastStream

from contracts import topics
from libs.service import Runtime
from services.certificates import handlers
from services.certificates.adapters import registry_store
from services.certificates.config import Settings


def build_runtime(settings: Settings, **overrides: Any) -> Runtime:
    runtime = Runtime.build(settings, **overrides)
    runtime.indexes(registry_store.ensure_indexes)
    runtime.consume(topics.CERTIFICATES_COMMANDS, handlers.handle_commands, on_conflict=handlers.on_conflict)
    runtime.consume(topics.AUDITS_OUTCOMES, handlers.handle_audits, on_conflict=handlers.on_conflict)
    runtime.publishes(topics.CERTIFICATES_EVENTS)
    runtime.publishes(topics.CERTIFICATES_REJECTIONS)
    return runtime


def create_app(settings: Settings, **overrides: Any) -> FastStream:
    runtime = build_runtime(settings, **overrides)
    return runtime.app("ASI certificate issuance", "Registry, audits to certificates, lifecycle events.")
