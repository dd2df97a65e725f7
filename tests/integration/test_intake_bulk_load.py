"""The bulk loader against the real broker with intake running: send a file, answer for every row."""

from __future__ import annotations

import asyncio
import csv
from io import StringIO

import pytest
from rich.console import Console

from services.intake.app import build_runtime
from services.intake.bulk_load import CSV_COLUMNS, BulkSettings, load
from tests.integration.test_intake_flow import Chain, settings
from tests.support import running

pytestmark = pytest.mark.integration


async def test_a_csv_file_is_loaded_and_answers_are_counted_by_reason(stack, sender, tmp_path):
    chain = Chain()
    issued = chain.document("2000")
    common = {"organisation_id": chain.roller, "site_id": chain.roller_site, "date": "2026-05-25",
              "supplier_organisation_id": chain.smelter, "material_category": "aluminium", "product_form": "ingot",
              "unit": "t", "type": "material_received"}
    rows = [
        {**common, "quantity": "2", "coc_document_id": issued.document.document_id},
        {**common, "quantity": "3", "due_diligence_status": "passed"},
        {**common, "quantity": "1"},  # non-CoC without due diligence
        {**common, "quantity": "1", "due_diligence_status": "failed"},
        {**common, "quantity": "7", "due_diligence_status": "passed", "site_id": "site-nobody-registered"},  # held
    ]
    lines = [",".join(r.get(c, "") for c in CSV_COLUMNS) for r in rows]
    path = tmp_path / "plant.csv"
    path.write_text("\n".join([",".join(CSV_COLUMNS), *lines, "material_received,,,,,,,,,,,,not-a-number"]) + "\n")
    renamed = tmp_path / "the same rows.csv"
    renamed.write_text("\n".join([",".join(CSV_COLUMNS), *reversed(lines)]) + "\n")
    # a held event must not keep --wait waiting: the wait may last 10 minutes, the load is done long before
    patient = BulkSettings(kafka_bootstrap_servers=stack.kafka_bootstrap, wait_timeout_s=600)
    async with running(build_runtime, settings(stack)):
        await chain.register(sender)
        await sender.send(issued)
        report = await asyncio.wait_for(load(path, patient, wait=True, console=Console(file=StringIO())), 120)
        again = await asyncio.wait_for(load(renamed, patient, wait=True, console=Console(file=StringIO()),
                                            results=tmp_path / "again.csv"), 120)
    assert report.sent == 5 and len(report.invalid) == 1
    assert (report.accepted, report.refused, report.held, report.unanswered) == (3, 1, 1, 0)  # failed DD: non-CoC input
    assert report.reasons["due_diligence_missing"] == 1 and "due_diligence_failed" not in report.reasons
    assert report.reasons["unknown_site"] == 1
    with (tmp_path / "plant.csv.results.csv").open() as handle:
        results = list(csv.DictReader(handle))
    assert [(r["row"], r["status"]) for r in results] == [
        ("2", "accepted"), ("3", "accepted"), ("4", "refused"), ("5", "accepted"), ("6", "held"), ("7", "invalid")]
    assert "due_diligence_missing" in results[2]["reasons"] and "unknown_site" in results[4]["reasons"]
    # the same rows in another file, in another order: the same events, with the answers intake gave them
    with (tmp_path / "again.csv").open() as handle:
        repeated = {r["event_id"]: r["status"] for r in csv.DictReader(handle)}
    assert repeated == {r["event_id"]: r["status"] for r in results if r["event_id"]}
