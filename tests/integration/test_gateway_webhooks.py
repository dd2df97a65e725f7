"""Webhooks: certificate events POSTed as Standard Webhooks, retried with backoff, logged, replayable; and
never to an address inside the network, whatever form the URL writes it in."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from contracts.common import Role
from devstack.gateway_testing import certificate_changed, eventually, gateway_client
from tests.integration.test_gateway_api import ADMIN, auth, gateway_settings, new_key
from tests.support import unique

pytestmark = pytest.mark.integration


def standard_webhooks_verify(secret: str, headers: dict[str, str], body: bytes, tolerance_s: int = 300) -> bool:
    """A receiver's check, written from the Standard Webhooks specification (not the gateway's code):
    the key is the base64 after `whsec_`; the signed content is `<webhook-id>.<webhook-timestamp>.<body>`;
    `webhook-signature` is a space-separated list of `v1,<base64 HMAC-SHA256>`; stale timestamps fail."""
    key = base64.b64decode(secret.split("_", 1)[1])
    msg_id, timestamp = headers["webhook-id"], headers["webhook-timestamp"]
    if abs(time.time() - int(timestamp)) > tolerance_s:
        return False
    expected = base64.b64encode(hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest())
    for candidate in headers["webhook-signature"].split(" "):
        version, _, signature = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(signature.encode(), expected):
            return True
    return False


class Receiver:
    """A tiny HTTP server on loopback that answers with the statuses it is given, then 200."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.calls: list[tuple[dict[str, str], bytes, int]] = []
        self.server: asyncio.AbstractServer | None = None

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/hook"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode().split("\r\n")[1:]
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines if line)}
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        status = self.statuses.pop(0) if self.statuses else 200
        self.calls.append((headers, body, status))
        writer.write(f"HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".encode())
        await writer.drain()
        writer.close()

    async def stop(self) -> None:
        if self.server:
            self.server.close()


async def test_certificate_events_are_delivered_signed_retried_logged_and_replayed(stack, sender):
    receiver = Receiver([500, 503])
    url = await receiver.start()
    try:
        async with gateway_client(gateway_settings(stack)) as (_, client):
            body_x, body_y, member, other = unique("cbX"), unique("cbY"), unique("member"), unique("other")
            x = await new_key(client, body_x, Role.CERTIFICATION_BODY)
            y = await new_key(client, body_y, Role.CERTIFICATION_BODY)
            producer = await new_key(client, member, Role.PRODUCER)
            request = {"url": url, "organisation_ids": [member]}
            assert (await client.post("/v1/webhooks", json=request, headers=auth(producer))).status_code == 403
            refused = await client.post("/v1/webhooks", json={"url": "ftp://x"}, headers=auth(x))
            assert refused.status_code == 422
            created = await client.post("/v1/webhooks", json=request, headers=auth(x))
            assert created.status_code == 201, created.text
            subscription, secret = created.json()["subscription_id"], created.json()["secret"]
            assert (await client.get(f"/v1/webhooks/{subscription}/deliveries", headers=auth(y))).status_code == 404
            assert subscription not in str((await client.get("/v1/webhooks", headers=auth(y))).json())

            before = datetime.now(UTC) - timedelta(seconds=1)
            issued = certificate_changed(unique("cert"), unique("ASI-COC"), member, unique("site"))
            await sender.send(certificate_changed(unique("cert"), unique("ASI-COC"), other, unique("site")))
            await sender.send(issued)

            async def delivered() -> list[dict[str, Any]] | None:
                response = await client.get(f"/v1/webhooks/{subscription}/deliveries", headers=auth(x))
                found = response.json()["deliveries"]
                return found if found and found[0]["status"] == "delivered" else None

            [delivery] = await eventually(delivered, what="the delivery after two failures")
            assert [a["status_code"] for a in delivery["log"]] == [500, 503, 200]
            assert delivery["event_id"] == str(issued.event_id) and delivery["attempts"] == 3
            assert len(receiver.calls) == 3
            headers, body, _ = receiver.calls[-1]
            assert secret.startswith("whsec_")
            assert standard_webhooks_verify(secret, headers, body)
            assert not standard_webhooks_verify("whsec_" + base64.b64encode(b"another key").decode(), headers, body)
            assert not standard_webhooks_verify(secret, headers, body.replace(b"}", b" }", 1))
            assert json.loads(body)["certificate"]["organisation_id"] == member
            assert headers["webhook-id"] == str(issued.event_id)  # the same on every retry: receivers dedupe on it
            assert {h["webhook-id"] for h, _, _ in receiver.calls} == {str(issued.event_id)}

            replay = await client.post(f"/v1/webhooks/{subscription}/replay", json={"since": before.isoformat()},
                                       headers=auth(x))
            assert replay.status_code == 202 and replay.json()["queued"] == 1
            await eventually(lambda: _calls(receiver, 4), what="the replayed delivery")
            assert json.loads(receiver.calls[3][1])["event_id"] == str(issued.event_id)
            assert (await client.post(f"/v1/webhooks/{subscription}/replay", json={"since": before.isoformat()},
                                      headers=auth(y))).status_code == 404
            assert (await client.delete(f"/v1/webhooks/{subscription}", headers=auth(ADMIN))).status_code == 200
    finally:
        await receiver.stop()


async def _calls(receiver: Receiver, count: int) -> bool:
    return len(receiver.calls) >= count


class Listener:
    """A loopback port that counts the connections made to it (what an internal service would see)."""

    def __init__(self, answer: bytes | None = None) -> None:
        self.connections = 0
        self.answer = answer
        self.server: asyncio.AbstractServer | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        if self.answer is None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(5)  # silent
        else:
            if self.answer.startswith(b"HTTP/"):  # an HTTP server reads the request first
                head = await reader.readuntil(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                await reader.readexactly(length)
            writer.write(self.answer)
            await writer.drain()
        writer.close()

    async def stop(self) -> None:
        if self.server:
            self.server.close()


async def _subscribe_directly(app: Any, url: str, organisation_id: str) -> str:
    """A subscription as it may sit in the database (made when its name still pointed elsewhere)."""
    from services.gateway.adapters import store
    from services.gateway.domain.webhooks import new_secret
    from services.gateway.handlers import new_delivery

    db = app.state.gateway.db
    sub_id = unique("sub")
    await db[store.SUBSCRIPTIONS].insert_one({"_id": sub_id, "organisation_id": organisation_id, "url": url,
                                              "organisation_ids": [], "changes": [], "secret": new_secret(),
                                              "active": True, "created_at": datetime.now(UTC)})
    payload = json.loads(certificate_changed(unique("cert"), unique("ASI-COC"), organisation_id, unique("site"))
                         .model_dump_json())
    await db[store.DELIVERIES].insert_one(new_delivery(sub_id, payload, datetime.now(UTC) - timedelta(seconds=1)))
    return sub_id


async def _attempted(app: Any, sub_ids: list[str]) -> dict[str, dict[str, Any]] | None:
    from services.gateway.adapters import store

    found = {d["subscription_id"]: d async for d in app.state.gateway.db[store.DELIVERIES].find(
        {"subscription_id": {"$in": sub_ids}})}
    return found if len(found) == len(sub_ids) and all(d["attempts"] >= 1 for d in found.values()) else None


async def test_no_delivery_reaches_a_local_address_in_any_textual_form_or_through_a_name(stack):
    listener = Listener(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
    port = await listener.start()

    async def resolver(host: str, port_: int) -> list[str]:  # a public-looking name that points at loopback
        from services.gateway.adapters.dispatcher import resolve

        return ["127.0.0.1"] if host == "hooks.attacker.example" else await resolve(host, port_)

    settings = gateway_settings(stack, webhook_allow_private_targets=False)
    try:
        async with gateway_client(settings, webhook_resolver=resolver) as (app, client):
            body = await new_key(client, unique("cb"), Role.CERTIFICATION_BODY)
            forms = ["2130706433", "0x7f000001", "127.1", "0", "0177.0.0.1", "0xa9fea9fe", "[::ffff:127.0.0.1]",
                     "localhost", "hooks.attacker.example"]
            for host in forms[:-1]:
                refused = await client.post("/v1/webhooks", json={"url": f"https://{host}:{port}/"}, headers=auth(body))
                assert refused.status_code == 422 and refused.json()["error"]["code"] == "invalid_webhook_url", host
            subs = [await _subscribe_directly(app, f"https://{host}:{port}/hook", unique("org")) for host in forms]
            found = await eventually(lambda: _attempted(app, subs), what="an attempt at every delivery")
            assert listener.connections == 0
            for sub_id, host in zip(subs, forms, strict=True):
                assert found[sub_id]["last_error"] == "the target address is not allowed (loopback, private, " \
                                                      "link-local or reserved)", host
            assert not app.state.dispatcher._task.done()  # no address ends the dispatcher's rounds
    finally:
        await listener.stop()


async def test_delivery_follows_no_redirect_and_failures_do_not_tell_what_listens_on_a_port(stack):
    target = Receiver([])
    target_url = await target.start()
    redirecting = Listener(f"HTTP/1.1 307 X\r\nlocation: {target_url}\r\ncontent-length: 0\r\n\r\n".encode())
    plain = Listener(b"SSH-2.0-OpenSSH_9.6\r\n")
    silent = Listener(None)
    ports = [await listener.start() for listener in (redirecting, plain, silent)]
    closed = Listener()
    closed_port = await closed.start()
    await closed.stop()
    await asyncio.sleep(0.05)
    settings = gateway_settings(stack, webhook_timeout_s=0.5, webhook_max_attempts=1)
    try:
        async with gateway_client(settings) as (app, _):
            org = unique("org")
            hop = await _subscribe_directly(app, f"http://127.0.0.1:{ports[0]}/hook", org)
            failing = [await _subscribe_directly(app, f"https://127.0.0.1:{p}/hook", org)
                       for p in (ports[1], ports[2], closed_port)]
            found = await eventually(lambda: _attempted(app, [hop, *failing]), what="every delivery tried")
            assert found[hop]["last_status_code"] == 307 and found[hop]["status"] == "failed"
            assert target.calls == []
            errors = {(found[s]["last_error"], found[s]["log"][-1]["duration_ms"]) for s in failing}
            assert len(errors) == 1 and None in next(iter(errors)), errors
    finally:
        for listener in (redirecting, plain, silent):
            await listener.stop()
        await target.stop()


async def test_a_replay_does_not_queue_again_what_still_waits_for_delivery(stack, sender):
    receiver = Receiver([503] * 10)
    url = await receiver.start()
    try:
        async with gateway_client(gateway_settings(stack, webhook_backoff_base_s=600)) as (_, client):
            body, member = unique("cb"), unique("member")
            token = await new_key(client, body, Role.CERTIFICATION_BODY)
            created = await client.post("/v1/webhooks", json={"url": url, "organisation_ids": [member]}, headers=auth(token))
            subscription = created.json()["subscription_id"]
            before = datetime.now(UTC) - timedelta(seconds=1)
            await sender.send(certificate_changed(unique("cert"), unique("ASI-COC"), member, unique("site")))

            async def failed_once() -> bool:
                found = (await client.get(f"/v1/webhooks/{subscription}/deliveries", headers=auth(token))).json()
                return bool(found["deliveries"]) and found["deliveries"][0]["attempts"] == 1

            await eventually(failed_once, what="a first, failed attempt")
            for _ in range(2):
                replay = await client.post(f"/v1/webhooks/{subscription}/replay", json={"since": before.isoformat()},
                                           headers=auth(token))
                assert replay.status_code == 202 and replay.json()["queued"] == 0
            listed = (await client.get(f"/v1/webhooks/{subscription}/deliveries", headers=auth(token))).json()
            assert len(listed["deliveries"]) == 1
    finally:
        await receiver.stop()
