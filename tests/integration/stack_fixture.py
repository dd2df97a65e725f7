"""Provide a real Kafka + MongoDB for integration tests (imported by tests/conftest.py).

Order of preference, and it always says loudly which one it used (never silently skips):

1. external servers: ``KAFKA_BOOTSTRAP_SERVERS`` + ``MONGODB_URI`` (see ``devstack.stack``);
2. Docker via testcontainers: Kafka (KRaft) + MongoDB 7 as a single-node replica set ``rs0``;
3. the embedded stack (tansu, or Apache Kafka with ``KAFKA=apache``, + SecantusDB child processes,
   ``devstack.embedded``).

Set ``STACK_BACKEND`` to ``external``, ``docker`` or ``embedded`` to force one (optional).
``KAFKA=apache`` (without external servers) means the embedded stack on Apache Kafka, even with Docker.
Nothing is started at import time.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from devstack.embedded import EmbeddedStack, Endpoints, wait_for_kafka, wait_for_mongo
from libs.settings import PlatformSettings
from devstack.stack import external_endpoints

__all__ = ["backend_in_use", "docker_available", "provide_stack", "pytest_terminal_summary"]

log = logging.getLogger(__name__)

KAFKA_IMAGE = "confluentinc/cp-kafka:7.6.0"
MONGO_IMAGE = "mongo:7.0"
BACKEND_ENV = "STACK_BACKEND"

#: Which backend the last provide_stack() used ("external", "docker", "embedded"), for reports.
backend_in_use: str | None = None
#: Everything provide_stack() announced, for the end-of-run summary.
announcements: list[str] = []


def _announce(message: str) -> None:
    """Log it, print it, and keep it for :func:`pytest_terminal_summary`.

    pytest captures fixture output (even fd 2), so the print is only seen with ``-s``; re-export
    :func:`pytest_terminal_summary` from a conftest to always get it at the end of the run.
    """
    announcements.append(message)
    log.warning(message)
    print(f"\n[integration stack] {message}", file=sys.stderr, flush=True)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """pytest hook: ``from tests.integration.stack_fixture import pytest_terminal_summary`` in a conftest."""
    if announcements:
        terminalreporter.section("integration stack")
        for message in announcements:
            terminalreporter.write_line(message)


def docker_available(timeout: float = 5.0) -> bool:
    """True when a Docker engine answers (``docker info``) within ``timeout`` seconds."""
    docker_cli = shutil.which("docker")
    if docker_cli is not None:
        try:
            result = subprocess.run(
                [docker_cli, "info", "--format", "{{.ServerVersion}}"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                timeout=timeout,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            return False
        return result.returncode == 0 and bool(result.stdout.strip())
    # No CLI: ask the engine through the Python SDK (what testcontainers uses anyway).
    try:
        import docker

        client = docker.from_env(timeout=int(timeout))
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:  # noqa: BLE001 - any failure means "not usable"
        return False


@contextmanager
def _docker_stack() -> Iterator[Endpoints]:
    from pymongo import MongoClient
    from pymongo.errors import OperationFailure
    from testcontainers.community.kafka import KafkaContainer
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.wait_strategies import LogMessageWaitStrategy

    kafka = (
        KafkaContainer(KAFKA_IMAGE)
        .with_kraft()
        .with_env("KAFKA_AUTO_CREATE_TOPICS_ENABLE", "false")  # same as infra/docker-compose.yml
    )
    # Not MongoDbContainer: it always sets root credentials, and auth + --replSet needs a keyFile.
    mongo = (
        DockerContainer(MONGO_IMAGE)
        .with_command("--replSet rs0 --bind_ip_all")
        .with_exposed_ports(27017)
        .waiting_for(LogMessageWaitStrategy("Waiting for connections"))
    )
    started: list[Any] = []
    try:
        kafka.start(timeout=120)
        started.append(kafka)
        mongo.start()
        started.append(mongo)

        uri = f"mongodb://{mongo.get_container_host_ip()}:{mongo.get_exposed_port(27017)}/?directConnection=true"
        client: MongoClient[Any] = MongoClient(uri, serverSelectionTimeoutMS=30_000)
        try:
            try:
                # The member address only matters inside the container (directConnection from here).
                client.admin.command("replSetInitiate", {"_id": "rs0", "members": [{"_id": 0, "host": "localhost:27017"}]})
            except OperationFailure as exc:
                if exc.code != 23:  # AlreadyInitialized
                    raise
            deadline = time.monotonic() + 60
            while not client.admin.command("hello").get("isWritablePrimary"):
                if time.monotonic() > deadline:
                    raise TimeoutError("MongoDB container did not become replica-set primary within 60s")
                time.sleep(0.2)
        finally:
            client.close()

        endpoints = Endpoints(kafka_bootstrap=kafka.get_bootstrap_server(), mongodb_uri=uri, idempotent_producer=True)
        wait_for_kafka(endpoints.kafka_bootstrap, 60)
        wait_for_mongo(endpoints.mongodb_uri, 60)
        yield endpoints
    finally:
        for container in reversed(started):
            try:
                container.stop()
            except Exception as exc:  # noqa: BLE001 - keep stopping the others
                log.warning("could not stop container %s: %s", container, exc)


def _choose_backend() -> tuple[str, Endpoints | None]:
    forced = os.environ.get(BACKEND_ENV, "").strip().lower()
    if forced not in ("", "external", "docker", "embedded"):
        raise RuntimeError(f"{BACKEND_ENV}={forced!r}: expected external, docker or embedded")
    external = external_endpoints()  # raises when only one of the two variables is set
    if forced == "external":
        if external is None:
            raise RuntimeError(f"{BACKEND_ENV}=external but KAFKA_BOOTSTRAP_SERVERS / MONGODB_URI are not set")
        return "external", external
    if forced in ("docker", "embedded"):
        if forced == "docker" and not docker_available():
            raise RuntimeError(f"{BACKEND_ENV}=docker but no Docker engine answers `docker info`")
        return forced, None
    if external is not None:
        return "external", external
    if PlatformSettings().kafka == "apache":  # KAFKA=apache asks for the project's own Apache Kafka broker
        return "embedded", None
    if docker_available():
        return "docker", None
    return "embedded", None


@contextmanager
def provide_stack() -> Iterator[Endpoints]:
    """Yield :class:`Endpoints` of a real Kafka + MongoDB (external, Docker or embedded)."""
    global backend_in_use
    backend, external = _choose_backend()
    backend_in_use = backend
    if backend == "external":
        assert external is not None
        _announce(
            f"using EXTERNAL servers from the environment: kafka={external.kafka_bootstrap} "
            f"mongo={external.mongodb_uri}"
        )
        wait_for_kafka(external.kafka_bootstrap, 30)
        wait_for_mongo(external.mongodb_uri, 30)
        yield external
        return
    if backend == "docker":
        _announce(f"using DOCKER containers via testcontainers ({KAFKA_IMAGE} KRaft, {MONGO_IMAGE} replica set rs0)")
        with _docker_stack() as endpoints:
            _announce(f"docker stack up: kafka={endpoints.kafka_bootstrap} mongo={endpoints.mongodb_uri}")
            yield endpoints
        return
    # Logs outside the (removed-on-stop) data dir, so they survive a failed run.
    log_dir = Path(tempfile.mkdtemp(prefix="integration-stack-logs-"))
    stack = EmbeddedStack(log_dir=log_dir)  # KAFKA=apache: Apache Kafka from Maven instead of tansu
    broker = (
        "Apache Kafka broker from Maven (devstack.apache_kafka)" if stack.kafka == "apache"
        else "tansu Kafka-protocol broker (no idempotent producer / Kafka transactions)"
    )
    _announce(f"no external servers and no Docker: using the EMBEDDED stack ({broker} + SecantusDB child processes)")
    with stack:
        _announce(
            f"embedded stack up: kafka={stack.endpoints.kafka_bootstrap} mongo={stack.endpoints.mongodb_uri} "
            f"(logs in {stack.log_dir})"
        )
        yield stack.endpoints
