"""Delivers webhook calls: signed as Standard Webhooks with the subscription's secret, retried with
exponential backoff, every attempt logged on the delivery. Several instances may run: a delivery is
leased before the call, so only one instance makes it at a time.

Where a call may go is decided at delivery time on the addresses the resolver returns (a name may
point inside the network later, and `0177.0.0.1`, `2130706433` or `0x7f000001` are loopback in
disguise); the call then connects to the address that was checked, never to a fresh lookup, and
follows no redirect. What the delivery log says about a failed call does not tell a closed port from
a silent or a plain-HTTP one."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import SplitResult, urlsplit

import httpx
from pymongo import ASCENDING, ReturnDocument

from libs.clock import Clock
from libs.logs import get_logger
from libs.cancellation import cancel_requested, reraise_if_cancelled
from services.gateway.adapters import store
from services.gateway.config import Settings
from services.gateway.domain import webhooks
from services.gateway.domain.webhooks import NOT_ALLOWED, address_allowed, backoff_s

log = get_logger("services.gateway.webhooks")

Resolver = Callable[[str, int], Awaitable[list[str]]]
NO_ANSWER = "no HTTP answer (the connection failed, TLS failed or the call timed out)"
INVALID_URL = "the URL is not valid"
UNRESOLVED = "the host name could not be resolved"


async def resolve(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for `host` (numeric forms included)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


@dataclass(frozen=True)
class Target:
    url: str
    host_header: str
    sni_hostname: str | None


class Refused(Exception):
    """The delivery may not be made; the message is safe to show the subscriber."""


async def pinned_target(url: str, allow_private: bool, resolver: Resolver) -> Target:
    """The URL rewritten to the checked address, with the Host header and TLS name of the original."""
    parts, host, port = _http_url(url)
    address = (await _allowed_addresses(host, port, allow_private, resolver))[0].split("%", 1)[0]
    literal = f"[{address}]" if ":" in address else address
    path = parts.path or "/"
    target = f"{parts.scheme}://{literal}:{port}{path}" + (f"?{parts.query}" if parts.query else "")
    return Target(target, _host_header(host, port, parts.scheme), host if parts.scheme == "https" else None)


def _http_url(url: str) -> tuple[SplitResult, str, int]:
    """The URL's parts, host and port (the scheme's default when it names none); Refused unless it
    is http(s) with a host."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise Refused(INVALID_URL) from exc
    if parts.scheme not in ("http", "https") or not host:
        raise Refused(INVALID_URL)
    return parts, host, port


async def _allowed_addresses(host: str, port: int, allow_private: bool, resolver: Resolver) -> list[str]:
    """What the host resolves to now; Refused when nothing, or when any address is not one a
    delivery may go to (unless private targets are allowed)."""
    try:
        addresses = await resolver(host, port)
    except (OSError, UnicodeError) as exc:
        raise Refused(UNRESOLVED) from exc
    if not addresses:
        raise Refused(UNRESOLVED)
    if not allow_private and not all(address_allowed(a) for a in addresses):
        raise Refused(NOT_ALLOWED)
    return list(addresses)


def _host_header(host: str, port: int, scheme: str) -> str:
    """The original Host header: the name alone on the scheme's default port, else with the port
    (an IPv6 literal in brackets)."""
    if port == (443 if scheme == "https" else 80):
        return host
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class Dispatcher:
    def __init__(self, db: store.Db, clock: Clock, settings: Settings, client: httpx.AsyncClient | None = None,
                 resolver: Resolver = resolve) -> None:
        self.db, self.clock, self.settings, self.resolver = db, clock, settings, resolver
        # No connection is kept for another call: a TLS session checked for one host name must not
        # carry a call to another name that resolved to the same address.
        self.client = client or httpx.AsyncClient(follow_redirects=False, trust_env=False,
                                                  limits=httpx.Limits(max_keepalive_connections=0))
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
        # `cancel_requested()`: a cancellation the database driver swallowed still ends the loop
        while not cancel_requested():
            try:
                tried = await self.deliver_due()
            except Exception as exc:  # noqa: BLE001 - the next round retries
                reraise_if_cancelled()
                log.warning("webhook_round_failed", error=type(exc).__name__)
                tried = 0
            if tried == 0:
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
        now = self.clock.now()
        started = time.monotonic()
        status_code, error = await self._call(subscription, delivery, int(now.timestamp()))
        attempts = delivery["attempts"] + 1
        # How long a failed call took would tell a closed port from a silent one: only answers are timed.
        duration = round((time.monotonic() - started) * 1000) if status_code is not None else None
        entry = {"attempt": attempts, "at": now, "status_code": status_code, "error": error, "duration_ms": duration}
        fields: dict[str, Any] = {"attempts": attempts, "last_status_code": status_code, "last_error": error}
        if status_code is not None and 200 <= status_code < 300:
            fields.update(status="delivered", delivered_at=now)
        elif attempts >= self.settings.webhook_max_attempts:
            fields.update(status="failed")
        else:
            delay = backoff_s(attempts, self.settings.webhook_backoff_base_s, self.settings.webhook_backoff_max_s)
            fields.update(next_attempt_at=now + timedelta(seconds=delay))
        await self.db[store.DELIVERIES].update_one({"_id": delivery["_id"]}, {"$set": fields, "$push": {"log": entry}})

    async def _call(self, subscription: dict[str, Any], delivery: dict[str, Any], timestamp: int) -> tuple[int | None, str | None]:
        """(status code, None) for an answer, (None, error) otherwise; never raises."""
        try:
            target = await asyncio.wait_for(pinned_target(
                subscription["url"], self.settings.webhook_allow_private_targets, self.resolver), self.settings.webhook_timeout_s)
        except TimeoutError:
            return None, UNRESOLVED
        except Refused as exc:
            return None, str(exc)
        except Exception as exc:  # noqa: BLE001 - a bad address must never end the round
            log.warning("webhook_target_failed", delivery_id=delivery["_id"], error=type(exc).__name__)
            return None, INVALID_URL
        body = json.dumps(delivery["payload"], sort_keys=True, separators=(",", ":")).encode()
        headers = {
            "content-type": "application/json", "host": target.host_header,
            **webhooks.headers(subscription["secret"], str(delivery["event_id"]), timestamp, body),
            "X-ASI-Event-Type": str(delivery.get("event_type") or ""),
            "X-ASI-Delivery-Id": delivery["_id"],
            "User-Agent": "asi-gateway-webhooks/2",
        }
        extensions = {"sni_hostname": target.sni_hostname} if target.sni_hostname else {}
        try:
            response = await self.client.post(target.url, content=body, headers=headers, extensions=extensions,
                                              timeout=self.settings.webhook_timeout_s, follow_redirects=False)
        except Exception:  # noqa: BLE001 - every failure reads the same (see the module's docstring)
            return None, NO_ANSWER
        return response.status_code, None
