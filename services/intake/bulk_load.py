"""Bulk load for producers: stream a file of plant events to `plant.events.v1`, then report intake's answers.

    python -m services.intake.bulk_load FILE.jsonl|FILE.csv [--bootstrap HOST:PORT] [--wait] [--timeout S]

JSON lines: one plant event per line, exactly the contract JSON (any type, transformations too).
CSV: one row per simple event (received, shipped, cancelled); columns in `CSV_COLUMNS`, empty cells
are absent values. Lines that do not parse are reported and not sent. With `--wait`, the tool reads
`material.movements.v1` and `intake.rejections.v1` from where they stood before sending and counts, for
the events it sent, the accepted ones and the refused ones by reason code.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from pydantic import AliasChoices, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from contracts import topics
from contracts.common import Actor, Role
from contracts.intake import PlantEventHeld, PlantEventRejected

CSV_COLUMNS = (
    "type", "event_id", "occurred_at", "organisation_id", "site_id", "date", "supplier_organisation_id",
    "supplier_site_id", "customer_organisation_id", "customer_site_id", "material_category", "product_form",
    "quantity", "unit", "coc_quantity", "coc_document_id", "due_diligence_reference", "due_diligence_status",
    "shipment_reference", "carbon_footprint_kg_co2e_per_kg", "corrects_event_id", "cancels_event_id", "reason",
    "correlation_id",
)
"""`type` is material_received, material_shipped or plant_event_cancelled; `organisation_id` is the
producer (the actor); `date` is received_on or shipped_on. An empty `event_id` gets a deterministic id
from the file name, line number and row, so loading the same file twice is applied once."""
_DATE_FIELD = {"material_received": "received_on", "material_shipped": "shipped_on"}
_ENVELOPE = {"type", "event_id", "occurred_at", "organisation_id", "correlation_id", "date"}
_ROW_NAMESPACE = uuid.UUID("0b3c5c1e-8f1a-4c52-9d0e-3b7a1f6a2c44")


class BulkSettings(BaseSettings):
    """Settings of the bulk loader: `BULK_<FIELD>`, or the platform's unprefixed `KAFKA_BOOTSTRAP_SERVERS`."""

    model_config = SettingsConfigDict(env_prefix="BULK_", extra="ignore")

    kafka_bootstrap_servers: str = Field(
        default="127.0.0.1:9092",
        validation_alias=AliasChoices("BULK_KAFKA_BOOTSTRAP_SERVERS", "KAFKA_BOOTSTRAP_SERVERS", "kafka_bootstrap_servers"),
        description="Kafka bootstrap servers.",
    )
    wait_timeout_s: float = Field(default=300.0, gt=0, description="How long --wait waits for intake's answers.")
    send_window: int = Field(default=2000, ge=1, description="Messages in flight before waiting for acknowledgements.")


@dataclass
class Report:
    sent: int = 0
    invalid: list[tuple[int, str]] = field(default_factory=list)
    accepted: int = 0
    refused: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    held: int = 0
    unanswered: int = 0


def row_to_event(row: dict[str, str], line: int, source: str) -> Any:
    """One CSV row as a plant event (raises ValueError or ValidationError)."""
    values = {k: v.strip() for k, v in row.items() if k and v is not None and v.strip() != ""}
    unknown = set(values) - set(CSV_COLUMNS)
    if unknown:
        raise ValueError(f"unknown columns: {sorted(unknown)}")
    kind = values.get("type", "")
    if kind not in (*_DATE_FIELD, "plant_event_cancelled"):
        raise ValueError(f"type must be material_received, material_shipped or plant_event_cancelled, not {kind!r}")
    body = {k: v for k, v in values.items() if k not in _ENVELOPE}
    if kind in _DATE_FIELD and "date" in values:
        body[_DATE_FIELD[kind]] = values["date"]
    event_id = values.get("event_id") or str(uuid.uuid5(_ROW_NAMESPACE, f"{source}:{line}:{json.dumps(values, sort_keys=True)}"))
    message = {
        "type": kind, "event_id": event_id, "occurred_at": values.get("occurred_at") or datetime.now(UTC).isoformat(),
        "correlation_id": values.get("correlation_id") or event_id,
        "actor": Actor(organisation_id=values.get("organisation_id", ""), role=Role.PRODUCER).model_dump(mode="json")
        if values.get("organisation_id") else None,
        **body,
    }
    return topics.PLANT_EVENTS.parse(json.dumps(message))


def read_events(path: Path) -> Iterator[tuple[int, int, Any]]:
    """(line number, bytes read so far, event or error text) for every line of the file."""
    with path.open("rb") as raw:
        if path.suffix.lower() == ".csv":
            header = raw.readline()
            columns = next(csv.reader([header.decode("utf-8-sig")]))
            for line, data in enumerate(raw, start=2):
                text = data.decode("utf-8").strip()
                if not text:
                    continue
                row = dict(zip(columns, next(csv.reader([text])), strict=False))
                yield line, raw.tell(), _try(lambda row=row, line=line: row_to_event(row, line, path.name))
        else:
            for line, data in enumerate(raw, start=1):
                if data.strip():
                    yield line, raw.tell(), _try(lambda data=data: topics.PLANT_EVENTS.parse(data))


def _try(parse: Any) -> Any:
    try:
        return parse()
    except ValidationError as exc:
        return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:5])
    except ValueError as exc:
        return str(exc)


async def _positions(bootstrap: str) -> dict[TopicPartition, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(t.name, p) for t in (topics.MATERIAL_MOVEMENTS, topics.INTAKE_REJECTIONS)
                      for p in (consumer.partitions_for_topic(t.name) or await _partitions(consumer, t.name))]
        return dict(await consumer.end_offsets(partitions))
    finally:
        await consumer.stop()


async def _partitions(consumer: AIOKafkaConsumer, name: str) -> set[int]:
    await consumer._client.force_metadata_update()  # noqa: SLF001 - metadata for an unsubscribed topic
    return consumer.partitions_for_topic(name) or {0}


async def load(path: Path, settings: BulkSettings, *, wait: bool, console: Console | None = None) -> Report:
    """Send every valid event of the file; with `wait`, collect intake's answers to them."""
    console = console or Console(stderr=True)
    report = Report()
    start = await _positions(settings.kafka_bootstrap_servers) if wait else {}
    sent_ids: set[str] = set()
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, enable_idempotence=False,
                                acks="all", linger_ms=5)
    await producer.start()
    try:
        with Progress(TextColumn("[bold]sending"), BarColumn(), TextColumn("{task.fields[sent]} events"),
                      TimeRemainingColumn(), console=console, transient=False) as progress:
            task = progress.add_task("send", total=path.stat().st_size, sent=0)
            in_flight: list[asyncio.Future[Any]] = []
            for line, position, event in read_events(path):
                if isinstance(event, str):
                    report.invalid.append((line, event))
                else:
                    topic = topics.PLANT_EVENTS
                    in_flight.append(await producer.send(topic.name, topic.encode(event), key=topic.key_of(event).encode()))
                    sent_ids.add(str(event.event_id))
                    report.sent += 1
                if len(in_flight) >= settings.send_window:
                    await asyncio.gather(*in_flight)
                    in_flight.clear()
                progress.update(task, completed=position, sent=report.sent)
            await asyncio.gather(*in_flight)
    finally:
        await producer.stop()
    if wait and sent_ids:
        await _collect(settings, start, sent_ids, report, console)
    return report


async def _collect(settings: BulkSettings, start: dict[TopicPartition, int], ids: set[str], report: Report,
                   console: Console) -> None:
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, enable_auto_commit=False)
    await consumer.start()
    answered: dict[str, str] = {}
    held: set[str] = set()
    try:
        consumer.assign(list(start))
        for partition, offset in start.items():
            consumer.seek(partition, offset)
        deadline = asyncio.get_running_loop().time() + settings.wait_timeout_s
        with Progress(TextColumn("[bold]answers"), BarColumn(), MofNCompleteColumn(), console=console) as progress:
            task = progress.add_task("wait", total=len(ids))
            while len(answered) < len(ids) and asyncio.get_running_loop().time() < deadline:
                batch = await consumer.getmany(timeout_ms=500, max_records=5000)
                for records in batch.values():
                    for record in records:
                        _answer(record.topic, record.value, ids, answered, held, report)
                progress.update(task, completed=len(answered))
    finally:
        await consumer.stop()
    report.held = len(held - set(answered))
    report.unanswered = len(ids) - len(answered) - report.held


def _answer(topic: str, raw: bytes | None, ids: set[str], answered: dict[str, str], held: set[str],
            report: Report) -> None:
    try:
        message: Any = topics.BY_NAME[topic].parse(raw or b"")
    except ValidationError:
        return
    if isinstance(message, PlantEventHeld):
        if str(message.held_event_id) in ids:
            held.add(str(message.held_event_id))
        return
    if isinstance(message, PlantEventRejected):
        event_id = str(message.rejected_event_id)
        if event_id in ids and event_id not in answered:
            answered[event_id] = "refused"
            report.refused += 1
            report.reasons.update({r.code for r in message.reasons})
        return
    event_id = str(message.movement_id)
    if event_id in ids and event_id not in answered:
        answered[event_id] = "accepted"
        report.accepted += 1


def show(report: Report, console: Console, waited: bool) -> None:
    table = Table(title="bulk load")
    table.add_column("outcome")
    table.add_column("events", justify="right")
    table.add_row("sent", str(report.sent))
    table.add_row("invalid lines (not sent)", str(len(report.invalid)))
    if waited:
        table.add_row("accepted", str(report.accepted))
        table.add_row("refused", str(report.refused))
        for code, count in report.reasons.most_common():
            table.add_row(f"  {code}", str(count))
        table.add_row("still held", str(report.held))
        table.add_row("no answer yet", str(report.unanswered))
    console.print(table)
    for line, error in report.invalid[:20]:
        console.print(f"line {line}: {error}", style="red")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.intake.bulk_load", description=__doc__.split("\n")[0])
    parser.add_argument("file", type=Path, help="plant events as JSON lines (.jsonl) or CSV (.csv)")
    parser.add_argument("--bootstrap", help="Kafka bootstrap servers (default: BULK_/KAFKA_BOOTSTRAP_SERVERS)")
    parser.add_argument("--wait", action="store_true", help="wait for intake's answers and report them")
    parser.add_argument("--timeout", type=float, help="seconds to wait for answers")
    args = parser.parse_args(argv)
    overrides: dict[str, Any] = {}
    if args.bootstrap:
        overrides["kafka_bootstrap_servers"] = args.bootstrap
    if args.timeout:
        overrides["wait_timeout_s"] = args.timeout
    settings = BulkSettings(**overrides)
    console = Console()
    report = asyncio.run(load(args.file, settings, wait=args.wait, console=console))
    show(report, console, args.wait)
    return 1 if report.invalid or report.unanswered else 0


if __name__ == "__main__":
    sys.exit(main())
