"""Composition root of the certificates service: the one place real or fake adapters are wired."""

from __future__ import annotations

from typing import Any

from faststream import FastStream
from pymongo.asynchronous.database import AsyncDatabase

from contracts import topics
from libs.service import Runtime
from services.certificates.adapters import store
from services.certificates.adapters.keys import KeyRing
from services.certificates.adapters.messages import KafkaMessages
from services.certificates.config import Settings
from services.certificates.handlers import CertificatesHandlers
from services.certificates.ports import KeysFor, Messages, StoreFor


def build_handlers(
    settings: Settings,
    *,
    store_for: StoreFor | None = None,
    keys_for: KeysFor | None = None,
    messages: Messages | None = None,
) -> CertificatesHandlers:
    """The use cases on MongoDB and the contracts, or on the fakes a test passes."""
    rules = settings.rules()
    return CertificatesHandlers(
        rules,
        store_for or store.MongoStore.bound(rules),
        keys_for or KeyRing(settings).bound,
        messages or KafkaMessages(),
        settings.clock_batch,
    )


def build_runtime(
    settings: Settings,
    *,
    store_for: StoreFor | None = None,
    messages: Messages | None = None,
    **overrides: Any,
) -> Runtime:
    """`overrides`: the runtime's (broker, clock, client); `store_for`, `messages`: the ports'
    adapters (the key ring is always this service's database: it is primed before consuming)."""
    runtime = Runtime.build(settings, **overrides)
    keys = KeyRing(settings)
    handlers = build_handlers(settings, store_for=store_for, keys_for=keys.bound, messages=messages)

    async def setup(db: AsyncDatabase[dict[str, Any]]) -> None:
        await store.ensure_indexes(db)
        await keys.signer(db)

    runtime.indexes(setup)  # runs before the broker delivers anything
    runtime.consume(topics.CERTIFICATES_COMMANDS, handlers.handle, on_conflict=handlers.on_conflict)
    runtime.consume(topics.AUDITS_OUTCOMES, handlers.handle, on_conflict=handlers.on_conflict)
    runtime.publishes(topics.CERTIFICATES_EVENTS)
    runtime.publishes(topics.CERTIFICATES_REJECTIONS)
    runtime.every("certificate-clock", handlers.clock)
    runtime.every("membership-certification", handlers.membership)
    runtime.every("signing-keys", handlers.publish_keys)
    return runtime


def create_app(settings: Settings, **overrides: Any) -> FastStream:
    runtime = build_runtime(settings, **overrides)
    return runtime.app(
        "ASI certificate issuance", "Registry, audits to certificates, lifecycle events."
    )
