from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest

from contracts.topics import ALL_TOPIC_NAMES
from libs.embedded import Endpoints, ensure_topics
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
