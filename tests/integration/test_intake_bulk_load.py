"""The bulk loader against the real broker with intake running: send a file, report intake's answers."""

from __future__ import annotations

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
    ]
    path = tmp_path / "plant.csv"
    path.write_text("\n".join([",".join(CSV_COLUMNS)] + [",".join(r.get(c, "") for c in CSV_COLUMNS) for r in rows])
                    + "\nmaterial_received,,,,,,,,,,,,not-a-number\n")
    async with running(build_runtime, settings(stack)):
        await chain.register(sender)
        await sender.send(issued)
        report = await load(path, BulkSettings(kafka_bootstrap_servers=stack.kafka_bootstrap, wait_timeout_s=60),
                            wait=True, console=Console(file=StringIO()))
    assert report.sent == 4 and len(report.invalid) == 1
    assert (report.accepted, report.refused, report.unanswered) == (3, 1, 0)  # failed due diligence: non-CoC input
    assert dict(report.reasons) == {"due_diligence_missing": 1}
