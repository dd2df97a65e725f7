"""`make run`: the whole platform on this machine.

Starts the embedded Kafka-protocol broker (tansu; Apache Kafka with KAFKA=apache) and MongoDB-wire
server (unless KAFKA_BOOTSTRAP_SERVERS and MONGODB_URI point at real ones), creates every topic, starts the four services as separate
processes, shows their logs and progress, runs the supply-chain scenario when one is available,
and stops everything on Ctrl-C, leaving no process behind.

    python -m devstack.run            # until Ctrl-C
    python -m devstack.run --demo     # run the scenario once, then stop
"""

# ruff: noqa: E402 - the first Ctrl-C handler is installed before the slow imports

from __future__ import annotations

import os
import signal
import sys

if __name__ == "__main__":
    # Ctrl-C while Python is still importing: nothing is started yet, so leave at once and quietly.
    # os._exit, not sys.exit: a SystemExit raised while the interpreter runs a destructor or a cache's
    # callback is printed as "Exception ignored" and dropped, and the platform then started anyway
    # (seen once in CI: test_run.py's Ctrl-C at "importing").
    signal.signal(signal.SIGINT, lambda *_: os._exit(0))

import argparse
import asyncio
import contextlib
import ctypes
import json
import secrets
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from contracts.topics import ALL_TOPIC_NAMES
from libs import runfile
from devstack.embedded import EmbeddedStack, EmbeddedStackError, Endpoints, ensure_topics
from libs.settings import PlatformSettings
from devstack.stack import IncompleteExternalStackError, external_endpoints

SERVICES = ("certificates", "intake", "accounting", "claims", "gateway")
COLOURS = {"certificates": "35", "intake": "36", "accounting": "33", "claims": "32", "gateway": "34", "scenario": "1;34"}


def _die_with_parent() -> Callable[[], None] | None:
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL("libc.so.6", use_errno=True)

    def preexec() -> None:
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        os.setsid()

    return preexec


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


_output_closed = False


def say(source: str, line: str) -> None:
    """One labelled line on stdout; when its reader is gone (`make run | tee log`, Ctrl-C) the rest is dropped."""
    global _output_closed
    if _output_closed:
        return
    colour = COLOURS.get(source, "0")
    label = f"\033[{colour}m{source:>12}\033[0m" if _tty() else f"{source:>12}"
    try:
        print(f"{label} | {line}", flush=True)
    except (BrokenPipeError, ValueError, OSError):
        _output_closed = True
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _tty() -> bool:
    try:
        return sys.stdout.isatty()
    except ValueError:
        return False


class Stopper:
    """Ctrl-C (SIGINT) and SIGTERM, at any moment. The first interrupts whatever start-up or waiting is
    going on (as KeyboardInterrupt), except inside `shielded()` (spawning a process: an exception raised
    in Python's fork hooks is swallowed there), where it is raised by the `check()` right after; a
    stop that is already under way ignores later ones."""

    def __init__(self) -> None:
        self.requested = threading.Event()
        self.stopping = False
        self._shielded = 0
        self._pid = os.getpid()
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)

    def _on_signal(self, signum: int, _frame: object) -> None:
        if os.getpid() != self._pid:  # a forked child, before its exec: not ours to handle
            return
        if self.stopping:  # already stopping (printing here could re-enter a print under way)
            return
        first = not self.requested.is_set()
        self.requested.set()
        if first and not self._shielded:
            raise KeyboardInterrupt

    @contextlib.contextmanager
    def shielded(self) -> Iterator[None]:
        self._shielded += 1
        try:
            yield
        finally:
            self._shielded -= 1
        self.check()

    def check(self) -> None:
        """Raise KeyboardInterrupt if a stop was asked for (by a signal that could not raise it itself)."""
        if self.requested.is_set() and not self.stopping:
            raise KeyboardInterrupt


class StartFailed(Exception):
    """The platform could not start; the message says why."""


@dataclass
class ServiceProcess:
    name: str
    process: subprocess.Popen[bytes]
    health_port: int

    def ready(self) -> dict[str, object] | None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.health_port}/ready", timeout=1) as response:
                return json.loads(response.read())
        except Exception:  # noqa: BLE001 - not up yet
            return None


def _run_async(stopper: Stopper, work: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """`asyncio.run(work())`, with the event loop built while a Ctrl-C is held back: an interrupt that
    lands inside the loop's constructor leaves a half-built loop whose clean-up prints a traceback."""
    with stopper.shielded():
        loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(work())
    finally:
        loop.close()


def _port_or_free(preferred: int) -> int:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", preferred))
            return preferred
        except OSError:
            return _free_port()


def start_service(name: str, endpoints: Endpoints, embedded: bool, quiet: bool,
                  extra_env: dict[str, str] | None = None) -> ServiceProcess:
    prefix = name.upper()
    port = _free_port()
    env = {
        **os.environ,
        f"{prefix}_KAFKA_BOOTSTRAP_SERVERS": endpoints.kafka_bootstrap,
        f"{prefix}_MONGODB_URI": endpoints.mongodb_uri,
        f"{prefix}_HEALTH_PORT": str(port),
        f"{prefix}_KAFKA_IDEMPOTENT_PRODUCER": str(endpoints.idempotent_producer).lower(),
        f"{prefix}_LOG_FORMAT": "console",
        **({f"{prefix}_LOG_LEVEL": "WARNING"} if quiet else {}),
        "PYTHONUNBUFFERED": "1",
        **(extra_env or {}),
    }
    if embedded:
        # The embedded broker holds a group join for half the session timeout.
        env.setdefault(f"{prefix}_KAFKA_SESSION_TIMEOUT_MS", "4000")
        env.setdefault(f"{prefix}_KAFKA_HEARTBEAT_INTERVAL_MS", "1000")
    process = subprocess.Popen(
        [sys.executable, "-m", f"services.{name}"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        preexec_fn=_die_with_parent(),  # noqa: PLW1509 - only prctl + setsid
    )
    threading.Thread(target=_pump, args=(name, process), daemon=True).start()
    return ServiceProcess(name, process, port)


def _pump(name: str, process: subprocess.Popen[bytes]) -> None:
    assert process.stdout is not None
    for raw in process.stdout:
        say(name, raw.decode(errors="replace").rstrip())


def stop_all(services: list[ServiceProcess], grace_s: float = 15.0) -> None:
    for service in services:
        if service.process.poll() is None:
            service.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    for service in services:
        with contextlib.suppress(subprocess.TimeoutExpired):
            service.process.wait(max(0.1, deadline - time.monotonic()))
        if service.process.poll() is None:
            say("run", f"{service.name} did not stop in time; killing it")
            service.process.kill()
            service.process.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--demo", action="store_true", help="run the scenario once, then stop")
    parser.add_argument("--no-scenario", action="store_true", help="only run the platform")
    parser.add_argument("--quiet-services", action="store_true", help="show only warnings from the services")
    args = parser.parse_args(argv)

    stopper = Stopper()
    started = time.monotonic()
    platform = PlatformSettings()
    stack: EmbeddedStack | None = None
    services: list[ServiceProcess] = []
    ready = False
    try:
        try:
            external = external_endpoints()
        except IncompleteExternalStackError as exc:
            say("run", str(exc))
            return 2
        if external is not None:
            endpoints = external
            say("run", f"using real Kafka at {endpoints.kafka_bootstrap} and MongoDB at {endpoints.mongodb_uri}")
        else:
            log_dir = Path(platform.asi_data_dir) / "logs"
            log_dir.mkdir(parents=True, exist_ok=True)
            stack = EmbeddedStack(log_dir=log_dir)
            try:
                endpoints = stack.start()
            except RuntimeError as exc:  # e.g. KAFKA=apache without Java 17+ or Maven: the message says what to install
                say("run", f"could not start the embedded stack: {exc}")
                return 2
            stopper.check()
            broker = "Apache Kafka" if stack.kafka == "apache" else "tansu"
            say("run", f"embedded broker ({broker}) at {endpoints.kafka_bootstrap}, "
                       f"database (SecantusDB) at {endpoints.mongodb_uri}")
        _run_async(stopper, lambda: ensure_topics(endpoints.kafka_bootstrap, ALL_TOPIC_NAMES, partitions=4))
        stopper.check()
        say("run", f"{len(ALL_TOPIC_NAMES)} topics ready")
        http_port = _port_or_free(8080)
        admin_key = "asi-admin-" + secrets.token_urlsafe(24)
        gateway_url = f"http://127.0.0.1:{http_port}"
        gateway_env = {"GATEWAY_HTTP_PORT": str(http_port), "GATEWAY_BOOTSTRAP_ADMIN_KEY": admin_key,
                       "GATEWAY_PUBLIC_BASE_URL": gateway_url}
        for name in SERVICES:
            with stopper.shielded():
                services.append(start_service(name, endpoints, stack is not None, args.quiet_services,
                                              gateway_env if name == "gateway" else None))
        _wait_ready(services, stopper)
        ready = True
        run_file = runfile.write(platform.asi_data_dir, runfile.PlatformRecord(
            kafka_bootstrap_servers=endpoints.kafka_bootstrap, mongodb_uri=endpoints.mongodb_uri,
            gateway_url=gateway_url, secretariat_key=admin_key, pid=os.getpid(),
            started_at=datetime.now(UTC).isoformat()))
        say("run", f"platform ready in {time.monotonic() - started:.1f} s: {', '.join(SERVICES)}")
        say("run", f"HTTP API and public pages: {gateway_url}/ (OpenAPI: /docs); "
                   f"secretariat bootstrap key for this run: {admin_key}")
        say("run", f"where it listens, for the command-line tools: {run_file}")
        stopper.check()
        scenario = None if args.no_scenario else _scenario()
        if scenario is not None:
            outcome = scenario(endpoints, once=args.demo, stop=stopper.requested, say=say)
            if args.demo:
                return 0 if outcome else 1
        else:
            say("run", "no scenario; the platform is waiting for plant data. Ctrl-C stops everything.")
        while not stopper.requested.is_set():
            _report(services)
            dead = [s.name for s in services if s.process.poll() is not None]
            if dead:
                say("run", f"service(s) exited: {', '.join(dead)}; stopping")
                return 1
            stopper.requested.wait(10)
        return 0
    except KeyboardInterrupt:
        say("run", "interrupted" + ("" if ready else " during start-up"))
        return 130 if args.demo else 0
    except (StartFailed, EmbeddedStackError, TimeoutError, OSError) as exc:
        say("run", f"could not start the platform: {exc}")
        return 1
    finally:
        stopper.stopping = True
        stopper.requested.set()
        say("run", "stopping...")
        stop_all(services)
        if stack is not None:
            stack.stop()
        runfile.remove(platform.asi_data_dir, os.getpid())
        say("run", "stopped; no process left running")


def _wait_ready(services: list[ServiceProcess], stopper: Stopper, timeout_s: float = 90.0) -> None:
    deadline = time.monotonic() + timeout_s
    pending = {s.name: s for s in services}
    while pending and time.monotonic() < deadline:
        stopper.check()
        for name, service in list(pending.items()):
            if service.process.poll() is not None:
                raise StartFailed(f"{name} exited with code {service.process.returncode} while starting")
            if (service.ready() or {}).get("ready"):
                pending.pop(name)
        time.sleep(0.2)
    if pending:
        raise StartFailed(f"not ready after {timeout_s:.0f} s: {', '.join(pending)}")


def _report(services: list[ServiceProcess]) -> None:
    for service in services:
        state = service.ready() or {}
        consumers = state.get("consumers") or {}
        parts = [f"{topic}: {stats['messages']} msgs, {stats['dead_lettered']} dead-lettered"
                 for topic, stats in consumers.items() if stats["messages"]]  # type: ignore[index]
        if parts:
            say(service.name, "progress | " + "; ".join(parts))


def _scenario():  # noqa: ANN202
    try:
        from devstack.scenario import run_scenario
    except ImportError:
        return None
    return run_scenario


if __name__ == "__main__":
    sys.exit(main())
