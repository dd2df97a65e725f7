"""Sending a file's events to `plant.events.v1` and, with `--wait`, collecting intake's answers."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from contracts import topics
from libs.kafka import refresh_metadata
from services.intake.bulk_load.answers import record_answer
from services.intake.bulk_load.report import (
    Report,
    RowBook,
    RowResult,
    default_results_path,
    write_results,
)
from services.intake.bulk_load.rows import Row, read_events
from services.intake.bulk_load.settings import BulkSettings


async def load(
    path: Path,
    settings: BulkSettings,
    *,
    wait: bool,
    console: Console | None = None,
    results: Path | None = None,
) -> Report:
    """Send every valid event of the file; with `wait`, collect intake's answer to each; write the
    results file."""
    console = console or Console(stderr=True)
    report = Report()
    events = read_events(path)
    first = next(events, None)  # reads the header: a bad file fails before anything is sent
    start = await _positions(settings.kafka_bootstrap_servers) if wait else {}
    book = RowBook(report)
    await _send(path, _chain(first, events), book, settings, console)
    if wait and book.by_id:
        await _collect(settings, start, book.by_id, report, console)
    report.results_path = write_results(report, results or default_results_path(path))
    return report


async def _send(
    path: Path, rows: Iterator[Row], book: RowBook, settings: BulkSettings, console: Console
) -> None:
    """Each row in the book; its event sent if it is one to send, at most `send_window` of them
    unacknowledged."""
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        enable_idempotence=False,
        acks="all",
        linger_ms=5,
    )
    await producer.start()
    topic = topics.PLANT_EVENTS
    try:
        with Progress(
            TextColumn("[bold]sending"),
            BarColumn(),
            TextColumn("{task.fields[sent]} events"),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        ) as progress:
            size = (await asyncio.to_thread(path.stat)).st_size
            task = progress.add_task("send", total=size, sent=0)
            in_flight: list[asyncio.Future[Any]] = []
            for line, position, event in rows:
                if book.add(line, event).status == "sent" and not isinstance(event, str):
                    in_flight.append(
                        await producer.send(
                            topic.name, topic.encode(event), key=topic.key_of(event).encode()
                        )
                    )
                if len(in_flight) >= settings.send_window:
                    await asyncio.gather(*in_flight)
                    in_flight.clear()
                progress.update(task, completed=position, sent=len(book.by_id))
            await asyncio.gather(*in_flight)
    finally:
        await producer.stop()


def _chain(first: Row | None, rest: Iterator[Row]) -> Iterator[Row]:
    if first is not None:
        yield first
    yield from rest


async def _positions(bootstrap: str) -> dict[TopicPartition, int]:
    """Where intake's answers start: the beginning of its topics, so that a row sent in an earlier
    load (the same event id, which intake takes once and does not answer again) gets the answer it
    had then."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [
            TopicPartition(t.name, p)
            for t in (topics.MATERIAL_MOVEMENTS, topics.INTAKE_REJECTIONS)
            for p in (consumer.partitions_for_topic(t.name) or await _partitions(consumer, t.name))
        ]
        return dict(await consumer.beginning_offsets(partitions))
    finally:
        await consumer.stop()


async def _partitions(consumer: AIOKafkaConsumer, name: str) -> set[int]:
    await refresh_metadata(consumer)  # metadata for an unsubscribed topic
    return consumer.partitions_for_topic(name) or {0}


async def _collect(
    settings: BulkSettings,
    start: dict[TopicPartition, int],
    by_id: dict[str, RowResult],
    report: Report,
    console: Console,
) -> None:
    """Read intake's answers from the beginning of its topics, until every sent event has one
    (accepted, refused, or held: a held event is reported and not waited for) or the timeout."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers, enable_auto_commit=False
    )
    await consumer.start()
    pending = set(by_id)
    try:
        consumer.assign(list(start))
        for partition, offset in start.items():
            consumer.seek(partition, offset)
        deadline = asyncio.get_running_loop().time() + settings.wait_timeout_s
        with Progress(
            TextColumn("[bold]answers"), BarColumn(), MofNCompleteColumn(), console=console
        ) as progress:
            task = progress.add_task("wait", total=len(by_id))
            while pending and asyncio.get_running_loop().time() < deadline:
                batch = await consumer.getmany(timeout_ms=500, max_records=5000)
                for records in batch.values():
                    for record in records:
                        answered = record_answer(record.topic, record.value, by_id)
                        if answered is not None:
                            pending.discard(answered)
                progress.update(task, completed=len(by_id) - len(pending))
    finally:
        await consumer.stop()
    for event_id in pending:
        by_id[event_id].status = "unanswered"
        by_id[event_id].reasons = "no answer from intake before the timeout"
    for result in by_id.values():
        report.reasons.update(result.codes)
