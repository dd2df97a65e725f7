"""No secret in any log line at any level: a gateway process runs at DEBUG with the console log that
`make run` shows, is called with every kind of key (good, junk, revoked, bootstrap) on its error paths
(nested bodies, bad JSON, forged JWS), and its whole output is searched for every key it was given."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests

from tests.support import unique

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _secrets_of(token: str) -> list[str]:
    """The token and the parts of it that would give it away."""
    # asi_<16 hex>_<43 base64url characters>: the secret may itself hold "_", so split after the key id
    secret = token.split("_", 2)[2] if token.startswith("asi_") else token
    return [token, secret, secret[:16], secret[-16:]]


def test_no_key_or_secret_appears_in_the_logs_of_a_run(stack, tmp_path):
    port, admin = _free_port(), "asi-admin-" + uuid.uuid4().hex + uuid.uuid4().hex
    suffix = uuid.uuid4().hex[:8]
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": stack.kafka_bootstrap, "MONGODB_URI": stack.mongodb_uri,
           "GATEWAY_DATABASE": f"test_{suffix}", "GATEWAY_CONSUMER_GROUP": f"test-{suffix}",
           "GATEWAY_HTTP_PORT": str(port), "GATEWAY_BOOTSTRAP_ADMIN_KEY": admin, "GATEWAY_LOG_LEVEL": "DEBUG",
           "GATEWAY_LOG_FORMAT": "console", "GATEWAY_WEBHOOK_ALLOW_PRIVATE_TARGETS": "true"}
    log_path = tmp_path / "gateway.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen([sys.executable, "-m", "services.gateway"], cwd=ROOT, env=env,
                                   stdout=log_file, stderr=subprocess.STDOUT)
    g = f"http://127.0.0.1:{port}"
    used = [admin]
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{g}/health", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, log_path.read_text()[-3000:]
            time.sleep(0.2)
        admin_h = {"Authorization": f"Bearer {admin}"}
        producer = requests.post(f"{g}/v1/keys", json={"organisation_id": unique("p"), "role": "producer"},
                                 headers=admin_h, timeout=10).json()["token"]
        body = requests.post(f"{g}/v1/keys", json={"organisation_id": unique("cb"), "role": "certification_body"},
                             headers=admin_h, timeout=10).json()["token"]
        revoked = requests.post(f"{g}/v1/keys", json={"organisation_id": unique("p"), "role": "producer"},
                                headers=admin_h, timeout=10).json()
        requests.delete(f"{g}/v1/keys/{revoked['key_id']}", headers=admin_h, timeout=10)
        junk = "asi_" + uuid.uuid4().hex[:16] + "_" + base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
        used += [producer, body, revoked["token"], junk]
        webhook = requests.post(f"{g}/v1/webhooks", json={"url": "http://127.0.0.1:9/hook"},
                                headers={"Authorization": f"Bearer {body}"}, timeout=10).json()
        used.append(webhook["secret"])
        nested = b"[" * 50_000 + b"]" * 50_000
        deep_jws = base64.urlsafe_b64encode(b'{"a":' * 3000 + b"1" + b"}" * 3000).rstrip(b"=").decode()
        for token in used[:5]:
            for headers in ({"Authorization": f"Bearer {token}"}, {"X-API-Key": token}):
                requests.get(f"{g}/v1/me", headers=headers, timeout=10)
                for path, content in (("/v1/plant-events/epcis", nested), ("/v1/plant-events", b"{not json"),
                                      ("/v1/plant-events/batch", b'{"events": [{"type": "x", "quantity": 1.5}]}')):
                    requests.post(f"{g}{path}", data=content, timeout=10,
                                  headers={**headers, "content-type": "application/json"})
                requests.post(f"{g}/verify", data={"document": f"{deep_jws}.{deep_jws}.c2ln"}, headers=headers, timeout=10)
                requests.get(f"{g}/v1/claims/", headers=headers, timeout=10, allow_redirects=False)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
    text = log_path.read_text(errors="replace")
    assert "gateway_started" in text and "DEBUG" in text.upper(), text[-2000:]
    leaks = [s for token in used for s in _secrets_of(token) if s in text]
    assert not leaks, f"{len(leaks)} secrets found in the log, e.g. around: " + text[text.find(leaks[0]) - 200:][:300]
