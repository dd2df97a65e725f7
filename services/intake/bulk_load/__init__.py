"""Bulk load for producers: stream a file of plant events to `plant.events.v1`, then answer for
every row.

    python -m services.intake.bulk_load FILE.jsonl|FILE.csv [--wait] [--timeout S]
                                        [--results OUT.csv] [--bootstrap HOST:PORT]

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
(`row_event_id`), so the same rows in any file, loaded any number of times, are one set of events;
two rows of one file with the same content are one event (the second is reported `duplicate`: give
it an `event_id` or a reference that tells it apart if it is a second delivery).
The broker is the platform's that `make run` started (`.run/platform.json`), unless `--bootstrap`,
`BULK_KAFKA_BOOTSTRAP_SERVERS` or `KAFKA_BOOTSTRAP_SERVERS` say otherwise.

The parts: `rows` (reading the file into events), `report` (every row's result, the results file),
`answers` (intake's answer to a row), `loader` (sending, collecting the answers), `settings`, `cli`.
"""

from services.intake.bulk_load.answers import record_answer
from services.intake.bulk_load.cli import main, show
from services.intake.bulk_load.loader import load
from services.intake.bulk_load.report import (
    RESULT_COLUMNS,
    Report,
    RowBook,
    RowResult,
    default_results_path,
    write_results,
)
from services.intake.bulk_load.rows import (
    COLUMNS_BY_TYPE,
    CSV_COLUMNS,
    FileError,
    check_header,
    read_events,
    row_event_id,
    row_to_event,
)
from services.intake.bulk_load.settings import BulkSettings

__all__ = [
    "COLUMNS_BY_TYPE",
    "CSV_COLUMNS",
    "RESULT_COLUMNS",
    "BulkSettings",
    "FileError",
    "Report",
    "RowBook",
    "RowResult",
    "check_header",
    "default_results_path",
    "load",
    "main",
    "read_events",
    "record_answer",
    "row_event_id",
    "row_to_event",
    "show",
    "write_results",
]
