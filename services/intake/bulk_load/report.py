"""Every row's result as the file is read and answered, and the results file."""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from contracts.common import Envelope

RESULT_COLUMNS = ("row", "event_id", "status", "reasons")
NOT_SENT = ("invalid", "duplicate")
FINAL = ("accepted", "refused")
"""Statuses an answer read later does not change (a held event may still be accepted or refused)."""


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
        return sum(1 for r in self.rows if r.status not in NOT_SENT)

    @property
    def invalid(self) -> list[RowResult]:
        return [r for r in self.rows if r.status in NOT_SENT]

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
    """Each row's result as the file is read: invalid, a duplicate of an earlier row, or to be
    sent."""

    def __init__(self, report: Report) -> None:
        self.report = report
        self.by_id: dict[str, RowResult] = {}

    def add(self, row: int, event: Envelope | str) -> RowResult:
        """The row's result: `event` is the parsed event, or the text of why the row is invalid."""
        if isinstance(event, str):
            result = RowResult(row, "", "invalid", event)
        elif str(event.event_id) in self.by_id:
            first = self.by_id[str(event.event_id)].row
            result = RowResult(
                row,
                str(event.event_id),
                "duplicate",
                f"the same event id as row {first}; not sent again",
            )
        else:
            result = self.by_id[str(event.event_id)] = RowResult(row, str(event.event_id), "sent")
        self.report.rows.append(result)
        return result


def default_results_path(path: Path) -> Path:
    return path.with_name(path.name + ".results.csv")


def write_results(report: Report, path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(RESULT_COLUMNS)
        for r in sorted(report.rows, key=lambda r: r.row):
            writer.writerow((r.row, r.event_id, r.status, r.reasons))
    return path
