"""The producers outside Python (examples/java-producer with kafka-clients and Maven,
examples/node-producer with kafkajs and npm) against intake on the real broker: each sends a plant
event built per the published JSON Schema and reads the platform's answer for its event id, a
movement for a site of its own and a rejection with its reasons for a site of another member."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from contracts.certificates import MemberRegistered, SiteRegistered
from contracts.common import Activity, Actor, ProcessStep, Role
from contracts.intake import IntakeReason
from contracts.movements import MaterialReceivedRecorded
from contracts.registry import ConversionFactor, Member, MembershipClass, Site
from services.intake.app import build_runtime
from services.intake.config import Settings
from tests.support import NOW, running, service_settings, unique

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
CERTIFICATES = Actor(organisation_id="certificates", role=Role.SERVICE)
BUILD_TIMEOUT_S = 600
RUN_TIMEOUT_S = 180


def _tool(name: str) -> str:
    path = shutil.which(name)
    assert path, f"{name} is needed to build the example producers (Java 17 + Maven, Node.js 18+ + npm)"
    return path


@cache
def java_producer() -> tuple[str, ...]:
    folder = EXAMPLES / "java-producer"
    subprocess.run([_tool("mvn"), "-q", "-B", "package"], cwd=folder, check=True, timeout=BUILD_TIMEOUT_S,
                   stdin=subprocess.DEVNULL)
    return (_tool("java"), "-jar", str(folder / "target" / "asi-java-producer.jar"))


@cache
def node_producer() -> tuple[str, ...]:
    folder = EXAMPLES / "node-producer"
    subprocess.run([_tool("npm"), "ci", "--ignore-scripts", "--no-audit", "--no-fund"], cwd=folder, check=True,
                   timeout=BUILD_TIMEOUT_S, stdin=subprocess.DEVNULL)
    return (_tool("node"), str(folder / "producer.mjs"))


async def answer_of(command: tuple[str, ...], *args: str) -> tuple[dict, str]:
    """Run the example (without blocking the loop the service runs on); its answer and its output."""
    process = await asyncio.create_subprocess_exec(*command, *args, stdout=asyncio.subprocess.PIPE,
                                                   stderr=asyncio.subprocess.STDOUT, stdin=asyncio.subprocess.DEVNULL)
    try:
        output, _ = await asyncio.wait_for(process.communicate(), RUN_TIMEOUT_S)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    text = output.decode()
    assert process.returncode == 0, text
    [line] = [line for line in text.splitlines() if line.startswith("ANSWER ")]
    return json.loads(line.removeprefix("ANSWER ")), text


@pytest.mark.timeout(BUILD_TIMEOUT_S + 3 * RUN_TIMEOUT_S)  # the first build downloads from Maven Central or npm
@pytest.mark.parametrize("example", [java_producer, node_producer], ids=["java", "node"])
async def test_an_example_producer_gets_a_movement_for_its_site_and_a_rejection_with_reasons_otherwise(
        stack, recorder, sender, example):
    command = await asyncio.to_thread(example)
    mill, site = unique("org-example-mill"), unique("site-example-mill")
    async with running(build_runtime, service_settings(Settings, stack)):
        await sender.send(MemberRegistered.create(actor=CERTIFICATES, occurred_at=NOW, member=Member(
            organisation_id=mill, name=mill, membership_class=MembershipClass.PRODUCTION_AND_TRANSFORMATION,
            joined_on=date(2024, 1, 1))))
        await sender.send(SiteRegistered.create(actor=CERTIFICATES, occurred_at=NOW, site=Site(
            site_id=site, organisation_id=mill, name=site, country="CH", activities=[Activity.ROLLING],
            conversion_factors=[ConversionFactor(process_step=ProcessStep.ROLLING, factor=Decimal("0.85"))])))
        common = ("--bootstrap", stack.kafka_bootstrap, "--site", site, "--quantity", "22.5", "--unit", "t")

        accepted, output = await answer_of(command, "--organisation", mill, *common)
        assert accepted["outcome"] == "accepted", output
        movement = accepted["movement"]
        assert movement["movement_id"] == accepted["event_id"] and movement["site_id"] == site
        assert Decimal(movement["quantity_kg"]) == Decimal("22500") and movement["classification"] == "non_coc_material"
        [recorded] = await recorder.wait_for(MaterialReceivedRecorded,
                                             lambda m: str(m.movement_id) == accepted["event_id"])
        assert recorded.organisation_id == mill

        rejected, output = await answer_of(command, "--organisation", unique("org-someone-else"), *common)
        assert rejected["outcome"] == "rejected", output
        assert [r["code"] for r in rejected["reasons"]] == [IntakeReason.SITE_NOT_OWNED], output
        assert "site_not_owned_by_actor" in output  # the reasons are shown to the person running it

    schema = json.loads((ROOT / "contracts" / "schemas" / "plant.events.v1.json").read_text())
    ours = (accepted["event_id"], rejected["event_id"])
    # the topic is shared with the other tests, some of which send poison (not JSON) on purpose
    sent = [r for r in recorder.records if r.topic == "plant.events.v1" and _event_id(r.raw) in ours]
    assert len(sent) == 2 and all(r.key == site for r in sent)
    for record in sent:
        assert list(Draft202012Validator(schema).iter_errors(json.loads(record.raw))) == []


def _event_id(raw: bytes) -> object:
    try:
        return json.loads(raw).get("event_id")
    except (ValueError, AttributeError):
        return None
