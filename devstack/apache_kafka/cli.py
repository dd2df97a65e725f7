"""``python -m devstack.apache_kafka``: fetch the jars (``--fetch``), or run a bare broker until Ctrl-C."""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from devstack.apache_kafka.broker import _HOST, _free_port, broker_command
from devstack.apache_kafka.install import (
    ApacheKafkaUnavailable,
    ensure_jars,
    find_java,
    kafka_version,
)


def main(argv: Sequence[str] | None = None) -> int:
    from devstack import apache_kafka  # its docstring is the help

    parser = argparse.ArgumentParser(
        prog="python -m devstack.apache_kafka",
        description=apache_kafka.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--fetch", action="store_true", help="only fetch the jars into the cache, then exit"
    )
    parser.add_argument("--port", type=int, default=0, help="0 = pick a free port")
    parser.add_argument(
        "--data-dir", type=Path, default=None, help="log directory (default: a temporary one)"
    )
    args = parser.parse_args(argv)
    try:
        if args.fetch:
            find_java()
            print(ensure_jars())
            return 0
        data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="apache-kafka-"))
        port = args.port or _free_port()
        command = broker_command(data_dir, port)
    except ApacheKafkaUnavailable as exc:
        print(f"Apache Kafka unavailable: {exc}", file=sys.stderr)
        return 1
    with open(data_dir / "kafka.log", "ab") as log:
        broker = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    print(f"KAFKA_BOOTSTRAP_SERVERS={_HOST}:{port}", flush=True)
    print(
        f"# Apache Kafka {kafka_version()} pid {broker.pid}, log {data_dir / 'kafka.log'}; Ctrl-C stops it",
        file=sys.stderr,
        flush=True,
    )
    signal.signal(signal.SIGTERM, lambda *_: broker.terminate())
    try:
        return broker.wait()
    except KeyboardInterrupt:
        broker.terminate()
        try:
            return broker.wait(30)
        except subprocess.TimeoutExpired:
            broker.kill()
            return broker.wait()
