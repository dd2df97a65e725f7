from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest

from contracts.topics import ALL_TOPIC_NAMES
from libs.embedded import Endpoints, ensure_topics
from tests.integration.stack_fixture import provide_stack, pytest_terminal_summary  # noqa: F401 - reports the backend
from tests.support import Sender, TopicRecorder


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
