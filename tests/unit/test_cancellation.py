"""A loop whose database driver swallows a cancellation (PyMongo can turn it into its own error, or
return) still stops when asked: CI once hung for 90 minutes on a webhook dispatcher that did not."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from libs.cancellation import cancel_requested, reraise_if_cancelled
from services.gateway.adapters.dispatcher import Dispatcher
from services.gateway.config import Settings


class SwallowingDispatcher(Dispatcher):
    """`deliver_due` as the driver behaves when cancelled mid-operation: it raises, or returns."""

    def __init__(self, how: str) -> None:
        super().__init__(db=None, clock=None, settings=Settings(webhook_poll_interval_s=0.01))  # type: ignore[arg-type]
        self.how = how
        self.rounds = 0

    async def deliver_due(self, limit: int = 20) -> int:
        self.rounds += 1
        try:
            await asyncio.sleep(0.05)
        except asyncio.CancelledError:
            if self.how == "raises":
                raise ConnectionError("operation cancelled") from None
            return 0
        return 0


@pytest.mark.parametrize("how", ["raises", "returns"])
async def test_a_dispatcher_whose_driver_swallows_the_cancellation_still_stops(how: str) -> None:
    dispatcher = SwallowingDispatcher(how)
    dispatcher.start()
    await asyncio.sleep(0.02)  # inside deliver_due's database call
    await asyncio.wait_for(dispatcher.stop(), 2)
    assert dispatcher._task is not None and dispatcher._task.done()


async def test_reraise_if_cancelled_raises_only_in_a_cancelled_task() -> None:
    reraise_if_cancelled()  # not cancelled: nothing happens
    seen: list[Any] = []

    async def swallower() -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            pass
        seen.append(cancel_requested())
        reraise_if_cancelled()
        seen.append("went on")

    task = asyncio.create_task(swallower())
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert seen == [True]
