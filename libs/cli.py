"""What every command-line tool does the same way: one line instead of a traceback when no platform
answers or an input is unusable, and a quiet end when its reader goes away (`tool | head`)."""

from __future__ import annotations

import json
import os
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from libs.runfile import START_HINT, NoPlatformRunning

__all__ = ["CliError", "NoPlatformRunning", "kafka_reachable", "mongo_reachable", "run"]

REACH_TIMEOUT_S = 3.0


class CliError(Exception):
    """A problem with what the person gave the tool; its message is the one line to show."""


def read_json(source: str) -> Any:
    """The JSON in a file (`-`: standard input); `CliError` saying in one line what is wrong with it."""
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot read {source}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise CliError(f"{source} is not a text file (not UTF-8 at byte {exc.start})") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliError(f"{source} is not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from exc


def mongo_reachable(uri: str, timeout_s: float = REACH_TIMEOUT_S) -> None:
    """Ping the database once, quickly; :class:`NoPlatformRunning` when it does not answer."""
    from pymongo import MongoClient
    from pymongo.errors import PyMongoError

    ms = int(timeout_s * 1000)
    client: MongoClient[dict[str, object]] = MongoClient(uri, serverSelectionTimeoutMS=ms, connectTimeoutMS=ms)
    try:
        client.admin.command("ping")
    except PyMongoError as exc:
        raise NoPlatformRunning(f"no platform is running: the database at {uri} does not answer; {START_HINT} "
                                "(or set MONGODB_URI to yours)") from exc
    finally:
        client.close()


def kafka_reachable(bootstrap: str, timeout_s: float = REACH_TIMEOUT_S) -> None:
    """One TCP connection to any bootstrap server; :class:`NoPlatformRunning` when none accepts."""
    for item in bootstrap.split(","):
        host, _, port = item.strip().split("://", 1)[-1].rpartition(":")
        try:
            with socket.create_connection((host.strip("[]") or "localhost", int(port or 9092)), timeout=timeout_s):
                return
        except (OSError, ValueError):
            continue
    raise NoPlatformRunning(f"no platform is running: the broker at {bootstrap} does not answer; {START_HINT} "
                            "(or set KAFKA_BOOTSTRAP_SERVERS to yours)")


def run(main: Callable[[], int]) -> int:
    """Run a tool's main and return its exit code: 2 with one line on stderr for no platform or a bad
    input; 0 when stdout was closed by its reader."""
    try:
        code = main()
        sys.stdout.flush()  # here, not at exit, where a closed pipe would print a complaint
        return code
    except (NoPlatformRunning, CliError) as exc:
        _flush_quietly()
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


def _flush_quietly() -> None:
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
