"""Composition root of the certificates service."""

from __future__ import annotations

from typing import Any

from faststream import FastStream
from pymongo.asynchronous.database import AsyncDatabase

from contracts import topics
from libs.service import Runtime
from services.certificates import handlers
from services.certificates.adapters import certificate_store, registry_store
from services.certificates.adapters.keys import KeyRing
from services.certificates.config import Settings


def build_runtime(settings: Settings, **overrides: Any) -> Runtime:
    runtime = Runtime.build(settings, **overrides)
    keys = KeyRing(settings)
    certification = handlers.Certification(settings.rules(), keys, settings.clock_batch)

    async def setup(db: AsyncDatabase[dict[str, Any]]) -> None:
        await registry_store.ensure_indexes(db)
        await certificate_store.ensure_indexes(db)
        await keys.signer(db)

    runtime.indexes(setup)  # runs before the broker delivers anything
    runtime.consume(topics.CERTIFICATES_COMMANDS, certification.handle_commands, on_conflict=handlers.on_conflict)
    runtime.consume(topics.AUDITS_OUTCOMES, certification.handle_audits, on_conflict=handlers.on_conflict)
    runtime.publishes(topics.CERTIFICATES_EVENTS)
    runtime.publishes(topics.CERTIFICATES_REJECTIONS)
    runtime.every("certificate-clock", certification.clock)
    runtime.every("membership-certification", certification.membership)
    runtime.every("signing-keys", certification.publish_keys)
    return runtime


def create_app(settings: Settings, **overrides: Any) -> FastStream:
    runtime = build_runtime(settings, **overrides)
    return runtime.app("ASI certificate issuance", "Registry, audits to certificates, lifecycle events.")
