"""Delivers webhook calls: signed with the subscription's secret, retried with exponential backoff,
every attempt logged on the delivery. Several instances may run: a delivery is leased before the
call, so only one instance makes it at a time."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from datetime import timedelta
from typing import Any

import httpx
from pymongo import ASCENDING, ReturnDocument

from libs.clock import Clock
from libs.logs import get_logger
from services.gateway.adapters import store
from services.gateway.config import Settings
from services.gateway.domain.webhooks import SIGNATURE_HEADER, backoff_s, signature

log = get_logger("services.gateway.webhooks")


class Dispatcher:
    def __init__(self, db: store.Db, clock: Clock, settings: Settings, client: httpx.AsyncClient | None = None) -> None:
        self.db, self.clock, self.settings = db, clock, settings
        self.client = client or httpx.AsyncClient(follow_redirects=False)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="webhook-dispatcher")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        await self.client.aclose()

    async def _run(self) -> None:
        while True:
            try:
                if await self.deliver_due() == 0:
                    await asyncio.sleep(self.settings.webhook_poll_interval_s)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the next round retries
                log.warning("webhook_round_failed", error=repr(exc)[:300])
                await asyncio.sleep(self.settings.webhook_poll_interval_s)

    async def deliver_due(self, limit: int = 20) -> int:
        """Make every due delivery's next attempt (up to `limit`); returns how many were tried."""
        tried = 0
        for _ in range(limit):
            now = self.clock.now()
            lease = now + timedelta(seconds=self.settings.webhook_timeout_s + 30)
            delivery = await self.db[store.DELIVERIES].find_one_and_update(
                {"status": "pending", "next_attempt_at": {"$lte": now}},
                {"$set": {"next_attempt_at": lease}},
                sort=[("next_attempt_at", ASCENDING)],
                return_document=ReturnDocument.AFTER,
            )
            if delivery is None:
                break
            await self._attempt(delivery)
            tried += 1
        return tried

    async def _attempt(self, delivery: dict[str, Any]) -> None:
        subscription = await self.db[store.SUBSCRIPTIONS].find_one({"_id": delivery["subscription_id"]})
        if subscription is None or not subscription.get("active"):
            await self.db[store.DELIVERIES].update_one({"_id": delivery["_id"]}, {"$set": {"status": "cancelled"}})
            return
        body = json.dumps(delivery["payload"], sort_keys=True, separators=(",", ":")).encode()
        now = self.clock.now()
        headers = {
            "content-type": "application/json",
            SIGNATURE_HEADER: signature(subscription["secret"], int(now.timestamp()), body),
            "X-ASI-Event-Id": str(delivery["event_id"]),
            "X-ASI-Event-Type": str(delivery.get("event_type") or ""),
            "X-ASI-Delivery-Id": delivery["_id"],
            "User-Agent": "asi-gateway-webhooks/1",
        }
        started = time.monotonic()
        status_code, error = None, None
        try:
            response = await self.client.post(subscription["url"], content=body, headers=headers,
                                              timeout=self.settings.webhook_timeout_s)
            status_code = response.status_code
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        attempts = delivery["attempts"] + 1
        entry = {"attempt": attempts, "at": now, "status_code": status_code, "error": error,
                 "duration_ms": round((time.monotonic() - started) * 1000)}
        fields: dict[str, Any] = {"attempts": attempts, "last_status_code": status_code, "last_error": error}
        if status_code is not None and 200 <= status_code < 300:
            fields.update(status="delivered", delivered_at=now)
        elif attempts >= self.settings.webhook_max_attempts:
            fields.update(status="failed")
        else:
            delay = backoff_s(attempts, self.settings.webhook_backoff_base_s, self.settings.webhook_backoff_max_s)
            fields.update(next_attempt_at=now + timedelta(seconds=delay))
        await self.db[store.DELIVERIES].update_one({"_id": delivery["_id"]}, {"$set": fields, "$push": {"log": entry}})
