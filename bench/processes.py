"""The services as separate processes, as in production: started with the bench's settings (their
own databases and consumer groups, a health port each), stopped, and sampled for their peak memory."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack.embedded import Endpoints

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class ServiceProcess:
    name: str
    process: subprocess.Popen[bytes]
    peak_rss_mb: float = 0.0
    health_port: int | None = None
    """Where the service serves /health, /ready and /metrics (bench/latency.py scrapes it)."""

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

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
    log_dir: Path | None = None
    """Where each service's warnings go (`<name>.log`); None: discarded."""
    profile: frozenset[str] = frozenset()
    """Services run under cProfile (`<log_dir>/<name>.prof`, written when the service stops)."""
    peaks: dict[str, float] = field(default_factory=dict)
    """Peak memory of processes of a service that stopped (an earlier process, or an earlier stack's)."""

    def start(self, name: str, **settings: str) -> ServiceProcess:
        prefix = name.upper()
        env = {
            **os.environ,
            f"{prefix}_KAFKA_BOOTSTRAP_SERVERS": self.endpoints.kafka_bootstrap,
            f"{prefix}_MONGODB_URI": self.endpoints.mongodb_uri,
            f"{prefix}_KAFKA_IDEMPOTENT_PRODUCER": str(self.endpoints.idempotent_producer).lower(),
            f"{prefix}_DATABASE": f"bench_{self.run_id}_{name}",
            f"{prefix}_CONSUMER_GROUP": f"bench-{self.run_id}-{name}",
            f"{prefix}_LOG_LEVEL": "WARNING",
            f"{prefix}_LOG_FORMAT": "json",
            f"{prefix}_HEALTH_PORT": str(port := _free_port()),
            **{f"{prefix}_{k.upper()}": v for k, v in settings.items()},
        }
        if self.embedded:
            env.setdefault(f"{prefix}_KAFKA_SESSION_TIMEOUT_MS", "6000")
            env.setdefault(f"{prefix}_KAFKA_HEARTBEAT_INTERVAL_MS", "1000")
            env.setdefault(f"{prefix}_KAFKA_FETCH_MAX_WAIT_MS", "50")
        log: Any = subprocess.DEVNULL
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            log = (self.log_dir / f"{name}.log").open("ab")
        command = [sys.executable, "-m", f"services.{name}"]
        if name in self.profile and self.log_dir is not None:
            command[1:1] = ["-m", "cProfile", "-o", str(self.log_dir / f"{name}.prof")]
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        service = ServiceProcess(
            name, process, peak_rss_mb=self.peaks.get(name, 0.0), health_port=port
        )
        self.running.append(service)
        return service

    def stop_one(self, name: str) -> None:
        """Stop the running process of a service (it starts again with `start`, in the same consumer
        group and database; its peak memory is kept in the row of the next process)."""
        for service in [s for s in self.running if s.name == name and s.alive]:
            service.stop()
            self.running.remove(service)
            self.peaks[name] = max(self.peaks.get(name, 0.0), service.peak_rss_mb)

    def database(self, name: str) -> str:
        return f"bench_{self.run_id}_{name}"

    def group(self, name: str) -> str:
        """The consumer group a service reads all its topics in (libs.service: one per service)."""
        return f"bench-{self.run_id}-{name}"

    def sample(self) -> None:
        for service in self.running:
            service.sample()

    def stop(self) -> None:
        for service in self.running:
            service.stop()
            self.peaks[service.name] = max(self.peaks.get(service.name, 0.0), service.peak_rss_mb)
