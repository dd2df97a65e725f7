"""`make run`: the platform comes up on the embedded stack and Ctrl-C leaves no process behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_run_starts_everything_and_ctrl_c_stops_every_process(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"KAFKA_BOOTSTRAP_SERVERS", "MONGODB_URI"}}
    env["ASI_DATA_DIR"] = str(tmp_path)
    process = subprocess.Popen([sys.executable, "-m", "services.run", "--no-scenario", "--quiet-services"], cwd=ROOT,
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = []
    started = time.monotonic()
    try:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            if "platform ready" in line:
                break
        assert any("platform ready" in line for line in output), "".join(output)[-3000:]
        assert time.monotonic() - started < 60, "make run must be up in under a minute"
        family = _descendants(process.pid)
        assert len(family) >= 6, f"broker, database and four services expected, found {family}"
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=60)
        output.append(rest)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, "".join(output)[-3000:]
    assert "stopped; no process left running" in "".join(output)
    time.sleep(0.5)
    assert [pid for pid in family if _alive(pid)] == []
