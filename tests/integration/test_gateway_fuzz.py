"""A property-based fuzz of the whole API from its own OpenAPI schema (schemathesis + hypothesis):
valid and invalid requests, with keys of every role, never get a 5xx nor a status code the schema does
not document, valid ones are never refused as invalid (400/422), errors are JSON with a code, and a
method a path does not serve answers 405 with an Allow header naming exactly the documented methods
(issue 23 item 7). The fuzzer's organisations are exempt from the rate limit (a test setting), so every
call tests the API instead of the limiter."""

from __future__ import annotations

import contextlib
import re
import time
from typing import Any

import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import positive_data_acceptance, status_code_conformance

from contracts.common import Role
from devstack.gateway_testing import ServedGateway
from tests.integration.test_gateway_api import ADMIN, gateway_settings
from tests.support import unique

pytestmark = [pytest.mark.integration, pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")]

POSITIVE_EXAMPLES = 8
NEGATIVE_EXAMPLES = 2
# Valid data (positive mode) must be accepted: 2xx, or 401/403/404/409 (who may, what exists), never 400/422.
CHECKS: dict[GenerationMode, tuple[Any, ...]] = {
    GenerationMode.POSITIVE: (not_a_server_error, status_code_conformance, positive_data_acceptance),
    GenerationMode.NEGATIVE: (not_a_server_error, status_code_conformance),
}


def _is_code(response: requests.Response, code: str) -> bool:
    try:
        return bool(response.json()["error"]["code"] == code)
    except (ValueError, KeyError, TypeError):
        return False


METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _undocumented_methods(url: str, session: requests.Session, openapi: dict[str, Any]) -> list[str]:
    """A method the document does not list for a path answers 405 with an `Allow` header naming exactly the
    methods it does list (schemathesis' unsupported-method and Allow-header checks, on every path)."""
    failures = []
    for path, operations in openapi["paths"].items():
        documented = {m.upper() for m in operations if m.upper() in METHODS}
        concrete = re.sub(r"\{[^}]+\}", "x", path)
        for method in (m for m in METHODS if m not in documented):
            response = session.request(method, f"{url}{concrete}", headers={"Authorization": f"Bearer {ADMIN}"},
                                       timeout=10)
            allowed = {m.strip() for m in response.headers.get("allow", "").split(",") if m.strip()} - {"HEAD", "OPTIONS"}
            if response.status_code != 405 or allowed != documented:
                failures.append(f"{method} {path} -> {response.status_code}, Allow {sorted(allowed)}; "
                                f"documented {sorted(documented)}")
    return failures


CROSS_FIELD_RULES = ("gs1_invalid", "invalid_period", "invalid_webhook_url")
"""Refusals of schema-valid data by rules JSON Schema cannot say: a GS1 check digit; a period whose end
is before its start; a webhook address that is local, private or not an address at all once parsed
(decided on the address, `domain/webhooks.py`, not on the URL's text)."""


@pytest.fixture(scope="module")
def own_stack() -> Any:
    """The fuzzer's own broker and database (tansu and SecantusDB, whatever the session's stack): the
    valid commands it sends with the secretariat's key (claim type statuses, rule set assignments, key
    rotations, suspensions ...) would otherwise reach the shared topics, and every service a later test
    starts reads those from the beginning: a claim type switched to "enabled" by the fuzzer made a later
    test's recycled-content claim lose its pilot label."""
    import asyncio

    from contracts.topics import ALL_TOPIC_NAMES
    from devstack.embedded import EmbeddedStack, ensure_topics

    with EmbeddedStack(kafka="tansu") as stack:
        asyncio.run(ensure_topics(stack.endpoints.kafka_bootstrap, ALL_TOPIC_NAMES, partitions=4))
        yield stack.endpoints


KEY_FOR_TAG = {"producers": "producer", "brand owners": "brand", "certification bodies": "body", "webhooks": "body"}


def test_no_request_generated_from_the_schema_gets_a_server_error(own_stack):
    stack = own_stack
    fuzzers = {name: unique(name) for name in ("producer", "brand", "body")}
    # Exempt from the rate limit; /ready judged on the database alone (0): poison that earlier tests left
    # on the shared topics would make it answer 503, as it should in production.
    config = gateway_settings(stack, rate_limit_exempt_organisations=[*fuzzers.values(), "asi"],
                              not_ready_after_dead_letter_s=0)
    with ServedGateway(config) as gateway:
        keys = {"admin": ADMIN}
        for name, role in (("producer", Role.PRODUCER), ("brand", Role.BRAND_OWNER), ("body", Role.CERTIFICATION_BODY)):
            created = requests.post(f"{gateway.url}/v1/keys", json={"organisation_id": fuzzers[name], "role": role.value},
                                    headers={"Authorization": f"Bearer {ADMIN}"}, timeout=10)
            keys[name] = created.json()["token"]
        schema = schemathesis.openapi.from_url(f"{gateway.url}/openapi.json")
        failures: list[str] = []
        calls = 0
        timings: list[tuple[float, str]] = []
        statuses: list[int] = []
        started = time.monotonic()
        session = requests.Session()
        for result in schema.get_all_operations():
            operation = result.ok()
            tags = operation.definition.raw.get("tags", [])
            token = keys[next((KEY_FOR_TAG[t] for t in tags if t in KEY_FOR_TAG), "admin")]
            for mode, examples in ((GenerationMode.POSITIVE, POSITIVE_EXAMPLES), (GenerationMode.NEGATIVE, NEGATIVE_EXAMPLES)):
                checks = CHECKS[mode]
                try:
                    strategy = operation.as_strategy(generation_mode=mode)
                except Exception:  # noqa: BLE001 - some operations have nothing to negate
                    continue

                @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
                          suppress_health_check=list(HealthCheck), phases=[hypothesis.Phase.generate])
                @hypothesis.given(case=strategy)
                def probe(case: schemathesis.Case) -> None:
                    nonlocal calls
                    calls += 1
                    response = case.call(session=session, headers={"Authorization": f"Bearer {token}"}, timeout=15)
                    label = f"{case.method} {case.formatted_path} -> {response.status_code}"
                    statuses.append(response.status_code)
                    try:
                        if response.status_code == 422 and any(_is_code(response, c) for c in CROSS_FIELD_RULES):
                            # Rules JSON Schema cannot say (CROSS_FIELD_RULES): a schema-valid request may fail
                            # them, with their own code.
                            case.validate_response(response, checks=list(CHECKS[GenerationMode.NEGATIVE]))
                        else:
                            case.validate_response(response, checks=list(checks))  # noqa: B023 - called at once
                    except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - schemathesis reports what it found (a FailureGroup is a BaseException)
                        first_line = next((ln.strip() for ln in str(exc).splitlines() if ln.strip().startswith("- ")), "")
                        failures.append(f"{label}: {first_line or str(exc)[:200]}; answer {response.text[:300]}; "
                                        f"sent {str(case.body)[:300]} query {case.query}")
                    if response.status_code >= 400 and "json" in response.headers.get("content-type", ""):
                        body = response.json()
                        if not (isinstance(body, dict) and "code" in body.get("error", {})):
                            failures.append(f"{label}: error without a code: {response.text[:300]}")

                t0 = time.monotonic()
                try:
                    probe()
                except hypothesis.errors.Unsatisfiable:
                    pass
                timings.append((time.monotonic() - t0, f"{operation.method} {operation.path} {mode.value}"))
        elapsed = time.monotonic() - started
        failures += _undocumented_methods(gateway.url, session, requests.get(f"{gateway.url}/openapi.json", timeout=10).json())
    assert calls > 150, f"only {calls} calls were made"
    assert statuses.count(429) == 0, "the fuzzer's calls met the rate limit: they test the limiter, not the API"
    assert not failures, "\n".join(failures[:40])
    slowest = ", ".join(f"{what} {t:.1f}s" for t, what in sorted(timings, reverse=True)[:3])
    print(f"schemathesis: {calls} calls in {elapsed:.1f} s, no 5xx (slowest: {slowest})")
    # What the gateway accepted, the services take: every service reads the fuzzer's messages from the
    # start and none dead-letters one (a footprint with a NUL byte in a key once did, in claims and here).
    letters = _dead_letters_after_the_services_read(stack)
    assert not letters, "\n".join(f"{topic}: {letter}" for topic, letter in letters[:20])


def _dead_letters_after_the_services_read(stack: Any) -> list[tuple[str, str]]:
    """Run the four services on the fuzzer's broker until they have been quiet for a few seconds, then
    read every dead-letter topic."""
    import asyncio
    import threading

    from aiokafka import AIOKafkaConsumer, TopicPartition

    from contracts.topics import ALL_TOPIC_NAMES
    from services.accounting.app import build_runtime as accounting
    from services.accounting.config import Settings as AccountingSettings
    from services.certificates.app import build_runtime as certificates
    from services.certificates.config import Settings as CertificatesSettings
    from services.claims.app import build_runtime as claims
    from services.claims.config import Settings as ClaimsSettings
    from services.intake.app import build_runtime as intake
    from services.intake.config import Settings as IntakeSettings
    from tests.faults_support import uncommitted_records
    from tests.support import consumed_topics, running, service_settings

    found: list[tuple[str, str]] = []

    async def all_read(settings: list[Any]) -> bool:
        """Every service's group has committed past every record of every topic it reads."""
        for one in settings:
            for topic in consumed_topics(one.service_name):
                left = await uncommitted_records(stack.kafka_bootstrap, one.group_id, topic)
                if any(n != 0 for n in left.values()):
                    return False
        return True

    async def read() -> None:
        services = [(intake, IntakeSettings), (accounting, AccountingSettings), (claims, ClaimsSettings),
                    (certificates, CertificatesSettings)]
        settings = [service_settings(kind, stack) for _, kind in services]
        async with contextlib.AsyncExitStack() as started:
            for (build, _), one in zip(services, settings, strict=True):
                await started.enter_async_context(running(build, one))
            # Twice in a row: what one service emits after reading (intake's movements) is read by the next.
            deadline, in_a_row = time.monotonic() + 120, 0
            while in_a_row < 2:
                assert time.monotonic() < deadline, "the services never read everything the fuzzer sent"
                in_a_row = in_a_row + 1 if await all_read(settings) else 0
                await asyncio.sleep(1)
        consumer = AIOKafkaConsumer(bootstrap_servers=stack.kafka_bootstrap, enable_auto_commit=False)
        await consumer.start()
        try:
            for topic in (t for t in ALL_TOPIC_NAMES if t.endswith(".dlq")):
                tps = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or range(4)]
                consumer.assign(tps)
                await consumer.seek_to_beginning(*tps)
                end = await consumer.end_offsets(tps)
                while [tp for tp in tps if await consumer.position(tp) < end[tp]]:
                    for records in (await consumer.getmany(timeout_ms=500)).values():
                        found.extend((topic, record.value.decode(errors="replace")[:400]) for record in records)
        finally:
            await consumer.stop()

    errors: list[BaseException] = []
    thread = threading.Thread(target=lambda: _capture(errors, lambda: asyncio.run(read())))
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return found


def _capture(errors: list[BaseException], run: Any) -> None:
    try:
        run()
    except BaseException as exc:  # noqa: BLE001 - handed to the test's thread
        errors.append(exc)
