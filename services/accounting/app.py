"""Composition root of the accounting service."""

from __future__ import annotations

from typing import Any

from faststream import FastStream

from contracts import topics
from libs.service import Runtime
from services.accounting.config import Settings
from services.accounting.handlers import Accounting
from services.accounting.key_publication import publish_signing_key

PERIOD_CLOCK = "close-due-periods"


def build_runtime(settings: Settings, **overrides: Any) -> Runtime:
    runtime = Runtime.build(settings, **overrides)
    service = Accounting(settings)
    runtime.indexes(service.setup)
    # Declared in the order a mixed batch is handled: certificates and rule-set assignments decide how
    # movements are booked, so they come first.
    runtime.consume(topics.CERTIFICATES_EVENTS, service.handle_certificates,
                    description="Certificate and site projection; freezes and thaws accounts.")
    runtime.consume(topics.LEDGER_COMMANDS, service.handle_commands, on_conflict=service.on_command_conflict,
                    description="Allocations for claims, period close, rule-set assignment.")
    runtime.consume(topics.MATERIAL_MOVEMENTS, service.handle_movements, on_conflict=service.on_movement_conflict,
                    description="Receipts credit, transformations convert, designations debit the mass-balance books.")
    runtime.publishes(topics.LEDGER_EVENTS)
    runtime.every(PERIOD_CLOCK, service.close_due_periods)
    runtime.every("signing-key", lambda tx: publish_signing_key(service.signer, tx))
    return runtime


def create_app(settings: Settings, **overrides: Any) -> FastStream:
    return build_runtime(settings, **overrides).app(
        "ASI balance accounting",
        "The mass-balance ledger: site and group accounts under versioned rule sets, no overdraft, signed CoC "
        "Documents, periods, allocations for claims, a hash-chained audit trail.",
    )
