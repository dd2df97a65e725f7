"""A tiny HTTP endpoint: GET /health (process alive), GET /ready (broker and database answer) and
GET /metrics (Prometheus text format)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable


class HealthServer:
    def __init__(self, port: int, ready: Callable[[], Awaitable[dict[str, object]]],
                 metrics: Callable[[], Awaitable[tuple[bytes, str]]] | None = None) -> None:
        self.port = port
        self._ready = ready
        self._metrics = metrics
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def stop(self) -> None:
        if self._server:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = (await asyncio.wait_for(reader.readline(), 5)).decode(errors="replace")
            path = request.split(" ")[1] if " " in request else "/"
            content_type = "application/json"
            if path.startswith("/metrics") and self._metrics is not None:
                payload, content_type = await self._metrics()
                status = 200
            else:
                if path.startswith("/ready"):
                    body = await self._ready()
                    status = 200 if body.get("ready") else 503
                elif path.startswith("/health"):
                    body, status = {"alive": True}, 200
                else:
                    body, status = {"error": "not_found"}, 404
                payload = json.dumps(body, default=str).encode()
            writer.write(
                f"HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {len(payload)}\r\n"
                f"Connection: close\r\n\r\n".encode() + payload
            )
            await writer.drain()
        except Exception:  # noqa: BLE001 - a bad probe must never hurt the service
            pass
        finally:
            writer.close()
