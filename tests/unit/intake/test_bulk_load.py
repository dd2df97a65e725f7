"""The bulk loader's file reading and settings (no broker)."""

from __future__ import annotations

import csv
import os
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from contracts import topics
from contracts.common import Reason
from contracts.intake import PlantEventHeld, PlantEventRejected
from contracts.plant import MaterialReceived, MaterialShipped, PlantEventCancelled
from libs import runfile
from libs.runfile import NoPlatformRunning
from services.intake.bulk_load import (
    COLUMNS_BY_TYPE,
    CSV_COLUMNS,
    BulkSettings,
    FileError,
    Report,
    RowBook,
    RowResult,
    record_answer,
    read_events,
    write_results,
)
from tests.unit.intake.builders import producer
from tests.unit.intake.builders import NOW, received

HEADER = ",".join(CSV_COLUMNS)


def csv_file(tmp_path: Path, *rows: dict[str, str], name: str = "plant.csv") -> Path:
    path = tmp_path / name
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


RECEIVED = {"type": "material_received", "organisation_id": "org-roll", "site_id": "site-roll", "date": "2026-05-25",
            "supplier_organisation_id": "org-smelt", "material_category": "aluminium", "product_form": "ingot",
            "quantity": "2.5", "unit": "t", "coc_document_id": "DOC-1"}
SHIPPED = {"type": "material_shipped", "organisation_id": "org-roll", "site_id": "site-roll", "date": "2026-05-27",
           "customer_organisation_id": "org-can", "material_category": "aluminium", "product_form": "coil",
           "quantity": "11", "unit": "t", "coc_quantity": "5", "shipment_reference": "DN-1"}


def ids(path: Path) -> list[str]:
    return [str(event.event_id) for _, _, event in read_events(path)]


def test_row_ids_come_from_the_content_and_the_organisation_not_the_file_or_the_line(tmp_path):
    first = csv_file(tmp_path, RECEIVED, SHIPPED)
    renamed = tmp_path / "other" / "renamed.csv"
    renamed.parent.mkdir()
    renamed.write_text("\n".join([HEADER, "", ",".join(SHIPPED.get(c, "") for c in CSV_COLUMNS), "",
                                  ",".join({**RECEIVED, "quantity": "2.50"}.get(c, "") for c in CSV_COLUMNS)]) + "\n")
    assert sorted(ids(first)) == sorted(ids(renamed)), "the same rows in another file are the same events"
    other_org = csv_file(tmp_path, {**RECEIVED, "organisation_id": "org-other"}, name="org.csv")
    other_mass = csv_file(tmp_path, {**RECEIVED, "quantity": "2.6"}, name="mass.csv")
    assert ids(other_org)[0] != ids(first)[0] and ids(other_mass)[0] != ids(first)[0]
    [(_, _, event)] = list(read_events(csv_file(tmp_path, RECEIVED, name="one.csv")))
    assert event.correlation_id == event.event_id


def test_a_given_event_id_is_kept(tmp_path):
    given = "5f1f8d5e-3b4c-4c7e-9a0e-222222222222"
    assert ids(csv_file(tmp_path, {**RECEIVED, "event_id": given})) == [given]


def test_extra_or_missing_cells_are_errors_not_dropped(tmp_path):
    path = tmp_path / "plant.csv"
    row = ",".join(RECEIVED.get(c, "") for c in CSV_COLUMNS)
    path.write_text("\n".join([HEADER, row + ",surprise", row.rsplit(",", 1)[0], row]) + "\n")
    [(line2, _, extra), (line3, _, missing), (line4, _, good)] = list(read_events(path))
    assert (line2, line3, line4) == (2, 3, 4)
    assert isinstance(extra, str) and "extra cells" in extra
    assert isinstance(missing, str) and "missing" in missing
    assert isinstance(good, MaterialReceived)


def test_a_value_in_a_column_its_type_does_not_take_is_an_error(tmp_path):
    rows = list(read_events(csv_file(tmp_path, {**RECEIVED, "shipment_reference": "DN-9"},
                                     {**SHIPPED, "due_diligence_status": "passed"})))
    assert [isinstance(event, str) for _, _, event in rows] == [True, True]
    assert "shipment_reference does not apply to material_received" in rows[0][2]
    assert "due_diligence_status does not apply to material_shipped" in rows[1][2]


def test_every_csv_column_is_documented_for_some_type():
    assert set(CSV_COLUMNS) == {c for columns in COLUMNS_BY_TYPE.values() for c in columns}
    assert set(COLUMNS_BY_TYPE) == {"material_received", "material_shipped", "plant_event_cancelled"}


def test_an_unknown_column_in_the_header_rejects_the_file(tmp_path):
    path = tmp_path / "plant.csv"
    path.write_text(HEADER + ",colour\n" + ",".join(RECEIVED.get(c, "") for c in CSV_COLUMNS) + ",red\n")
    with pytest.raises(FileError, match="unknown columns in the CSV header: colour"):
        list(read_events(path))


def test_every_row_gets_a_result_and_a_repeated_row_is_one_event(tmp_path):
    rows = [RECEIVED, RECEIVED] + [{"type": "material_received", "quantity": str(n)} for n in range(30)]
    report = Report()
    book = RowBook(report)
    for line, _, event in read_events(csv_file(tmp_path, *rows)):
        book.add(line, event)
    statuses = [r.status for r in report.rows]
    assert statuses == ["sent", "duplicate"] + ["invalid"] * 30
    assert "row 2" in report.rows[1].reasons and report.rows[1].event_id == report.rows[0].event_id
    out = write_results(report, tmp_path / "results.csv")
    with out.open() as handle:
        written = list(csv.DictReader(handle))
    assert [int(r["row"]) for r in written] == list(range(2, 34))
    assert list(written[0]) == ["row", "event_id", "status", "reasons"]
    assert all(r["reasons"] for r in written[2:]) and written[0]["event_id"] == report.rows[0].event_id


def _answers(event_ids: list[str]) -> dict[str, RowResult]:
    return {i: RowResult(n, i, "sent") for n, i in enumerate(event_ids, start=2)}


def test_a_held_event_is_answered_held_and_a_later_answer_replaces_it():
    held_event, refused_event = received(), received()
    by_id = _answers([str(held_event.event_id), str(refused_event.event_id)])
    why = Reason(code="unknown_site", message="site site-x is not registered", field="site_id")
    held = PlantEventHeld.create(actor=producer("intake"), occurred_at=NOW, site_id="site-x", held_event_id=held_event.event_id,
                                 waiting_for=[why], retry_until=NOW + timedelta(minutes=10))
    rejected = PlantEventRejected.create(
        actor=producer("intake"), occurred_at=NOW, site_id="site-x", rejected_event_id=refused_event.event_id,
        rejected_event_type="material_received", message="refused",
        reasons=[Reason(code="due_diligence_missing", message="no due diligence")])
    rejections = topics.INTAKE_REJECTIONS
    assert record_answer(rejections.name, rejections.encode(held), by_id) == str(held_event.event_id)
    assert by_id[str(held_event.event_id)].status == "held" and "unknown_site" in by_id[str(held_event.event_id)].reasons
    assert record_answer(rejections.name, rejections.encode(rejected), by_id) == str(refused_event.event_id)
    assert by_id[str(refused_event.event_id)].codes == ("due_diligence_missing",)
    late = held.model_copy(update={"held_event_id": refused_event.event_id})
    assert record_answer(rejections.name, rejections.encode(late), by_id) is None, "a final answer is not undone"
    assert by_id[str(refused_event.event_id)].status == "refused"
    assert record_answer(rejections.name, b"{not json", by_id) is None


def test_settings_come_from_the_running_platform_unless_the_environment_says_otherwise(tmp_path, monkeypatch):
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.delenv("BULK_KAFKA_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.setenv("ASI_DATA_DIR", str(tmp_path))
    with pytest.raises(NoPlatformRunning, match="make run"):
        BulkSettings.from_platform()
    runfile.write(str(tmp_path), runfile.PlatformRecord(
        kafka_bootstrap_servers="127.0.0.1:39092", mongodb_uri="mongodb://127.0.0.1:37017/", gateway_url="http://x",
        secretariat_key="k", pid=os.getpid(), started_at="2026-12-02T00:00:00+00:00"))
    assert BulkSettings.from_platform().kafka_bootstrap_servers == "127.0.0.1:39092"
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "platform:9092")
    assert BulkSettings.from_platform().kafka_bootstrap_servers == "platform:9092"
    assert BulkSettings.from_platform(kafka_bootstrap_servers="cli:9092").kafka_bootstrap_servers == "cli:9092"
