"""Bulk load for producers: stream a file of plant events to `plant.events.v1`, then answer for every row.

    python -m services.intake.bulk_load FILE.jsonl|FILE.csv [--wait] [--timeout S] [--results OUT.csv]
                                        [--bootstrap HOST:PORT]

JSON lines: one plant event per line, exactly the contract JSON (any type, transformations too).
CSV: a header row, then one simple event per row; the columns each type takes are `COLUMNS_BY_TYPE`
(a value in a column its type does not take, an unknown column in the header, and a row with more or
fewer cells than the header are errors, never dropped); empty cells are absent values.

Every row gets a line in the results file (default `FILE.results.csv`): its row number in the file
(the CSV header is row 1), its event id, its status and the reasons. Statuses: `invalid` and
`duplicate` (not sent), `sent` (without `--wait`), and with `--wait` intake's answer: `accepted`,
`refused`, `held` (intake waits for a site, certificate or CoC Document; the tool does not wait for
the outcome) or `unanswered` (nothing before the timeout).

A CSV row without `event_id` gets one derived from its content and the submitting organisation
(`row_event_id`), so the same rows in any file, loaded any number of times, are one set of events; two
rows of one file with the same content are one event (the second is reported `duplicate`: give it an
`event_id` or a reference that tells it apart if it is a second delivery).
The broker is the platform's that `make run` started (`.run/platform.json`), unless `--bootstrap`,
`BULK_KAFKA_BOOTSTRAP_SERVERS` or `KAFKA_BOOTSTRAP_SERVERS` say otherwise.
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
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from pydantic import AliasChoices, Field, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from contracts import topics
from contracts.common import Actor, Role
from contracts.intake import PlantEventHeld, PlantEventRejected
from libs import cli
from libs.settings import RunFileSource, cli_settings
from libs.kafka import refresh_metadata

_COMMON = ("type", "event_id", "occurred_at", "organisation_id", "site_id", "correlation_id", "corrects_event_id")
COLUMNS_BY_TYPE: dict[str, tuple[str, ...]] = {
    "material_received": (*_COMMON, "date", "supplier_organisation_id", "supplier_site_id", "material_category",
                          "product_form", "quantity", "unit", "coc_document_id", "due_diligence_reference",
                          "due_diligence_status"),
    "material_shipped": (*_COMMON, "date", "customer_organisation_id", "customer_site_id", "material_category",
                         "product_form", "quantity", "unit", "coc_quantity", "shipment_reference",
                         "carbon_footprint_kg_co2e_per_kg"),
    "plant_event_cancelled": (*_COMMON, "cancels_event_id", "reason"),
}
"""The columns each CSV `type` takes. `organisation_id` is the producer (the actor); `date` is received_on
or shipped_on; `event_id` may be empty (then derived from the row, see `row_event_id`)."""
CSV_COLUMNS = tuple(dict.fromkeys(c for columns in COLUMNS_BY_TYPE.values() for c in columns))
_DATE_FIELD = {"material_received": "received_on", "material_shipped": "shipped_on"}
_ENVELOPE = {"type", "event_id", "occurred_at", "organisation_id", "correlation_id", "date"}
_NOT_CONTENT = {"event_id", "occurred_at", "correlation_id", "causation_id", "schema_version", "actor"}
_ROW_NAMESPACE = uuid.UUID("0b3c5c1e-8f1a-4c52-9d0e-3b7a1f6a2c44")
_PLACEHOLDER = uuid.UUID(int=0)
RESULT_COLUMNS = ("row", "event_id", "status", "reasons")


class BulkSettings(BaseSettings):
    """Settings of the bulk loader: `BULK_<FIELD>`, or the platform's unprefixed `KAFKA_BOOTSTRAP_SERVERS`,
    or (`from_platform`) the broker of the platform `make run` started."""

    model_config = SettingsConfigDict(env_prefix="BULK_", extra="ignore")

    kafka_bootstrap_servers: str = Field(
        default="127.0.0.1:9092",
        validation_alias=AliasChoices("BULK_KAFKA_BOOTSTRAP_SERVERS", "KAFKA_BOOTSTRAP_SERVERS", "kafka_bootstrap_servers"),
        description="Kafka bootstrap servers.",
    )
    wait_timeout_s: float = Field(default=300.0, gt=0, description="How long --wait waits for intake's answers.")
    send_window: int = Field(default=2000, ge=1, description="Messages in flight before waiting for acknowledgements.")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, RunFileSource(settings_cls), dotenv_settings, file_secret_settings

    @classmethod
    def from_platform(cls, **values: Any) -> BulkSettings:
        """Arguments, the environment, then the running platform's run file; none: `NoPlatformRunning`."""
        return cli_settings(cls, ("kafka_bootstrap_servers",), **values)  # type: ignore[no-any-return]


@dataclass
class RowResult:
    row: int
    event_id: str
    status: str
    reasons: str = ""
    codes: tuple[str, ...] = ()


@dataclass
class Report:
    rows: list[RowResult] = field(default_factory=list)
    reasons: Counter[str] = field(default_factory=Counter)
    results_path: Path | None = None

    def count(self, status: str) -> int:
        return sum(1 for r in self.rows if r.status == status)

    @property
    def sent(self) -> int:
        return sum(1 for r in self.rows if r.status not in ("invalid", "duplicate"))

    @property
    def invalid(self) -> list[RowResult]:
        return [r for r in self.rows if r.status in ("invalid", "duplicate")]

    @property
    def accepted(self) -> int:
        return self.count("accepted")

    @property
    def refused(self) -> int:
        return self.count("refused")

    @property
    def held(self) -> int:
        return self.count("held")

    @property
    def unanswered(self) -> int:
        return self.count("unanswered")


class RowBook:
    """Each row's result as the file is read: invalid, a duplicate of an earlier row, or to be sent."""

    def __init__(self, report: Report) -> None:
        self.report = report
        self.by_id: dict[str, RowResult] = {}

    def add(self, row: int, event: Any) -> RowResult:
        if isinstance(event, str):
            result = RowResult(row, "", "invalid", event)
        elif str(event.event_id) in self.by_id:
            result = RowResult(row, str(event.event_id), "duplicate",
                               f"the same event id as row {self.by_id[str(event.event_id)].row}; not sent again")
        else:
            result = self.by_id[str(event.event_id)] = RowResult(row, str(event.event_id), "sent")
        self.report.rows.append(result)
        return result


class FileError(cli.CliError):
    """The file as a whole cannot be loaded (unreadable, or a CSV header with unknown columns)."""


def _canonical(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in sorted(value.items()) if v is not None}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date | uuid.UUID):
        return str(value)
    return value


def row_event_id(event: Any) -> uuid.UUID:
    """The id of a row's event: uuid5 over the submitting organisation and the event's content in a canonical
    form (sorted fields, absent values left out, quantities as normalised decimals), leaving out the
    envelope (ids, times). The file's name and the row's position play no part."""
    content = _canonical({k: v for k, v in event.model_dump(mode="python").items() if k not in _NOT_CONTENT})
    body = json.dumps({"organisation_id": event.actor.organisation_id, "event": content}, sort_keys=True,
                      separators=(",", ":"))
    return uuid.uuid5(_ROW_NAMESPACE, body)


def check_header(columns: list[str]) -> None:
    unknown = [c for c in columns if c not in CSV_COLUMNS]
    if unknown or "type" not in columns:
        raise FileError(("unknown columns in the CSV header: " + ", ".join(unknown) if unknown
                         else "the CSV header has no `type` column")
                        + f"; the columns are: {', '.join(CSV_COLUMNS)}")
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        raise FileError(f"columns repeated in the CSV header: {', '.join(repeated)}")


def row_to_event(row: dict[str, str]) -> Any:
    """One CSV row (header column -> cell) as a plant event (raises ValueError or ValidationError)."""
    values = {k: v.strip() for k, v in row.items() if v is not None and v.strip() != ""}
    kind = values.get("type", "")
    if kind not in COLUMNS_BY_TYPE:
        raise ValueError(f"type must be one of {', '.join(COLUMNS_BY_TYPE)}, not {kind!r}")
    foreign = [c for c in values if c not in COLUMNS_BY_TYPE[kind]]
    if foreign:
        raise ValueError(f"{', '.join(foreign)} do{'es' if len(foreign) == 1 else ''} not apply to {kind} "
                         f"(its columns: {', '.join(COLUMNS_BY_TYPE[kind])})")
    body = {k: v for k, v in values.items() if k not in _ENVELOPE}
    if kind in _DATE_FIELD and "date" in values:
        body[_DATE_FIELD[kind]] = values["date"]
    given = values.get("event_id")
    message = {
        "type": kind, "event_id": given or str(_PLACEHOLDER),
        "occurred_at": values.get("occurred_at") or datetime.now(UTC).isoformat(),
        "correlation_id": values.get("correlation_id") or given or str(_PLACEHOLDER),
        "actor": Actor(organisation_id=values["organisation_id"], role=Role.PRODUCER).model_dump(mode="json")
        if values.get("organisation_id") else None,
        **body,
    }
    event = topics.PLANT_EVENTS.parse(json.dumps(message))
    if given:
        return event
    derived = row_event_id(event)
    update: dict[str, Any] = {"event_id": derived}
    if not values.get("correlation_id"):
        update["correlation_id"] = derived
    return event.model_copy(update=update)


def read_events(path: Path) -> Iterator[tuple[int, int, Any]]:
    """(row number, bytes read so far, event or error text) for every non-empty row of the file."""
    try:
        raw = path.open("rb")
    except OSError as exc:
        raise FileError(f"cannot read {path}: {exc.strerror or exc}") from exc
    with raw:
        if path.suffix.lower() == ".csv":
            columns = next(csv.reader([raw.readline().decode("utf-8-sig")]), [])
            check_header([c.strip() for c in columns])
            columns = [c.strip() for c in columns]
            for line, data in enumerate(raw, start=2):
                text = data.decode("utf-8", errors="replace").strip()
                if not text:
                    continue
                cells = next(csv.reader([text]))
                if len(cells) != len(columns):
                    yield line, raw.tell(), (f"the row has {len(cells)} cells and the header {len(columns)} "
                                             f"({'extra cells are not dropped' if len(cells) > len(columns) else 'cells are missing'})")
                    continue
                row = dict(zip(columns, cells, strict=True))
                yield line, raw.tell(), _try(lambda row=row: row_to_event(row))
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
    """Where intake's answers start: the beginning of its topics, so that a row sent in an earlier load
    (the same event id, which intake takes once and does not answer again) gets the answer it had then."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(t.name, p) for t in (topics.MATERIAL_MOVEMENTS, topics.INTAKE_REJECTIONS)
                      for p in (consumer.partitions_for_topic(t.name) or await _partitions(consumer, t.name))]
        return dict(await consumer.beginning_offsets(partitions))
    finally:
        await consumer.stop()


async def _partitions(consumer: AIOKafkaConsumer, name: str) -> set[int]:
    await refresh_metadata(consumer)  # metadata for an unsubscribed topic
    return consumer.partitions_for_topic(name) or {0}


async def load(path: Path, settings: BulkSettings, *, wait: bool, console: Console | None = None,
               results: Path | None = None) -> Report:
    """Send every valid event of the file; with `wait`, collect intake's answer to each; write the results file."""
    console = console or Console(stderr=True)
    report = Report()
    events = read_events(path)
    first = next(events, None)  # reads the header: a bad file fails before anything is sent
    start = await _positions(settings.kafka_bootstrap_servers) if wait else {}
    book = RowBook(report)
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, enable_idempotence=False,
                                acks="all", linger_ms=5)
    await producer.start()
    try:
        with Progress(TextColumn("[bold]sending"), BarColumn(), TextColumn("{task.fields[sent]} events"),
                      TimeRemainingColumn(), console=console, transient=False) as progress:
            task = progress.add_task("send", total=path.stat().st_size, sent=0)
            in_flight: list[asyncio.Future[Any]] = []
            for line, position, event in _chain(first, events):
                if book.add(line, event).status == "sent":
                    topic = topics.PLANT_EVENTS
                    in_flight.append(await producer.send(topic.name, topic.encode(event), key=topic.key_of(event).encode()))
                if len(in_flight) >= settings.send_window:
                    await asyncio.gather(*in_flight)
                    in_flight.clear()
                progress.update(task, completed=position, sent=len(book.by_id))
            await asyncio.gather(*in_flight)
    finally:
        await producer.stop()
    if wait and book.by_id:
        await _collect(settings, start, book.by_id, report, console)
    report.results_path = write_results(report, results or default_results_path(path))
    return report


def _chain(first: Any, rest: Iterator[Any]) -> Iterator[Any]:
    if first is not None:
        yield first
    yield from rest


def default_results_path(path: Path) -> Path:
    return path.with_name(path.name + ".results.csv")


def write_results(report: Report, path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(RESULT_COLUMNS)
        for r in sorted(report.rows, key=lambda r: r.row):
            writer.writerow((r.row, r.event_id, r.status, r.reasons))
    return path


async def _collect(settings: BulkSettings, start: dict[TopicPartition, int], by_id: dict[str, RowResult],
                   report: Report, console: Console) -> None:
    """Read intake's answers from the beginning of its topics, until every sent event has one
    (accepted, refused, or held: a held event is reported and not waited for) or the timeout."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, enable_auto_commit=False)
    await consumer.start()
    pending = set(by_id)
    try:
        consumer.assign(list(start))
        for partition, offset in start.items():
            consumer.seek(partition, offset)
        deadline = asyncio.get_running_loop().time() + settings.wait_timeout_s
        with Progress(TextColumn("[bold]answers"), BarColumn(), MofNCompleteColumn(), console=console) as progress:
            task = progress.add_task("wait", total=len(by_id))
            while pending and asyncio.get_running_loop().time() < deadline:
                batch = await consumer.getmany(timeout_ms=500, max_records=5000)
                for records in batch.values():
                    for record in records:
                        answered = _answer(record.topic, record.value, by_id)
                        if answered is not None:
                            pending.discard(answered)
                progress.update(task, completed=len(by_id) - len(pending))
    finally:
        await consumer.stop()
    for event_id in pending:
        by_id[event_id].status, by_id[event_id].reasons = "unanswered", "no answer from intake before the timeout"
    for result in by_id.values():
        report.reasons.update(result.codes)


def _answer(topic: str, raw: bytes | None, by_id: dict[str, RowResult]) -> str | None:
    """Record intake's answer on the event's row; the event id it answered, if one of ours."""
    try:
        message: Any = topics.BY_NAME[topic].parse(raw or b"")
    except ValidationError:
        return None
    if isinstance(message, PlantEventHeld):
        result = by_id.get(str(message.held_event_id))
        if result is None or result.status in ("accepted", "refused"):
            return None
        result.status, result.codes = "held", tuple(r.code for r in message.waiting_for)
        result.reasons = "; ".join(f"{r.code}: {r.message}" for r in message.waiting_for)
        result.reasons += f" (intake decides by {message.retry_until.isoformat()})"
        return result.event_id
    if isinstance(message, PlantEventRejected):
        result = by_id.get(str(message.rejected_event_id))
        if result is None or result.status in ("accepted", "refused"):
            return None
        result.status, result.codes = "refused", tuple(r.code for r in message.reasons)
        result.reasons = "; ".join(f"{r.code}: {r.message}" for r in message.reasons)
        return result.event_id
    result = by_id.get(str(getattr(message, "movement_id", "")))
    if result is None or result.status in ("accepted", "refused"):
        return None
    result.status, result.reasons, result.codes = "accepted", "", ()
    return result.event_id


def show(report: Report, console: Console, waited: bool) -> None:
    table = Table(title="bulk load")
    table.add_column("outcome")
    table.add_column("rows", justify="right")
    table.add_row("sent", str(report.sent))
    table.add_row("invalid (not sent)", str(report.count("invalid")))
    table.add_row("duplicate of an earlier row (not sent)", str(report.count("duplicate")))
    if waited:
        table.add_row("accepted", str(report.accepted))
        table.add_row("refused", str(report.refused))
        table.add_row("held (waiting for a site, certificate or document)", str(report.held))
        for code, count in report.reasons.most_common():
            table.add_row(f"  {code}", str(count))
        table.add_row("no answer before the timeout", str(report.unanswered))
    console.print(table)
    for r in report.invalid[:10]:
        console.print(f"row {r.row}: {r.reasons}", style="red")
    if report.results_path is not None:
        console.print(f"every row's result: {report.results_path}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.intake.bulk_load", description=__doc__.split("\n")[0])
    parser.add_argument("file", type=Path, help="plant events as JSON lines (.jsonl) or CSV (.csv)")
    parser.add_argument("--bootstrap", help="Kafka bootstrap servers (default: BULK_/KAFKA_BOOTSTRAP_SERVERS, "
                        "else the platform `make run` started)")
    parser.add_argument("--wait", action="store_true", help="wait for intake's answers and report them")
    parser.add_argument("--timeout", type=float, help="seconds to wait for answers")
    parser.add_argument("--results", type=Path, help="where to write every row's result (default FILE.results.csv)")
    args = parser.parse_args(argv)

    def command() -> int:
        overrides: dict[str, Any] = {}
        if args.bootstrap:
            overrides["kafka_bootstrap_servers"] = args.bootstrap
        if args.timeout:
            overrides["wait_timeout_s"] = args.timeout
        settings = BulkSettings.from_platform(**overrides)
        cli.kafka_reachable(settings.kafka_bootstrap_servers)
        console = Console()
        report = asyncio.run(load(args.file, settings, wait=args.wait, console=console, results=args.results))
        show(report, console, args.wait)
        return 1 if report.invalid or report.unanswered else 0

    return cli.run(command)


if __name__ == "__main__":
    sys.exit(main())
