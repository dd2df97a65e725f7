"""Run a service with a crash right after a batch's transaction commits and before its outbox is
published, the moment the delivery runtime must survive:

    python -m tests.failpoint services.intake crash_after_commit:plant.events.v1

The service's own code has only the hook point (`libs.messaging.after_commit_hooks`); the exit lives
here, in the tests. `crash_after_commit` alone crashes after a batch of any topic.

    python -m tests.failpoint services.intake slow_publish:0.3

delays every publish of the service's outbox by that many seconds (the broker answering slowly),
so a backlog of committed, unpublished batches is there whenever the service is stopped or loses
a partition; `slow_stop:1` waits a second before the broker's subscribers stop (a slow shutdown).
Points combine, comma-separated: `slow_publish:0.3,slow_stop:1`."""

from __future__ import annotations

import asyncio
import os
import runpy
import sys

from faststream.kafka import KafkaBroker

from libs import messaging
from libs.kafka import BrokerPublisher

EXIT_CODE = 70


def arm(points: str) -> None:
    """Arm each of the comma-separated points."""
    for point in points.split(","):
        _arm(point)


def _arm(point: str) -> None:
    if point.startswith("slow_publish:"):
        delay = float(point.split(":", 1)[1])
        publish_many = BrokerPublisher.publish_many

        async def slow(self: BrokerPublisher, items):  # type: ignore[no-untyped-def]
            await asyncio.sleep(delay)
            await publish_many(self, items)

        BrokerPublisher.publish_many = slow  # type: ignore[method-assign]
        return
    if point.startswith("slow_stop:"):
        pause = float(point.split(":", 1)[1])
        stop = KafkaBroker.stop

        async def slow_stop(self: KafkaBroker, *args):  # type: ignore[no-untyped-def]
            await asyncio.sleep(pause)
            await stop(self, *args)

        KafkaBroker.stop = slow_stop  # type: ignore[method-assign]
        return

    def crash(topic: str) -> None:
        if point in ("crash_after_commit", f"crash_after_commit:{topic}"):
            messaging.log.warning("failpoint_crash_after_commit", topic=topic)
            os._exit(EXIT_CODE)

    messaging.after_commit_hooks.append(crash)


def command(module: str, point: str | None) -> list[str]:
    """The command line that runs `module` (`python -m module`), with the crash armed if `point`."""
    if point is None:
        return [sys.executable, "-m", module]
    return [sys.executable, "-m", "tests.failpoint", module, point]


if __name__ == "__main__":
    module, point = sys.argv[1], sys.argv[2]
    arm(point)
    sys.argv = [module]
    runpy.run_module(module, run_name="__main__", alter_sys=True)
