"""`python -m services.intake.bulk_load`: the command line and the summary it prints."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from libs import cli
from services.intake.bulk_load.loader import load
from services.intake.bulk_load.report import Report
from services.intake.bulk_load.settings import BulkSettings

DESCRIPTION = (
    "Bulk load for producers: stream a file of plant events to `plant.events.v1`, "
    "then answer for every row."
)


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
    parser = argparse.ArgumentParser(
        prog="python -m services.intake.bulk_load", description=DESCRIPTION
    )
    parser.add_argument("file", type=Path, help="plant events as JSON lines (.jsonl) or CSV (.csv)")
    parser.add_argument(
        "--bootstrap",
        help="Kafka bootstrap servers (default: BULK_/KAFKA_BOOTSTRAP_SERVERS, "
        "else the platform `make run` started)",
    )
    parser.add_argument(
        "--wait", action="store_true", help="wait for intake's answers and report them"
    )
    parser.add_argument("--timeout", type=float, help="seconds to wait for answers")
    parser.add_argument(
        "--results", type=Path, help="where to write every row's result (default FILE.results.csv)"
    )
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
        report = asyncio.run(
            load(args.file, settings, wait=args.wait, console=console, results=args.results)
        )
        show(report, console, args.wait)
        return 1 if report.invalid or report.unanswered else 0

    return cli.run(command)
