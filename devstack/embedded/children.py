"""Child server processes that die with the parent: spawned from one long-lived thread (so
``PR_SET_PDEATHSIG`` holds), each in its own process group with its own log file, stopped with SIGTERM
then SIGKILL; and a free local port for each."""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

log = logging.getLogger("devstack.embedded")  # the package's one logger, named as before the split

T = TypeVar("T")

STOP_GRACE_SECONDS = 10.0
_HOST = "127.0.0.1"
_LOG_TAIL_BYTES = 4000
_ANSI_RE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")

_PR_SET_PDEATHSIG = 1


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
