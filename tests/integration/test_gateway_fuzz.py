"""A property-based fuzz of the whole API from its own OpenAPI schema (schemathesis + hypothesis):
valid and invalid requests, with keys of every role, never get a 5xx nor a status code the schema does
not document, and errors are JSON with a code. The fuzzer's organisations are exempt from the rate
limit (a test setting), so every call tests the API instead of the limiter."""

from __future__ import annotations

import time

import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import status_code_conformance

from contracts.common import Role
from devstack.gateway_testing import ServedGateway
from tests.integration.test_gateway_api import ADMIN, gateway_settings
from tests.support import unique

pytestmark = [pytest.mark.integration, pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")]

POSITIVE_EXAMPLES = 4
NEGATIVE_EXAMPLES = 2
KEY_FOR_TAG = {"producers": "producer", "brand owners": "brand", "certification bodies": "body", "webhooks": "body"}


def test_no_request_generated_from_the_schema_gets_a_server_error(stack):
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
                        case.validate_response(response, checks=[not_a_server_error, status_code_conformance])
                    except Exception as exc:  # noqa: BLE001 - schemathesis reports what it found
                        failures.append(f"{label}: {str(exc)[:300]}")
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
    assert calls > 150, f"only {calls} calls were made"
    assert statuses.count(429) == 0, "the fuzzer's calls met the rate limit: they test the limiter, not the API"
    assert not failures, "\n".join(failures[:20])
    slowest = ", ".join(f"{what} {t:.1f}s" for t, what in sorted(timings, reverse=True)[:3])
    print(f"schemathesis: {calls} calls in {elapsed:.1f} s, no 5xx (slowest: {slowest})")
