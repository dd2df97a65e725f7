"""Run a service with a crash right after a batch's transaction commits and before its outbox is
published, the moment the delivery runtime must survive:

    python -m tests.failpoint services.intake crash_after_commit:plant.events.v1

The service's own code has only the hook point (`libs.messaging.after_commit_hooks`); the exit lives
here, in the tests. `crash_after_commit` alone crashes after a batch of any topic."""

from __future__ import annotations

import os
import runpy
import sys

from libs import messaging

EXIT_CODE = 70


def arm(point: str) -> None:
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
