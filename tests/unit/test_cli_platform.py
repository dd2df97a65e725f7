"""The command-line tools find the platform `make run` started (its run file), let the environment
override it, and say in one line when there is none or an input is unusable."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from libs import cli, runfile
from libs.runfile import NoPlatformRunning
from services.accounting import cli as accounting_cli
from services.accounting.config import Settings as AccountingSettings
from services.certificates import cli as certificates_cli
from services.claims import cli as claims_cli
from services.claims.config import Settings as ClaimsSettings


def record(pid: int | None = None) -> runfile.PlatformRecord:
    return runfile.PlatformRecord(kafka_bootstrap_servers="127.0.0.1:39092", mongodb_uri="mongodb://127.0.0.1:37017/",
                                  gateway_url="http://127.0.0.1:8080", secretariat_key="asi-admin-x",
                                  pid=os.getpid() if pid is None else pid, started_at="2026-12-02T13:00:00+00:00")


def ended_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


@pytest.fixture
def no_platform(tmp_path, monkeypatch):
    for name in ("KAFKA_BOOTSTRAP_SERVERS", "MONGODB_URI", "CLAIMS_MONGODB_URI", "ACCOUNTING_MONGODB_URI",
                 "CERTIFICATES_MONGODB_URI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ASI_DATA_DIR", str(tmp_path / "run"))
    return tmp_path / "run"


def test_cli_settings_read_the_run_file_and_the_environment_overrides_it(no_platform, monkeypatch):
    runfile.write(str(no_platform), record())
    settings = ClaimsSettings.for_cli()
    assert (settings.mongodb_uri, settings.kafka_bootstrap_servers) == ("mongodb://127.0.0.1:37017/", "127.0.0.1:39092")
    monkeypatch.setenv("MONGODB_URI", "mongodb://elsewhere/")
    assert ClaimsSettings.for_cli().mongodb_uri == "mongodb://elsewhere/"
    monkeypatch.setenv("CLAIMS_MONGODB_URI", "mongodb://claims-own/")
    assert ClaimsSettings.for_cli().mongodb_uri == "mongodb://claims-own/"
    monkeypatch.delenv("MONGODB_URI")
    monkeypatch.delenv("CLAIMS_MONGODB_URI")
    assert ClaimsSettings().mongodb_uri == "mongodb://127.0.0.1:27017/?directConnection=true", \
        "a service's own settings never read the run file: `make run` passes them explicitly"


def test_without_a_platform_the_settings_say_so(no_platform):
    with pytest.raises(NoPlatformRunning, match=r"no platform is running: start it with `make run`"):
        AccountingSettings.for_cli()


def test_a_run_file_whose_make_run_has_ended_is_no_platform(no_platform):
    runfile.write(str(no_platform), record(pid=ended_pid()))
    with pytest.raises(NoPlatformRunning, match="has ended"):
        ClaimsSettings.for_cli()


def test_the_environment_is_enough_even_beside_a_stale_run_file(no_platform, monkeypatch):
    runfile.write(str(no_platform), record(pid=ended_pid()))
    monkeypatch.setenv("MONGODB_URI", "mongodb://real-cluster/")
    assert ClaimsSettings.for_cli().mongodb_uri == "mongodb://real-cluster/"


def test_the_run_file_is_private_and_only_its_writer_removes_it(no_platform):
    path = runfile.write(str(no_platform), record())
    assert path.stat().st_mode & 0o777 == 0o600 and json.loads(path.read_text())["secretariat_key"] == "asi-admin-x"
    runfile.remove(str(no_platform), os.getpid() + 1)
    assert path.exists()
    runfile.remove(str(no_platform), os.getpid())
    assert not path.exists()


@pytest.mark.parametrize("main", [
    lambda: accounting_cli.main(["balance", "acct-1"]),
    lambda: claims_cli.main(["show", "claim-1"]),
    lambda: certificates_cli.main(["status-list"]),
])
def test_every_cli_says_in_one_line_that_no_platform_runs(no_platform, capsys, main):
    assert main() == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no platform is running" in err and "make run" in err


def test_a_closed_stdout_ends_a_tool_quietly(capfd):
    def writes_into_a_closed_pipe() -> int:
        raise BrokenPipeError(32, "Broken pipe")

    saved = os.dup(1)
    try:
        assert cli.run(writes_into_a_closed_pipe) == 0
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def _verify_document(path: str) -> int:
    return accounting_cli.main(["verify-document", path, "--public-key=AAAA"])


def _verify_certificate(path: str) -> int:
    return certificates_cli.main(["verify", "a.b.c", "--jwk", path])


@pytest.mark.parametrize(("tool", "content", "says"), [
    (_verify_document, None, "cannot read"),
    (_verify_document, "{not json", "is not JSON"),
    (_verify_document, '{"document": 3}', "is not a CoCDocumentIssued message"),
    (_verify_document, '{"document": {"document_id": "D-1"}, "signature": "x"}', "its document is not a CoC Document"),
    (_verify_document, b"\xff\xfe\x00", "is not a text file"),
    (_verify_certificate, None, "cannot read"),
    (_verify_certificate, "{not json", "is not JSON"),
    (_verify_certificate, '["a list"]', "is not a JWK"),
    (_verify_certificate, b"\xff\xfe\x00", "is not a text file"),
])
def test_a_bad_file_to_a_verifying_cli_gets_one_line(tmp_path, no_platform, capsys, tool, content, says):
    path = tmp_path / "input.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    assert tool(str(path)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and says in err and str(path) in err


def test_a_directory_as_key_file_gets_one_line(tmp_path, no_platform, capsys):
    assert certificates_cli.main(["verify", "a.b.c", "--jwk", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot read" in err
