"""Reading a file of plant events: JSON lines (the contract JSON) or CSV (one simple event per row,
the columns of `COLUMNS_BY_TYPE`), each row an event or the text of why it is invalid."""

from __future__ import annotations

import csv
import json
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import IO, Any, TypeVar

from pydantic import ValidationError

from contracts import topics
from contracts.common import Actor, Envelope, Role
from libs import cli

_COMMON = (
    "type",
    "event_id",
    "occurred_at",
    "organisation_id",
    "site_id",
    "correlation_id",
    "corrects_event_id",
)
COLUMNS_BY_TYPE: dict[str, tuple[str, ...]] = {
    "material_received": (
        *_COMMON,
        "date",
        "supplier_organisation_id",
        "supplier_site_id",
        "material_category",
        "product_form",
        "quantity",
        "unit",
        "coc_document_id",
        "due_diligence_reference",
        "due_diligence_status",
    ),
    "material_shipped": (
        *_COMMON,
        "date",
        "customer_organisation_id",
        "customer_site_id",
        "material_category",
        "product_form",
        "quantity",
        "unit",
        "coc_quantity",
        "shipment_reference",
        "carbon_footprint_kg_co2e_per_kg",
    ),
    "plant_event_cancelled": (*_COMMON, "cancels_event_id", "reason"),
}
"""The columns each CSV `type` takes. `organisation_id` is the producer (the actor); `date` is
received_on or shipped_on; `event_id` may be empty (then derived from the row: `row_event_id`)."""
CSV_COLUMNS = tuple(dict.fromkeys(c for columns in COLUMNS_BY_TYPE.values() for c in columns))
_DATE_FIELD = {"material_received": "received_on", "material_shipped": "shipped_on"}
_ENVELOPE = {"type", "event_id", "occurred_at", "organisation_id", "correlation_id", "date"}
_NOT_CONTENT = {
    "event_id",
    "occurred_at",
    "correlation_id",
    "causation_id",
    "schema_version",
    "actor",
}
_ROW_NAMESPACE = uuid.UUID("0b3c5c1e-8f1a-4c52-9d0e-3b7a1f6a2c44")
_PLACEHOLDER = uuid.UUID(int=0)
T = TypeVar("T")

Row = tuple[int, int, Envelope | str]
"""(row number, bytes read so far, the row's event or the text of why it is invalid)."""


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


def row_event_id(event: Envelope) -> uuid.UUID:
    """The id of a row's event: uuid5 over the submitting organisation and the event's content in
    a canonical form (sorted fields, absent values left out, quantities as normalised decimals),
    leaving out the envelope (ids, times). The file's name and the row's position play no part."""
    dumped = event.model_dump(mode="python").items()
    content = _canonical({k: v for k, v in dumped if k not in _NOT_CONTENT})
    body = json.dumps(
        {"organisation_id": event.actor.organisation_id, "event": content},
        sort_keys=True,
        separators=(",", ":"),
    )
    return uuid.uuid5(_ROW_NAMESPACE, body)


def check_header(columns: list[str]) -> None:
    unknown = [c for c in columns if c not in CSV_COLUMNS]
    if unknown or "type" not in columns:
        problem = (
            "unknown columns in the CSV header: " + ", ".join(unknown)
            if unknown
            else "the CSV header has no `type` column"
        )
        raise FileError(f"{problem}; the columns are: {', '.join(CSV_COLUMNS)}")
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        raise FileError(f"columns repeated in the CSV header: {', '.join(repeated)}")


def row_to_event(row: dict[str, str]) -> Envelope:
    """One CSV row (header column -> cell) as a plant event (raises ValueError or
    ValidationError)."""
    values = {k: v.strip() for k, v in row.items() if v is not None and v.strip() != ""}
    kind = _checked_type(values)
    event = topics.PLANT_EVENTS.parse(json.dumps(_contract_json(kind, values)))
    return event if values.get("event_id") else _with_row_event_id(event, values)


def _checked_type(values: dict[str, str]) -> str:
    """The row's `type`, once the row is known to fill only the columns that type takes."""
    kind = values.get("type", "")
    if kind not in COLUMNS_BY_TYPE:
        raise ValueError(f"type must be one of {', '.join(COLUMNS_BY_TYPE)}, not {kind!r}")
    foreign = [c for c in values if c not in COLUMNS_BY_TYPE[kind]]
    if foreign:
        verb = "does" if len(foreign) == 1 else "do"
        raise ValueError(
            f"{', '.join(foreign)} {verb} not apply to {kind} "
            f"(its columns: {', '.join(COLUMNS_BY_TYPE[kind])})"
        )
    return kind


def _contract_json(kind: str, values: dict[str, str]) -> dict[str, Any]:
    """The row as the contract's JSON: its envelope, then the event's fields."""
    return {**_envelope(kind, values), **_fields(kind, values)}


def _envelope(kind: str, values: dict[str, str]) -> dict[str, Any]:
    """The envelope from the row's columns: a placeholder event id when the row has none
    (replaced by `_with_row_event_id`), the load time when it has no `occurred_at`, the producer as
    the actor."""
    given = values.get("event_id")
    organisation = values.get("organisation_id")
    actor = Actor(organisation_id=organisation, role=Role.PRODUCER) if organisation else None
    return {
        "type": kind,
        "event_id": given or str(_PLACEHOLDER),
        "occurred_at": values.get("occurred_at") or datetime.now(UTC).isoformat(),
        "correlation_id": values.get("correlation_id") or given or str(_PLACEHOLDER),
        "actor": actor.model_dump(mode="json") if actor else None,
    }


def _fields(kind: str, values: dict[str, str]) -> dict[str, str]:
    """The event's own fields: every other column, `date` under the type's name for it."""
    body = {k: v for k, v in values.items() if k not in _ENVELOPE}
    if kind in _DATE_FIELD and "date" in values:
        body[_DATE_FIELD[kind]] = values["date"]
    return body


def _with_row_event_id(event: Envelope, values: dict[str, str]) -> Envelope:
    """The event with the id derived from its content (`row_event_id`), also its correlation id
    unless the row gives one."""
    derived = row_event_id(event)
    update: dict[str, Any] = {"event_id": derived}
    if not values.get("correlation_id"):
        update["correlation_id"] = derived
    return event.model_copy(update=update)


def read_events(path: Path) -> Iterator[Row]:
    """(row number, bytes read so far, event or error text) for every non-empty row of the file."""
    try:
        raw = path.open("rb")
    except OSError as exc:
        raise FileError(f"cannot read {path}: {exc.strerror or exc}") from exc
    with raw:
        yield from (_csv_rows(raw) if path.suffix.lower() == ".csv" else _json_lines(raw))


def _csv_rows(raw: IO[bytes]) -> Iterator[Row]:
    """The header checked, then each row as a plant event (a row whose cells do not match the header
    is invalid: no cell is dropped or made up)."""
    columns = [c.strip() for c in next(csv.reader([raw.readline().decode("utf-8-sig")]), [])]
    check_header(columns)
    for line, data in enumerate(raw, start=2):
        text = data.decode("utf-8", errors="replace").strip()
        if not text:
            continue
        cells = next(csv.reader([text]))
        if len(cells) != len(columns):
            yield line, raw.tell(), _cell_count_problem(len(cells), len(columns))
            continue
        row = dict(zip(columns, cells, strict=True))
        yield line, raw.tell(), _try(row_to_event, row)


def _cell_count_problem(cells: int, columns: int) -> str:
    what = "extra cells are not dropped" if cells > columns else "cells are missing"
    return f"the row has {cells} cells and the header {columns} ({what})"


def _json_lines(raw: IO[bytes]) -> Iterator[Row]:
    for line, data in enumerate(raw, start=1):
        if data.strip():
            yield line, raw.tell(), _try(topics.PLANT_EVENTS.parse, data)


def _try(parse: Callable[[T], Envelope], raw: T) -> Envelope | str:
    """The parsed event, or why it does not parse (the first five validation errors)."""
    try:
        return parse(raw)
    except ValidationError as exc:
        return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:5])
    except ValueError as exc:
        return str(exc)
