"""Helpers to run the gateway in tests: in-process over ASGI, or served on a real port."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import httpx
import uvicorn
from fastapi import FastAPI

from services.gateway.app import create_app
from services.gateway.config import Settings

T = TypeVar("T")


@asynccontextmanager
async def gateway_client(
    settings: Settings, **kwargs: Any
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The app with its lifespan running (runtime, consumers, webhook dispatcher) and a client to it."""
    app = create_app(settings, **kwargs)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
            yield app, client


async def eventually(
    probe: Callable[[], Awaitable[T | None]], *, timeout: float = 60.0, what: str = ""
) -> T:
    """Poll a read model until `probe` returns something truthy (read models fill asynchronously)."""
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or probe}")
        await asyncio.sleep(0.05)


class ServedGateway:
    """The gateway on a real port in a thread of its own (for browsers and schema fuzzers)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.server: uvicorn.Server | None = None
        self.thread: threading.Thread | None = None
        self.error: BaseException | None = None
        self.app: FastAPI | None = None

    def _run(self) -> None:
        try:
            self.app = create_app(self.settings)
            config = uvicorn.Config(
                self.app,
                host="127.0.0.1",
                port=0,
                lifespan="on",
                log_level="warning",
                access_log=False,
            )
            self.server = uvicorn.Server(config)
            asyncio.run(self.server.serve())
        except BaseException as exc:
            self.error = exc

    def __enter__(self) -> ServedGateway:
        self.thread = threading.Thread(target=self._run, name="gateway-server", daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 60
        while not (self.server and self.server.started):
            if self.error or not self.thread.is_alive():
                raise RuntimeError(f"the gateway did not start: {self.error!r}")
            if time.monotonic() > deadline:
                raise RuntimeError("the gateway did not start within 60 s")
            time.sleep(0.05)
        return self

    @property
    def url(self) -> str:
        assert self.server is not None
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *exc: object) -> None:
        if self.server:
            self.server.should_exit = True
        if self.thread:
            self.thread.join(30)


def certificate_changed(
    certificate_id: str,
    number: str,
    organisation_id: str,
    site_id: str,
    *,
    status: str = "active",
    revision: int = 1,
    change: str = "issued",
    signed: str | None = None,
    occurred_at: Any = None,
) -> Any:
    """A `certificate_changed` event as the certificates service would publish it (for feeding read models)."""
    from datetime import UTC, datetime

    from contracts.certificates import CertificateChanged
    from contracts.common import Actor, Role

    when = occurred_at or datetime.now(UTC)
    return CertificateChanged.create(
        actor=Actor(organisation_id="certificates", role=Role.SERVICE),
        occurred_at=when,
        change=change,
        signed_certificate=signed,
        certificate=certificate(
            certificate_id,
            number,
            organisation_id,
            site_id,
            status=status,
            revision=revision,
            updated_at=when,
        ),
    )


def certificate(
    certificate_id: str,
    number: str,
    organisation_id: str,
    site_id: str,
    *,
    status: str = "active",
    revision: int = 1,
    updated_at: Any = None,
    standard: str = "chain_of_custody",
) -> Any:
    from datetime import UTC, date, datetime

    from contracts.registry import Certificate, CertificateScope

    return Certificate(
        certificate_id=certificate_id,
        certificate_number=number,
        organisation_id=organisation_id,
        standard=standard,
        standard_version="V2-2022",
        status=status,
        provisional=False,
        scope=CertificateScope(level="facility", site_ids=[site_id]),
        certification_body_id="cb-1",
        audit_id="audit-1",
        issued_on=date(2026, 1, 10),
        valid_from=date(2026, 1, 10),
        valid_until=date(2029, 1, 9),
        revision=revision,
        updated_at=updated_at or datetime.now(UTC),
    )
