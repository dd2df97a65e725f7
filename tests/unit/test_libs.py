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


# ---- exact decimals in MongoDB -------------------------------------------------------------------

from decimal import Decimal  # noqa: E402

from bson.decimal128 import Decimal128  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from libs.mongo import from_decimal128, to_decimal128  # noqa: E402

_finite = st.builds(
    lambda sign, coefficient, exponent: Decimal((sign, tuple(int(d) for d in str(coefficient)), exponent)),
    st.integers(0, 1), st.integers(0, 10**34 - 1), st.integers(-6176, 6111 - 33),
)
_everyday = st.decimals(allow_nan=False, allow_infinity=False, places=3, min_value=-(10**12), max_value=10**12)


@settings(max_examples=500)
@given(st.one_of(_finite, _everyday))
def test_the_fast_decimal128_codec_gives_the_same_bits_and_exponent_as_bson(value):
    reference = Decimal128(value)
    assert to_decimal128(value).bid == reference.bid
    back = from_decimal128(reference)
    assert back.as_tuple() == reference.to_decimal().as_tuple()  # same digits and exponent, not just equal


def test_the_fast_decimal128_codec_leaves_what_it_does_not_cover_to_bson():
    for value in (Decimal("Infinity"), Decimal("-Infinity"), Decimal("NaN")):
        assert to_decimal128(value).bid == Decimal128(value).bid
        assert str(from_decimal128(Decimal128(value))) == str(Decimal128(value).to_decimal())
    for value in (Decimal("1E+6112"), Decimal("1" * 35)):  # clamped, or too many digits: bson decides
        try:
            expected = Decimal128(value).bid
        except Exception as exc:  # noqa: BLE001
            try:
                to_decimal128(value)
            except type(exc):
                continue
            raise AssertionError(f"{value}: bson refuses it, the fast codec must too") from None
        assert to_decimal128(value).bid == expected
    assert from_decimal128(Decimal128("-0.00")).as_tuple() == Decimal("-0.00").as_tuple()


async def test_computing_runs_the_pending_write_meanwhile_and_ends_only_once_it_is_done():
    import asyncio

    import pytest

    from libs.messaging import Tx, paced

    steps: list[str] = []
    gate = asyncio.Event()

    async def pending_write() -> None:
        steps.append("write sent")
        await gate.wait()  # the database's reply
        steps.append("write done")

    session = object()
    tx = Tx(None, session, datetime(2026, 1, 1, tzinfo=UTC), pending=pending_write)  # type: ignore[arg-type]
    assert tx.session is session  # reads before the block are fine
    async with tx.computing():
        async for n in paced(range(4), every=2):
            steps.append(f"computed {n}")
            if n == 3:
                gate.set()
        with pytest.raises(RuntimeError, match="no database call"):
            tx.session  # noqa: B018
    assert steps[:2] == ["computed 0", "computed 1"] and steps[2] == "write sent" and steps[-1] == "write done"
    assert tx.session is session

    async def failing_write() -> None:
        raise ValueError("duplicate key")

    tx = Tx(None, session, datetime(2026, 1, 1, tzinfo=UTC), pending=failing_write)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="duplicate key"):  # the write's error is the block's
        async with tx.computing():
            pass
    finished: list[str] = []

    async def slow_write() -> None:
        await asyncio.sleep(0.01)
        finished.append("write")

    tx = Tx(None, session, datetime(2026, 1, 1, tzinfo=UTC), pending=slow_write)  # type: ignore[arg-type]
    with pytest.raises(KeyError):  # the block's own error: raised once the session is idle again
        async with tx.computing():
            raise KeyError("a bug")
    assert finished == ["write"] and tx.session is session
    async with tx.computing():  # nothing pending any more: a plain block
        assert tx.session is session


@given(st.binary(min_size=1, max_size=64), st.integers(min_value=1, max_value=64))
def test_the_cached_partitioner_puts_a_key_where_the_default_one_does(key, count):
    from aiokafka.partitioner import DefaultPartitioner

    from libs.kafka import partition_for

    partitions = list(range(count))
    assert partition_for(key, partitions, partitions) == DefaultPartitioner()(key, partitions, partitions)
    assert partition_for(key, partitions, partitions) == partition_for(key, partitions, [])  # cached: the same


async def test_refresh_metadata_reaches_a_private_aiokafka_call_that_still_exists():
    """libs.kafka.refresh_metadata is the one use of aiokafka's private client: this fails when an
    aiokafka upgrade renames or removes it (the callers would otherwise fail only against a broker)."""
    import inspect

    from aiokafka import AIOKafkaConsumer

    from libs.kafka import refresh_metadata

    consumer = AIOKafkaConsumer(bootstrap_servers="127.0.0.1:9")  # never started: nothing connects
    try:
        update = consumer._client.force_metadata_update  # returns an awaitable (a future)
        assert callable(update) and not inspect.signature(update).parameters
        assert "force_metadata_update()" in inspect.getsource(refresh_metadata)
    finally:
        await consumer.stop()
