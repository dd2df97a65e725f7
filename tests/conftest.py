from __future__ import annotations

import asyncio
import contextlib
import faulthandler
import os
import sys
import threading
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any, TextIO

import pytest
from hypothesis import is_hypothesis_test, settings

from contracts.topics import ALL_TOPIC_NAMES
from devstack.embedded import Endpoints, ensure_topics
from tests import browser
from tests.integration import stack_fixture
from tests.integration.stack_fixture import provide_stack
from tests.support import Sender, TopicRecorder


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say which stack the integration tests used, and loudly when the browser tests were skipped."""
    stack_fixture.pytest_terminal_summary(terminalreporter)
    lines = browser.summary_lines()
    if lines:
        terminalreporter.section("browser tests SKIPPED", sep="!", yellow=True, bold=True)
        for line in lines:
            terminalreporter.write_line(line, yellow=True, bold=True)


MUTATION = os.environ.get("ASI_MUTATION") == "1"
"""Set by `make mutation` (devstack/mutation.py) for the tests it runs against each mutant."""
if MUTATION:
    # The same examples for every mutant, so a mutant is killed or survives the same way in every
    # run (a test's own settings keep their example counts and inherit this).
    settings.register_profile("mutation", derandomize=True, deadline=None)
    settings.load_profile("mutation")


MUTATION_EXAMPLES = int(os.environ.get("ASI_MUTATION_EXAMPLES") or 0)
"""`make mutation EXAMPLES=N`: each property test draws at most N examples per mutant (0: its own count)."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under `make mutation`, example tests before property tests: a mutant most tests notice is
    killed (with -x) by a test of milliseconds instead of after seconds of drawn examples. With
    `EXAMPLES=N`, property tests draw at most N examples (their `@example`s still all run)."""
    if MUTATION:
        items.sort(key=lambda item: is_hypothesis_test(getattr(item, "obj", None)))
        if MUTATION_EXAMPLES > 0:
            for item in items:
                cap_examples(getattr(item, "obj", None), MUTATION_EXAMPLES)


def cap_examples(test: object, most: int) -> None:
    """At most `most` drawn examples for a hypothesis test, whatever its own `@settings` say. Hypothesis
    reads a test's settings from the wrapped function when it runs, so they are replaced there."""
    if not is_hypothesis_test(test):
        return
    function = getattr(test, "__func__", test)  # a test method: the function under the bound method
    current = function._hypothesis_internal_use_settings
    function._hypothesis_internal_use_settings = settings(current, max_examples=min(most, current.max_examples))


# A test still running after this many seconds (a minute before pytest-timeout ends the run) gets
# the stacks of every asyncio task and thread printed (pytest-timeout's own report shows only the
# threads, and the main one sits in the event loop's select()).
HANG_REPORT_S = float(os.environ.get("ASI_TEST_HANG_REPORT_S", "240"))
_loops: list[asyncio.AbstractEventLoop] = []


@pytest.fixture(scope="session", autouse=True)
async def _session_loop() -> AsyncIterator[None]:
    """Remembers the session's event loop for the hang report."""
    _loops.append(asyncio.get_running_loop())
    yield
    _loops.clear()
    leaked = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    if leaked:
        with _terminal() as out:
            print(f"\n=== {len(leaked)} asyncio tasks still running at the end of the session ===", file=out)
            _print_tasks(leaked, out)


def _print_tasks(tasks: Iterable[asyncio.Task[Any]], out: TextIO) -> None:
    for task in tasks:
        print(f"--- {task!r}", file=out)
        task.print_stack(limit=30, file=out)
    out.flush()


_config: list[pytest.Config] = []


def pytest_configure(config: pytest.Config) -> None:
    _config.append(config)


@contextlib.contextmanager
def _terminal() -> Iterator[TextIO]:
    """The real stderr: pytest captures fds 1 and 2 into temporary files while a test runs."""
    capman = _config[0].pluginmanager.get_plugin("capturemanager") if _config else None
    with capman.global_and_fixture_disabled() if capman else contextlib.nullcontext():
        yield sys.__stderr__ or sys.stderr


def _report_hang(nodeid: str) -> None:
    with _terminal() as out:
        print(f"\n=== {nodeid} has run for {HANG_REPORT_S:.0f} s: threads and asyncio tasks ===", file=out,
              flush=True)
        faulthandler.dump_traceback(file=out, all_threads=True)

    def tasks() -> None:
        with _terminal() as out:
            _print_tasks(asyncio.all_tasks(), out)

    for loop in _loops:
        if not loop.is_closed():
            loop.call_soon_threadsafe(tasks)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> object:
    timer = threading.Timer(HANG_REPORT_S, _report_hang, args=(item.nodeid,))
    timer.daemon = True
    timer.start()
    try:
        return (yield)
    finally:
        timer.cancel()


@pytest.fixture(scope="session")
def stack() -> Iterator[Endpoints]:
    """A real broker and database for the whole session: external, Docker, or embedded."""
    with provide_stack() as endpoints:
        asyncio.run(ensure_topics(endpoints.kafka_bootstrap, ALL_TOPIC_NAMES, partitions=4))
        yield endpoints


@pytest.fixture
async def recorder(stack: Endpoints) -> AsyncIterator[TopicRecorder]:
    rec = await TopicRecorder(stack.kafka_bootstrap, ALL_TOPIC_NAMES).start()
    yield rec
    await rec.stop()


@pytest.fixture
async def sender(stack: Endpoints) -> AsyncIterator[Sender]:
    s = await Sender(stack.kafka_bootstrap).start()
    yield s
    await s.stop()
