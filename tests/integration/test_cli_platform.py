"""The command-line tools, as a person runs them, against a real database: they find it through the
run file `make run` writes, and a reader that stops early (`| head`) ends them quietly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from libs import runfile

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith(("KAFKA_BOOTSTRAP_SERVERS", "MONGODB_URI"))}
    env["ASI_DATA_DIR"] = str(data_dir)
    return env


def test_the_clis_find_the_platform_through_the_run_file_and_stop_quietly_for_head(stack, tmp_path):
    runfile.write(str(tmp_path), runfile.PlatformRecord(
        kafka_bootstrap_servers=stack.kafka_bootstrap, mongodb_uri=stack.mongodb_uri, gateway_url="http://127.0.0.1:1",
        secretariat_key="asi-admin-test", pid=os.getpid(), started_at="2026-12-02T13:00:00+00:00"))
    claims = subprocess.run([sys.executable, "-m", "services.claims.cli", "by-owner", "org-nobody"], cwd=ROOT,
                            env=_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert (claims.returncode, claims.stdout.strip(), claims.stderr) == (0, "[]", "")

    # `status-list | head`: the reader is gone before the tool writes (`true` exits at once)
    shell = f"{sys.executable} -m services.certificates.cli status-list --json | true"
    piped = subprocess.run(["bash", "-o", "pipefail", "-c", shell], cwd=ROOT, env=_env(tmp_path), capture_output=True,
                           text=True, timeout=60)
    assert (piped.returncode, piped.stderr) == (0, ""), piped.stderr


def test_a_database_that_does_not_answer_is_one_line(tmp_path):
    env = _env(tmp_path)
    env["MONGODB_URI"] = "mongodb://127.0.0.1:9/?directConnection=true&serverSelectionTimeoutMS=1000"
    result = subprocess.run([sys.executable, "-m", "services.accounting.cli", "balance", "acct-1"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "no platform is running" in result.stderr
