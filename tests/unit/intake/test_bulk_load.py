"""The bulk loader's file reading and settings (no broker)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from contracts.plant import MaterialReceived, MaterialShipped, PlantEventCancelled
from services.intake.bulk_load import CSV_COLUMNS, BulkSettings, read_events
from tests.unit.intake.builders import received

HEADER = ",".join(CSV_COLUMNS)


def csv_file(tmp_path: Path, *rows: dict[str, str]) -> Path:
    path = tmp_path / "plant.csv"
    lines = [HEADER] + [",".join(row.get(c, "") for c in CSV_COLUMNS) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_csv_rows_become_plant_events(tmp_path):
    path = csv_file(
        tmp_path,
        {"type": "material_received", "organisation_id": "org-roll", "site_id": "site-roll", "date": "2026-05-25",
         "supplier_organisation_id": "org-smelt", "material_category": "aluminium", "product_form": "ingot",
         "quantity": "2.5", "unit": "t", "coc_document_id": "DOC-1"},
        {"type": "material_shipped", "organisation_id": "org-roll", "site_id": "site-roll", "date": "2026-05-27",
         "customer_organisation_id": "org-can", "material_category": "aluminium", "product_form": "coil",
         "quantity": "11", "unit": "t", "coc_quantity": "5", "shipment_reference": "DN-1"},
        {"type": "plant_event_cancelled", "organisation_id": "org-roll", "site_id": "site-roll",
         "cancels_event_id": "5f1f8d5e-3b4c-4c7e-9a0e-111111111111", "reason": "typo"},
        {"type": "material_received", "site_id": "site-roll", "quantity": "-1"},
    )
    rows = list(read_events(path))
    kinds = [type(event) for _, _, event in rows]
    assert kinds[:3] == [MaterialReceived, MaterialShipped, PlantEventCancelled]
    assert rows[0][2].quantity == Decimal("2.5") and rows[0][2].actor.organisation_id == "org-roll"
    assert rows[1][2].shipped_on.isoformat() == "2026-05-27"
    assert isinstance(rows[3][2], str) and rows[3][0] == 5
    again = list(read_events(path))
    assert again[0][2].event_id == rows[0][2].event_id, "a re-run sends the same ids"


def test_json_lines_are_the_contract_json(tmp_path):
    event = received()
    path = tmp_path / "plant.jsonl"
    path.write_text(event.model_dump_json() + "\n{broken\n\n")
    [(line, _, first), (line2, _, error)] = list(read_events(path))
    assert first == event and line == 1
    assert line2 == 2 and isinstance(error, str)


def test_settings_read_the_bulk_prefix_or_the_platform_variable(monkeypatch):
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "platform:9092")
    assert BulkSettings().kafka_bootstrap_servers == "platform:9092"
    monkeypatch.setenv("BULK_KAFKA_BOOTSTRAP_SERVERS", "bulk:9092")
    assert BulkSettings().kafka_bootstrap_servers == "bulk:9092"
    assert BulkSettings(kafka_bootstrap_servers="cli:9092").kafka_bootstrap_servers == "cli:9092"
