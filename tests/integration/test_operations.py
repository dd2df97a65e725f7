"""Operations over the real broker and database: a running service's `/metrics`, and one plant event's
trace followed from its producer through intake to accounting by the `traceparent` headers on the
topics."""

from __future__ import annotations

import asyncio
import re
import urllib.request
import uuid
from contextlib import AsyncExitStack
from datetime import date
from decimal import Decimal

import pytest

from contracts.common import MassUnit, MaterialCategory, ProcessStep, Role
from contracts.ledger import LedgerEntryPosted
from contracts.plant import MaterialReceived, MaterialTransformed, PlantLine
from contracts.topics import MATERIAL_MOVEMENTS, PLANT_EVENTS, topic_for
from services.accounting.app import build_runtime as build_accounting
from services.accounting.config import Settings as AccountingSettings
from services.intake.app import build_runtime as build_intake
from services.intake.config import Settings as IntakeSettings
from tests.faults_support import Chain, free_port
from tests.support import NOW, running, service_settings, unique

pytestmark = pytest.mark.integration

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
TRACEPARENT = f"00-{TRACE_ID}-b7ad6b7169203331-01"


def mined(chain: Chain, quantity: str = "100") -> MaterialTransformed:
    mine = chain.mines[0]
    lines = dict(material_category=MaterialCategory.BAUXITE, quantity=Decimal(quantity), unit=MassUnit.TONNE)
    return MaterialTransformed.create(
        actor=mine.actor, occurred_at=NOW, site_id=mine.site, transformed_on=date(2026, 5, 20),
        process_step=ProcessStep.MINING, inputs=[PlantLine(product_form="ore", **lines)],
        outputs=[PlantLine(product_form="crushed", **lines)])


async def registered(chain: Chain, sender, *runtimes) -> None:  # noqa: ANN001
    """The chain's members, sites and certificates, projected by every service given."""
    for message in chain.registry_messages():
        await sender.send(message)
    certificate_id = chain.certificate(chain.mines[0]).certificate_id
    deadline = asyncio.get_running_loop().time() + 60
    for runtime in runtimes:
        while await runtime.db["certificates"].find_one({"_id": certificate_id}) is None:
            assert asyncio.get_running_loop().time() < deadline, "the certificate was never projected"
            await asyncio.sleep(0.05)


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        assert response.headers["Content-Type"].startswith("text/plain")
        return response.read().decode()


def values(text: str, name: str, **labels: str) -> list[float]:
    """The samples `name` whose labels include `labels`, from Prometheus text."""
    found = []
    for line in text.splitlines():
        match = re.fullmatch(r"(\w+)\{(.*)\} (\S+)", line)
        if match and match[1] == name:
            have = dict(re.findall(r'(\w+)="([^"]*)"', match[2]))
            if all(have.get(k) == v for k, v in labels.items()):
                found.append(float(match[3]))
    return found


def value(text: str, name: str, **labels: str) -> float:
    return sum(values(text, name, **labels))


async def test_a_running_service_shows_its_consumer_lag_and_batches_on_metrics(stack, recorder, sender):
    port = free_port()
    settings = service_settings(IntakeSettings, stack, clock_start=NOW, health_port=port)
    chain = Chain(mines=1, refineries=0)
    async with running(build_intake, settings) as runtime:
        await registered(chain, sender, runtime)
        event = mined(chain)
        await sender.send(event)
        await recorder.wait_for(where=lambda m: getattr(m, "causation_id", None) == event.event_id,
                                topic=MATERIAL_MOVEMENTS.name, timeout=60)
        text = await asyncio.to_thread(scrape, port)

    lags = values(text, "asi_consumer_lag", service="intake", topic=PLANT_EVENTS.name)
    assert lags and all(lag >= 0 for lag in lags), text
    assert value(text, "asi_batch_size_count", service="intake", topic=PLANT_EVENTS.name) >= 1
    assert value(text, "asi_batch_seconds_count", service="intake", topic=PLANT_EVENTS.name) >= 1
    assert value(text, "asi_messages_total", service="intake", topic=PLANT_EVENTS.name, outcome="handled") >= 1
    assert value(text, "asi_decisions_total", service="intake", topic=MATERIAL_MOVEMENTS.name,
                  type="material_transformed_recorded") >= 1


async def test_a_plant_events_trace_arrives_on_intakes_movement_and_on_accountings_ledger_entry(stack, recorder, sender):
    chain = Chain(mines=1, refineries=0)
    mine = chain.mines[0]
    async with AsyncExitStack() as services:
        intake = await services.enter_async_context(
            running(build_intake, service_settings(IntakeSettings, stack, clock_start=NOW)))
        accounting = await services.enter_async_context(
            running(build_accounting, service_settings(AccountingSettings, stack, clock_start=NOW)))
        await registered(chain, sender, intake, accounting)
        event = mined(chain)
        topic = topic_for(event)
        await sender.producer.send_and_wait(topic.name, topic.encode(event), key=topic.key_of(event).encode(),
                                            headers=[("traceparent", TRACEPARENT.encode())])
        [movement] = await recorder.wait_for(where=lambda m: getattr(m, "causation_id", None) == event.event_id,
                                             topic=MATERIAL_MOVEMENTS.name, timeout=60)
        [entry] = await recorder.wait_for(LedgerEntryPosted, lambda m: m.entry.account_id == mine.account, timeout=60)

    def trace_of(message) -> str:  # noqa: ANN001
        [found] = [r for r in recorder.records if r.message is message]
        return found.headers["traceparent"].decode().split("-")[1]

    assert trace_of(movement) == TRACE_ID
    assert trace_of(entry) == TRACE_ID


async def test_the_gateway_starts_or_continues_the_trace_of_what_it_publishes_and_counts_requests(
        stack, recorder, sender):
    from tests.integration.test_gateway_api import (
        ADMIN, auth, gateway_settings, member_registered, new_key, received, site_registered)
    from devstack.gateway_testing import eventually, gateway_client

    org, site = unique("org"), unique("site")
    async with gateway_client(gateway_settings(stack)) as (_, client):
        token = await new_key(client, org, Role.PRODUCER)
        await sender.send(member_registered(org, "Traced Remelt GmbH"))
        await sender.send(site_registered(site, org))

        async def site_known() -> bool:
            return bool((await client.get("/v1/sites", headers=auth(token))).json()["sites"])

        await eventually(site_known, what="the site in the gateway's registry")
        traced = await client.post("/v1/plant-events", json=received(site),
                                   headers={**auth(token), "traceparent": TRACEPARENT})
        fresh = await client.post("/v1/plant-events", json=received(site), headers=auth(token))
        assert traced.status_code == fresh.status_code == 202, (traced.text, fresh.text)
        metrics_text = (await client.get("/metrics", headers=auth(ADMIN))).text

    ids = [uuid.UUID(answer.json()["event_id"]) for answer in (traced, fresh)]
    published = await recorder.wait_for(MaterialReceived, lambda m: m.event_id in ids, count=2)
    headers = {r.message.event_id: r.headers for r in recorder.records if any(r.message is m for m in published)}
    continued = headers[ids[0]]["traceparent"].decode().split("-")
    started = headers[ids[1]]["traceparent"].decode().split("-")
    assert continued[1] == TRACE_ID and continued[2] != TRACEPARENT.split("-")[2]
    assert started[1] not in (TRACE_ID, "0" * 32) and len(started[1]) == 32
    assert value(metrics_text, "asi_http_requests_total", route="/v1/plant-events", method="POST", status="202") >= 2
    assert value(metrics_text, "asi_http_request_seconds_count", route="/v1/plant-events", method="POST",
                 status="202") >= 2
