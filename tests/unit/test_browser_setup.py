"""`make test` on a fresh machine: chromium installed when possible, else the browser tests skipped
loudly with the command that enables them, but never skipped in CI."""

from __future__ import annotations

import subprocess
from types import SimpleNamespace

import pytest

from tests import browser


@pytest.fixture
def no_chromium(monkeypatch):
    monkeypatch.setattr(browser, "find_chromium", lambda: None)
    monkeypatch.setattr(browser, "skipped_because", None)
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("ASI_ALLOW_NO_BROWSER", raising=False)


def test_outside_ci_make_test_skips_the_browser_tests_and_the_summary_says_how_to_enable_them(no_chromium, monkeypatch):
    monkeypatch.setenv("ASI_ALLOW_NO_BROWSER", "1")
    with pytest.raises(pytest.skip.Exception):
        browser.chromium_or_skip()
    lines = browser.summary_lines()
    assert "SKIPPED" in lines[0] and "make browser" in lines[1]


@pytest.mark.parametrize("ci", ["true", "1", "True"])
def test_ci_never_skips_a_missing_browser(no_chromium, monkeypatch, ci):
    monkeypatch.setenv("CI", ci)
    monkeypatch.setenv("ASI_ALLOW_NO_BROWSER", "1")
    with pytest.raises(pytest.fail.Exception):
        browser.chromium_or_skip()
    assert browser.summary_lines() == []


def test_run_directly_without_the_allowance_a_missing_browser_fails(no_chromium):
    with pytest.raises(pytest.fail.Exception):
        browser.chromium_or_skip()


def test_a_found_browser_is_used(monkeypatch):
    monkeypatch.setattr(browser, "find_chromium", lambda: "/usr/bin/chromium")
    monkeypatch.setenv("CI", "true")
    assert browser.chromium_or_skip() == "/usr/bin/chromium"


def test_ensure_installs_debians_chromium_as_root(no_chromium, monkeypatch):
    commands: list[list[str]] = []
    installed = {"yes": False}

    def run(command, **_):
        commands.append(command)
        installed["yes"] = installed["yes"] or command[:2] == ["apt-get", "install"]
        return SimpleNamespace(returncode=0)

    monkeypatch.setattr(browser.os, "geteuid", lambda: 0)
    monkeypatch.setattr(browser.shutil, "which", lambda name: "/usr/bin/apt-get" if name == "apt-get" else None)
    monkeypatch.setattr(browser, "find_chromium", lambda: "/usr/bin/chromium" if installed["yes"] else None)
    assert browser.ensure(run=run) == "/usr/bin/chromium"
    assert commands == [["apt-get", "update"], browser.APT_INSTALL] and "chromium" in browser.APT_INSTALL


def test_ensure_does_not_fail_when_it_cannot_install(no_chromium, monkeypatch, capsys):
    monkeypatch.setattr(browser.os, "geteuid", lambda: 0)
    monkeypatch.setattr(browser.shutil, "which", lambda name: "/usr/bin/apt-get")
    assert browser.ensure(run=lambda command, **_: SimpleNamespace(returncode=100)) is None
    assert "will be skipped" in capsys.readouterr().out
    monkeypatch.setattr(browser.os, "geteuid", lambda: 1000)
    assert browser.ensure(run=lambda *a, **k: pytest.fail("must not run apt-get when not root")) is None
    assert "sudo make browser" in capsys.readouterr().out
    assert browser.main(["ensure"]) == 0


def test_ensure_is_a_command_make_test_runs():
    result = subprocess.run(["make", "-n", "test"], capture_output=True, text=True, check=True,
                            cwd=browser.__file__.rsplit("/tests/", 1)[0])
    assert "tests.browser ensure" in result.stdout and "ASI_ALLOW_NO_BROWSER=1" in result.stdout
