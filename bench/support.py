"""Plumbing for `make bench`: the machine and its load, percentiles, rates, CPU time per process.

The rest of the plumbing has modules of its own and is importable from here too: services as separate
processes with their peak memory (bench/processes.py), topic watchers that stamp arrivals, live or read
after the fact from the records' timestamps (bench/watchers.py), and consumer-group lag and offsets
(bench/offsets.py)."""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Iterable
from pathlib import Path

from bench.offsets import commit_group_offsets as commit_group_offsets
from bench.offsets import group_lag as group_lag
from bench.offsets import partitions as partitions
from bench.processes import ROOT as ROOT
from bench.processes import ServiceProcess as ServiceProcess
from bench.processes import Services as Services
from bench.watchers import Arrivals as Arrivals
from bench.watchers import Pick as Pick
from bench.watchers import Stamps as Stamps
from bench.watchers import Watch as Watch


def machine() -> str:
    cpu = "unknown cpu"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        mem_kb = int(
            next(
                l
                for l in Path("/proc/meminfo").read_text().splitlines()
                if l.startswith("MemTotal")
            ).split()[1]
        )
        memory = f"{mem_kb / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration):
        memory = "unknown memory"
    return (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores ({cpu}), {memory}, "
        f"Python {platform.python_version()}"
    )


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Rate:
    """Counts arrivals and reports a sustained rate between the first and last arrival."""

    def __init__(self) -> None:
        self.count = 0
        self.first: float | None = None
        self.last: float | None = None

    def add(self, n: int = 1) -> None:
        now = time.perf_counter()
        if self.first is None:
            self.first = now
        self.last = now
        self.count += n

    @property
    def seconds(self) -> float:
        return (self.last or 0) - (self.first or 0)

    @property
    def per_second(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else float("nan")


def rate_of(stamps: Iterable[float]) -> tuple[int, float, float]:
    """(count, seconds between the first and the last, count per second) of arrival stamps."""
    ordered = sorted(stamps)
    if len(ordered) < 2:
        return len(ordered), 0.0, float("nan")
    seconds = ordered[-1] - ordered[0]
    return len(ordered), seconds, len(ordered) / seconds if seconds > 0 else float("nan")


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU seconds each process spent between `start()` and `stop()`."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.before: dict[str, float] = {}
        self.spent: dict[str, float] = {}

    def start(self) -> CpuMeter:
        self.before = {
            name: t for name, pid in self.pids.items() if (t := cpu_seconds(pid)) is not None
        }
        return self

    def stop(self) -> dict[str, float]:
        for name, pid in self.pids.items():
            after = cpu_seconds(pid)
            if after is not None and name in self.before:
                self.spent[name] = after - self.before[name]
        return self.spent
