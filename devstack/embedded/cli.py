"""``python -m devstack.embedded``: run the embedded stack until Ctrl-C / SIGTERM, printing where to
connect (``KAFKA_BOOTSTRAP_SERVERS=...``, ``MONGODB_URI=...``)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from devstack.embedded.readiness import DEFAULT_START_TIMEOUT, EmbeddedStackError
from devstack.embedded.stack import EmbeddedStack
from devstack.embedded.topics import ensure_topics


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
