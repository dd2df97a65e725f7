"""Webhooks: certificate events POSTed with an HMAC signature, retried with backoff, logged, replayable."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from contracts.common import Role
from services.gateway.domain.webhooks import SIGNATURE_HEADER, verify_signature
from services.gateway.testing import certificate_changed, eventually, gateway_client
from tests.integration.test_gateway_api import ADMIN, auth, gateway_settings, new_key
from tests.support import unique

pytestmark = pytest.mark.integration


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
            assert verify_signature(secret, headers[SIGNATURE_HEADER.lower()], body)
            assert not verify_signature("another secret", headers[SIGNATURE_HEADER.lower()], body)
            assert json.loads(body)["certificate"]["organisation_id"] == member
            assert headers["x-asi-event-id"] == str(issued.event_id)

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
