"""Plumbing for `make bench`: services as separate processes with their peak memory, rates, percentiles."""

from __future__ import annotations

import os
import platform
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from libs.embedded import Endpoints

ROOT = Path(__file__).resolve().parents[1]


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
        mem_kb = int(next(l for l in Path("/proc/meminfo").read_text().splitlines() if l.startswith("MemTotal")).split()[1])
        memory = f"{mem_kb / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration):
        memory = "unknown memory"
    return (f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores ({cpu}), {memory}, "
            f"Python {platform.python_version()}")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass
class ServiceProcess:
    name: str
    process: subprocess.Popen[bytes]
    peak_rss_mb: float = 0.0

    def sample(self) -> None:
        try:
            for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    self.peak_rss_mb = max(self.peak_rss_mb, int(line.split()[1]) / 1024)
        except OSError:
            pass

    def stop(self) -> None:
        self.sample()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class Services:
    endpoints: Endpoints
    embedded: bool
    running: list[ServiceProcess] = field(default_factory=list)
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:6])

    def start(self, name: str, **settings: str) -> ServiceProcess:
        prefix = name.upper()
        env = {
            **os.environ,
            f"{prefix}_KAFKA_BOOTSTRAP_SERVERS": self.endpoints.kafka_bootstrap,
            f"{prefix}_MONGODB_URI": self.endpoints.mongodb_uri,
            f"{prefix}_DATABASE": f"bench_{self.run_id}_{name}",
            f"{prefix}_CONSUMER_GROUP": f"bench-{self.run_id}-{name}",
            f"{prefix}_LOG_LEVEL": "WARNING",
            f"{prefix}_LOG_FORMAT": "json",
            **{f"{prefix}_{k.upper()}": v for k, v in settings.items()},
        }
        if self.embedded:
            env.setdefault(f"{prefix}_KAFKA_SESSION_TIMEOUT_MS", "6000")
            env.setdefault(f"{prefix}_KAFKA_HEARTBEAT_INTERVAL_MS", "1000")
            env.setdefault(f"{prefix}_KAFKA_FETCH_MAX_WAIT_MS", "20")
        process = subprocess.Popen([sys.executable, "-m", f"services.{name}"], cwd=ROOT, env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        service = ServiceProcess(name, process)
        self.running.append(service)
        return service

    def database(self, name: str) -> str:
        return f"bench_{self.run_id}_{name}"

    def sample(self) -> None:
        for service in self.running:
            service.sample()

    def stop(self) -> None:
        for service in self.running:
            service.stop()


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
