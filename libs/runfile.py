"""Where the platform that `make run` started listens: one git-ignored file, `<ASI_DATA_DIR>/platform.json`
(`.run/platform.json` by default), written when the platform is ready and removed when it stops.

It holds the bootstrap servers, the MongoDB URI, the gateway's URL, the run's secretariat key and the
pid of `make run`; it is readable by its owner only. The command-line tools read it through their
service's Settings (`ServiceSettings.for_cli`), after the environment, so a variable still overrides it.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = ["FILE_NAME", "START_HINT", "NoPlatformRunning", "PlatformRecord", "find", "read", "remove", "write"]

FILE_NAME = "platform.json"
START_HINT = "start it with `make run`"
_PROJECT_ROOT = Path(__file__).resolve().parents[1]


class NoPlatformRunning(RuntimeError):
    """A tool found no platform to talk to; its message is the one line to show."""


@dataclass(frozen=True)
class PlatformRecord:
    kafka_bootstrap_servers: str
    mongodb_uri: str
    gateway_url: str
    secretariat_key: str
    pid: int
    started_at: str


def _candidates(data_dir: str) -> list[Path]:
    path = Path(data_dir) / FILE_NAME
    if path.is_absolute():
        return [path]
    return list(dict.fromkeys([Path.cwd() / path, _PROJECT_ROOT / path]))


def find(data_dir: str) -> Path | None:
    """The run file for this data directory (relative ones from here or the project's root), if any."""
    return next((p for p in _candidates(data_dir) if p.exists()), None)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read(data_dir: str) -> PlatformRecord | None:
    """The running platform's record; None when there is no file. A file whose `make run` is gone, or
    that cannot be read, raises :class:`NoPlatformRunning`."""
    path = find(data_dir)
    if path is None:
        return None
    try:
        record = PlatformRecord(**json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError) as exc:
        raise NoPlatformRunning(f"no platform is running ({path} is unreadable: {exc}): {START_HINT}") from exc
    if not _alive(record.pid):
        raise NoPlatformRunning(f"no platform is running (the `make run` that wrote {path} has ended): {START_HINT}")
    return record


def write(data_dir: str, record: PlatformRecord) -> Path:
    """Write the record atomically, readable by its owner only (it holds the secretariat key)."""
    path = Path(data_dir) / FILE_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(asdict(record), handle, indent=2)
        handle.write("\n")
    os.replace(partial, path)
    return path.resolve()


def remove(data_dir: str, pid: int) -> None:
    """Remove the file if this process wrote it (another `make run` may have replaced it since)."""
    path = Path(data_dir) / FILE_NAME
    try:
        if json.loads(path.read_text(encoding="utf-8")).get("pid") == pid:
            path.unlink()
    except (OSError, ValueError, AttributeError):
        pass
