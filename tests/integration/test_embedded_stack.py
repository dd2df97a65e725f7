"""The embedded stack: real tansu broker + real SecantusDB as child processes."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.embedded import EmbeddedStack, EmbeddedStackError, Endpoints, ensure_topics, wait_for_mongo
from devstack.stack import IncompleteExternalStackError, external_endpoints

REPO_ROOT = Path(__file__).resolve().parents[2]


def _pid_alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True


def _wait_dead(pids: list[int], timeout: float = 15.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = [p for p in pids if _pid_alive(p)]
        if not alive:
            return []
        time.sleep(0.1)
    return [p for p in pids if _pid_alive(p)]


@pytest.fixture(scope="module")
def embedded() -> Iterator[EmbeddedStack]:
    with EmbeddedStack() as s:
        yield s


# --------------------------------------------------------------------------------------------
# external_endpoints (unit)
# --------------------------------------------------------------------------------------------


def test_external_endpoints_none_when_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.delenv("MONGODB_URI", raising=False)
    assert external_endpoints() is None


def test_external_endpoints_both_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "localhost:9092")
    monkeypatch.setenv("MONGODB_URI", "mongodb://localhost:27017/?replicaSet=rs0")
    assert external_endpoints() == Endpoints("localhost:9092", "mongodb://localhost:27017/?replicaSet=rs0")


@pytest.mark.parametrize(
    ("present", "value", "missing"),
    [
        ("KAFKA_BOOTSTRAP_SERVERS", "localhost:9092", "MONGODB_URI"),
        ("MONGODB_URI", "mongodb://localhost:27017", "KAFKA_BOOTSTRAP_SERVERS"),
    ],
)
def test_external_endpoints_only_one_set_is_an_error(
    monkeypatch: pytest.MonkeyPatch, present: str, value: str, missing: str
) -> None:
    monkeypatch.delenv(missing, raising=False)
    monkeypatch.setenv(present, value)
    with pytest.raises(IncompleteExternalStackError, match=missing):
        external_endpoints()


def test_external_endpoints_blank_counts_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "  ")
    monkeypatch.setenv("MONGODB_URI", "")
    assert external_endpoints() is None


# --------------------------------------------------------------------------------------------
# Kafka (tansu)
# --------------------------------------------------------------------------------------------


@pytest.mark.integration
async def test_topics_produce_consume_commit(embedded: EmbeddedStack) -> None:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
    from aiokafka.admin import AIOKafkaAdminClient

    bootstrap = embedded.endpoints.kafka_bootstrap
    await ensure_topics(bootstrap, ["t.a", "t.b"], 3)
    await ensure_topics(bootstrap, ["t.a", "t.b"], 3)  # idempotent

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = {t["topic"]: t for t in await admin.describe_topics(["t.a", "t.b"])}
    finally:
        await admin.close()
    assert {name: len(t["partitions"]) for name, t in described.items()} == {"t.a": 3, "t.b": 3}

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False, acks="all")
    await producer.start()
    try:
        sent_partition: dict[bytes, set[int]] = defaultdict(set)
        for i in range(50):
            key = f"key-{i % 7}".encode()
            meta = await producer.send_and_wait("t.a", value=f"v{i}".encode(), key=key)
            sent_partition[key].add(meta.partition)
    finally:
        await producer.stop()
    assert all(len(parts) == 1 for parts in sent_partition.values()), "same key must map to one partition"

    consumer = AIOKafkaConsumer(
        "t.a",
        bootstrap_servers=bootstrap,
        group_id="embedded-test-group",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        # tansu answers a JoinGroup only after max(1 s, session_timeout/2): keep the join short
        session_timeout_ms=2000,
        heartbeat_interval_ms=500,
    )
    await consumer.start()
    try:
        received = []
        deadline = time.monotonic() + 30  # a group join on a fresh broker (a JVM on the Apache pass)
        while len(received) < 50 and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                received.extend(records)
        assert len(received) == 50
        assert sorted(r.value for r in received) == sorted(f"v{i}".encode() for i in range(50))
        for r in received:
            assert r.partition in sent_partition[r.key]
        await consumer.commit()
        committed = [await consumer.committed(TopicPartition("t.a", p)) for p in range(3)]
    finally:
        await consumer.stop()
    assert sum(c or 0 for c in committed) == 50


# --------------------------------------------------------------------------------------------
# MongoDB (SecantusDB)
# --------------------------------------------------------------------------------------------


@pytest.mark.integration
async def test_mongo_transactions_commit_and_abort(embedded: EmbeddedStack) -> None:
    from pymongo import AsyncMongoClient

    client: AsyncMongoClient = AsyncMongoClient(embedded.endpoints.mongodb_uri)
    try:
        db = client["embedded_test"]
        await db.create_collection("orders")
        await db.create_collection("lines")

        async with client.start_session() as session:
            async with await session.start_transaction():
                await db.orders.insert_one({"_id": "o1"}, session=session)
                await db.lines.insert_many([{"order": "o1", "n": 1}, {"order": "o1", "n": 2}], session=session)
                # not visible outside the transaction before commit
                assert await db.orders.find_one({"_id": "o1"}) is None
        assert await db.orders.find_one({"_id": "o1"}) == {"_id": "o1"}
        assert await db.lines.count_documents({"order": "o1"}) == 2

        async with client.start_session() as session:
            await session.start_transaction()
            await db.orders.insert_one({"_id": "o2"}, session=session)
            await db.lines.insert_one({"order": "o2", "n": 1}, session=session)
            assert await db.orders.find_one({"_id": "o2"}, session=session) == {"_id": "o2"}
            await session.abort_transaction()
        assert await db.orders.find_one({"_id": "o2"}) is None
        assert await db.lines.count_documents({"order": "o2"}) == 0
    finally:
        await client.close()


# --------------------------------------------------------------------------------------------
# Lifecycle
# --------------------------------------------------------------------------------------------


@pytest.mark.integration
def test_restart_mongo_keeps_data_and_stop_leaves_no_process(tmp_path: Path) -> None:
    from pymongo import MongoClient

    stack = EmbeddedStack(log_dir=tmp_path / "logs")
    endpoints = stack.start()
    assert stack.start() == endpoints  # idempotent
    data_dir = stack.data_dir
    pids = [p for p in stack.pids.values() if p is not None]
    assert len(pids) == 2
    try:
        with MongoClient(endpoints.mongodb_uri) as client:
            client.keep.docs.insert_one({"_id": 1, "v": "kept"})

        old_mongo_pid = stack.pids["mongo"]
        stack.stop_mongo()
        assert stack.pids["mongo"] is None
        with pytest.raises(TimeoutError):
            wait_for_mongo(endpoints.mongodb_uri, timeout=0.5)
        stack.start_mongo()
        assert stack.endpoints == endpoints  # same port
        new_mongo_pid = stack.pids["mongo"]
        assert new_mongo_pid is not None and new_mongo_pid != old_mongo_pid
        pids.append(new_mongo_pid)
        with MongoClient(endpoints.mongodb_uri) as client:
            assert client.keep.docs.find_one({"_id": 1}) == {"_id": 1, "v": "kept"}
    finally:
        stack.stop()
    assert [p for p in pids if _pid_alive(p)] == []
    assert not data_dir.exists(), "temporary data dir must be removed on stop"
    assert (tmp_path / "logs" / "mongo.log").exists()
    stack.stop()  # idempotent
    with pytest.raises(RuntimeError):
        _ = stack.endpoints


@pytest.mark.integration
def test_start_failure_reports_child_log(tmp_path: Path) -> None:
    import socket

    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))  # bound, not listening: the port is taken, connects are refused
        port = blocker.getsockname()[1]
        stack = EmbeddedStack(tmp_path, kafka_port=port, start_timeout=15)
        with pytest.raises(EmbeddedStackError, match=r"(?s)kafka.*failed to start.*in use"):
            stack.start()
    assert all(p is None for p in stack.pids.values())


@pytest.mark.integration
def test_children_die_when_parent_is_killed(tmp_path: Path) -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("PR_SET_PDEATHSIG is Linux-only")
    script = textwrap.dedent(
        """
        import asyncio, sys, time
        from devstack.embedded import EmbeddedStack
        stack = EmbeddedStack(sys.argv[1])
        # start from a short-lived worker thread: children must survive that thread's exit
        asyncio.run(asyncio.to_thread(stack.start))
        time.sleep(0.5)
        print(stack.pids["kafka"], stack.pids["mongo"], flush=True)
        time.sleep(120)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path / "data")],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line, "helper process did not start the stack"
        child_pids = [int(x) for x in line.split()]
        assert all(_pid_alive(p) for p in child_pids), "children died with the spawning thread"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert _wait_dead(child_pids) == []


@pytest.mark.integration
async def test_ensure_topics_creates_only_missing(embedded: EmbeddedStack) -> None:
    from aiokafka.admin import AIOKafkaAdminClient

    bootstrap = embedded.endpoints.kafka_bootstrap
    await ensure_topics(bootstrap, ["t.c"], 2)
    await asyncio.wait_for(ensure_topics(bootstrap, ["t.c", "t.d", "t.d"], 5), 30)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = {t["topic"]: len(t["partitions"]) for t in await admin.describe_topics(["t.c", "t.d"])}
    finally:
        await admin.close()
    assert described == {"t.c": 2, "t.d": 5}


# --------------------------------------------------------------------------------------------
# stack_fixture backend choice (unit)
# --------------------------------------------------------------------------------------------


def test_backend_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.integration import stack_fixture

    monkeypatch.delenv("STACK_BACKEND", raising=False)
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.delenv("MONGODB_URI", raising=False)
    monkeypatch.delenv("KAFKA", raising=False)
    monkeypatch.setattr(stack_fixture, "docker_available", lambda: False)
    assert stack_fixture._choose_backend() == ("embedded", None)
    monkeypatch.setattr(stack_fixture, "docker_available", lambda: True)
    assert stack_fixture._choose_backend() == ("docker", None)
    monkeypatch.setenv("KAFKA", "apache")  # the project's Apache Kafka broker, not a container
    assert stack_fixture._choose_backend() == ("embedded", None)
    monkeypatch.delenv("KAFKA")
    monkeypatch.setenv("STACK_BACKEND", "embedded")
    assert stack_fixture._choose_backend() == ("embedded", None)
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "k:9092")
    monkeypatch.setenv("MONGODB_URI", "mongodb://m")
    monkeypatch.delenv("STACK_BACKEND")
    assert stack_fixture._choose_backend() == ("external", Endpoints("k:9092", "mongodb://m"))
    monkeypatch.delenv("MONGODB_URI")
    with pytest.raises(IncompleteExternalStackError):
        stack_fixture._choose_backend()


def test_docker_available_answers_quickly() -> None:
    from tests.integration.stack_fixture import docker_available

    started = time.monotonic()
    assert isinstance(docker_available(), bool)
    assert time.monotonic() - started < 8
