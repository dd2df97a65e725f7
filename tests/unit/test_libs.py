"""Settings, logging and the clock."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import structlog
from structlog.testing import capture_logs

from libs.clock import ManualClock, OffsetClock
from libs.logs import configure_logging, get_logger, message_context
from libs.messaging import content_hash, is_transient
from services.intake.config import Settings as IntakeSettings
from services.claims.config import Settings as ClaimsSettings


def test_each_service_reads_its_own_prefix_and_the_shared_connection_variables(monkeypatch):
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka.example:9092")
    monkeypatch.setenv("MONGODB_URI", "mongodb://shared/")
    monkeypatch.setenv("INTAKE_MONGODB_URI", "mongodb://intake-cluster/")
    monkeypatch.setenv("INTAKE_BATCH_MAX_RECORDS", "250")
    intake, claims = IntakeSettings(), ClaimsSettings()
    assert intake.mongodb_uri == "mongodb://intake-cluster/" and claims.mongodb_uri == "mongodb://shared/"
    assert intake.kafka_bootstrap_servers == claims.kafka_bootstrap_servers == "kafka.example:9092"
    assert intake.batch_max_records == 250 and claims.batch_max_records == 500
    assert (intake.database, claims.database) == ("asi_intake", "asi_claims")


def test_message_context_is_bound_for_one_message_only():
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        log = get_logger("t")
        with message_context(event_id="e1", correlation_id="c1"):
            log.info("inside")
        log.info("after")
    assert logs[0]["event_id"] == "e1" and logs[0]["correlation_id"] == "c1"
    assert "event_id" not in logs[1]


def test_standard_library_loggers_go_through_the_same_json_processors(capsys):
    configure_logging("svc", "INFO", "json")
    try:
        with message_context(event_id="e2"):
            logging.getLogger("some.stdlib.library").warning("broker hiccup")
            get_logger("x").info("hello", n=1)
        lines = [json.loads(line) for line in capsys.readouterr().err.strip().splitlines()]
        assert lines[0]["event"] == "broker hiccup" and lines[0]["event_id"] == "e2" and lines[0]["service"] == "svc"
        assert lines[1]["n"] == 1 and lines[1]["timestamp"].endswith("Z")
    finally:
        structlog.reset_defaults()
        logging.getLogger().handlers.clear()


def test_clocks_tests_can_set():
    clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
    clock.advance(timedelta(days=2))
    assert clock.now() == datetime(2026, 1, 3, tzinfo=UTC)
    assert OffsetClock(datetime(2030, 1, 1, tzinfo=UTC)).now().year == 2030


def test_content_hash_ignores_only_the_send_time(tmp_path):
    from tests.integration.test_delivery import register

    first = register("org-1")
    resent = first.model_copy(update={"occurred_at": datetime(2030, 1, 1, tzinfo=UTC)})
    changed = first.model_copy(update={"member": first.member.model_copy(update={"name": "Other"})})
    assert content_hash(first) == content_hash(resent) != content_hash(changed)


def test_transient_errors_are_told_apart():
    from pymongo.errors import AutoReconnect, DuplicateKeyError, OperationFailure

    assert is_transient(AutoReconnect("down"))
    assert is_transient(OperationFailure("conflict", code=112))
    assert not is_transient(DuplicateKeyError("dup"))
    assert not is_transient(ValueError("bug"))
