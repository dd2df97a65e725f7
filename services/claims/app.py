"""Composition root of the claims service."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from faststream import FastStream

from contracts import topics
from contracts.ledger import AllocationGranted, AllocationRefused, LedgerCommandRejected
from libs.service import Runtime
from services.claims.adapters import store
from services.claims.adapters.membership_store import recording_standing
from services.claims.config import Settings
from services.claims.domain.rule_sets import wording_rules
from services.claims.handlers import ClaimsService

CLOCK_TICK = "claims-clock"


def build_runtime(settings: Settings, **overrides: Any) -> Runtime:
    runtime = Runtime.build(settings, **overrides)
    service = ClaimsService(
        wording_rules(settings.wording_rules_version),
        timedelta(seconds=settings.allocation_timeout_s),
        tick_limit=settings.tick_batch_limit,
    )
    runtime.indexes(store.ensure_indexes)
    runtime.consume(topics.CLAIMS_REQUESTS, service.handle_requests, on_conflict=service.on_conflict)
    runtime.consume(topics.LEDGER_EVENTS, service.handle_ledger_events,
                    only=[AllocationGranted, AllocationRefused, LedgerCommandRejected])
    runtime.consume(topics.CERTIFICATES_EVENTS, recording_standing(service.handle_certificate_events))
    runtime.publishes(topics.CLAIMS_DECISIONS)
    runtime.publishes(topics.LEDGER_COMMANDS)
    runtime.every(CLOCK_TICK, service.tick)
    return runtime


def create_app(settings: Settings, **overrides: Any) -> FastStream:
    runtime = build_runtime(settings, **overrides)
    return runtime.app("ASI claim verification",
                       "Checks brand owners' claims, allocates their mass in accounting, decides with evidence.")
