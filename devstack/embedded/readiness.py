"""Readiness probes: block until a Kafka broker answers a metadata request or a MongoDB server answers
``ping`` (usable against real servers too), and the error a child server that fails to start raises."""

from __future__ import annotations

import asyncio
import functools
import socket
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

DEFAULT_START_TIMEOUT = 30.0


class EmbeddedStackError(RuntimeError):
    """A child server failed to start or to become ready."""


def _run_coro_in_thread(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion on a fresh event loop in a helper thread.

    Lets the blocking helpers below be called both from plain code and from inside a running
    event loop (where ``asyncio.run`` would refuse), at the price of blocking that loop.
    """
    box: dict[str, Any] = {}

    def runner() -> None:
        try:
            box["result"] = asyncio.run(factory())
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=runner, name="embedded-probe", daemon=True)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["result"]


def _split_bootstrap(bootstrap: str) -> list[tuple[str, int]]:
    hosts: list[tuple[str, int]] = []
    for item in bootstrap.split(","):
        item = item.strip()
        if not item:
            continue
        if "://" in item:
            item = item.split("://", 1)[1]
        host, _, port = item.rpartition(":")
        hosts.append((host.strip("[]") or "localhost", int(port or 9092)))
    if not hosts:
        raise ValueError(f"empty Kafka bootstrap string: {bootstrap!r}")
    return hosts


def _tcp_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


async def _kafka_metadata_probe(bootstrap: str, timeout: float) -> int:
    """One metadata round trip; returns the number of brokers in the answer."""
    from aiokafka import AIOKafkaClient

    client = AIOKafkaClient(
        bootstrap_servers=bootstrap,
        request_timeout_ms=max(1000, int(timeout * 1000)),
        client_id="embedded-probe",
    )
    try:
        await asyncio.wait_for(client.bootstrap(), timeout)
        return len(client.cluster.brokers())
    finally:
        await client.close()


def wait_for_kafka(
    bootstrap: str,
    timeout: float = DEFAULT_START_TIMEOUT,
    *,
    is_alive: Callable[[], bool] | None = None,
) -> None:
    """Block until the Kafka cluster at ``bootstrap`` answers a metadata request.

    ``is_alive`` (optional) is polled between attempts; when it returns False we give up early
    (used to notice a child process that crashed). Raises :class:`TimeoutError`.
    """
    hosts = _split_bootstrap(bootstrap)
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while True:
        if is_alive is not None and not is_alive():
            raise EmbeddedStackError(f"Kafka at {bootstrap} exited while waiting for it")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(
                f"Kafka at {bootstrap} did not answer a metadata request within {timeout:.0f}s"
                + (f" (last error: {last_error!r})" if last_error else "")
            )
        # Cheap TCP probe first: keeps aiokafka from logging connection errors while booting.
        if any(_tcp_open(h, p, min(0.5, remaining)) for h, p in hosts):
            try:
                brokers = _run_coro_in_thread(
                    functools.partial(
                        _kafka_metadata_probe, bootstrap, min(3.0, max(remaining, 0.5))
                    )
                )
                if brokers > 0:
                    return
                last_error = RuntimeError("metadata answer listed no brokers")
            except Exception as exc:
                last_error = exc
        time.sleep(0.1)


def wait_for_mongo(
    uri: str,
    timeout: float = DEFAULT_START_TIMEOUT,
    *,
    is_alive: Callable[[], bool] | None = None,
) -> None:
    """Block until the MongoDB server at ``uri`` answers ``ping``. Raises :class:`TimeoutError`."""
    from pymongo import MongoClient
    from pymongo.errors import PyMongoError

    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while True:
        if is_alive is not None and not is_alive():
            raise EmbeddedStackError(f"MongoDB at {uri} exited while waiting for it")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(
                f"MongoDB at {uri} did not answer ping within {timeout:.0f}s"
                + (f" (last error: {last_error!r})" if last_error else "")
            )
        ms = int(min(2.0, max(remaining, 0.2)) * 1000)
        client: MongoClient[Any] = MongoClient(
            uri, serverSelectionTimeoutMS=ms, connectTimeoutMS=ms, socketTimeoutMS=max(ms, 2000)
        )
        try:
            client.admin.command("ping")
            return
        except PyMongoError as exc:
            last_error = exc
        finally:
            client.close()
        time.sleep(0.1)
