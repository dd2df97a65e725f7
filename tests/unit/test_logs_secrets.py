"""A logged exception shows its traceback without the local variables of its frames (they hold API
keys and secrets), on the console as in JSON."""

from __future__ import annotations

import io
import logging
import sys

import pytest
import structlog

from libs import logs

SECRET = "asi_0123456789abcdef_" + "S" * 43


def _fails_holding_a_secret() -> None:
    credential = SECRET  # noqa: F841 - a local variable a traceback with locals would print
    raise RuntimeError("boom")


@pytest.fixture
def restored_logging():
    root = logging.getLogger()
    handlers, level, config = root.handlers[:], root.level, structlog.get_config()
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.configure(**config)


@pytest.mark.parametrize("fmt", ["console", "json"])
def test_a_logged_exception_shows_no_local_variables(fmt, monkeypatch, restored_logging):
    out = io.StringIO()
    monkeypatch.setattr(sys, "stderr", out)
    logs.configure_logging("test", "DEBUG", fmt)
    log = logs.get_logger("test.secrets")
    try:
        _fails_holding_a_secret()
    except RuntimeError:
        log.exception("it_failed")
    logging.getLogger("uvicorn.error").error("stdlib too", exc_info=sys.exc_info())
    text = out.getvalue()
    assert "RuntimeError: boom" in text and "_fails_holding_a_secret" in text  # the traceback is there
    assert SECRET not in text and "SSSSSSSS" not in text
