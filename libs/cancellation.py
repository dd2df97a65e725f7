"""Cancellation that survives libraries which turn it into another exception.

PyMongo's async driver, cancelled in the middle of a network operation, can raise its own error
(`_OperationCancelled`, `AutoReconnect`, ...) instead of `asyncio.CancelledError`. A retrying loop that
catches `Exception` then logs it, sleeps and goes round again: the task that was asked to stop never
does, and whoever awaits it (a shutdown, a test's teardown) waits forever. Every loop that catches
`Exception` calls `reraise_if_cancelled()` first.
"""

from __future__ import annotations

import asyncio


def cancel_requested() -> bool:
    """True when the running task has been asked to stop (`Task.cancel()`) and has not uncancelled."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def reraise_if_cancelled() -> None:
    """Raise `CancelledError` if the running task was cancelled while a library swallowed it."""
    if cancel_requested():
        raise asyncio.CancelledError
