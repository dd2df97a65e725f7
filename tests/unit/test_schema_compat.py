"""The compatibility gate: a change to a released topic schema must let consumers read what was
written with the released one (a schema registry's BACKWARD rule), or come as a new topic version
published beside the old one."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from devstack.schema_compat import RELEASED, backward_problems, gate, load, main, release

CURRENT = Path(__file__).resolve().parents[2] / "contracts" / "schemas"


def message(**properties) -> dict:
    """A released message schema (closed, as every contract model is) with one union branch."""
    branch = {
        "type": "object", "additionalProperties": False,
        "properties": {"type": {"const": "thing_done", "type": "string"}, "event_id": {"type": "string", "format": "uuid"},
                       "quantity": {"type": "string", "pattern": r"^-?\d+(\.\d+)?$"},
                       "unit": {"enum": ["kg", "t"], "type": "string"},
                       "note": {"anyOf": [{"type": "string", "maxLength": 200}, {"type": "null"}], "default": None},
                       **properties},
        "required": ["type", "event_id", "quantity", "unit"],
    }
    return {"$defs": {"ThingDone": branch}, "oneOf": [{"$ref": "#/$defs/ThingDone"}], "title": "things.v1"}


def changed(schema: dict, edit) -> dict:
    schema = copy.deepcopy(schema)
    edit(schema["$defs"]["ThingDone"])
    return schema


RELEASED_SCHEMA = message()


@pytest.mark.parametrize(("what", "edit"), [
    ("a field removed", lambda b: b["properties"].pop("note")),
    ("a required field added", lambda b: (b["properties"].update(site={"type": "string"}), b["required"].append("site"))),
    ("an optional field made required", lambda b: b["required"].append("note")),
    ("a type tightened", lambda b: b["properties"].update(quantity={"type": "integer"})),
    ("null no longer allowed", lambda b: b["properties"].update(note={"type": "string", "maxLength": 200})),
    ("an enum value dropped", lambda b: b["properties"]["unit"].update(enum=["kg"])),
    ("a length tightened", lambda b: b["properties"]["note"]["anyOf"][0].update(maxLength=100)),
    ("a pattern changed", lambda b: b["properties"]["quantity"].update(pattern=r"^\d+$")),
    ("a format added", lambda b: b["properties"]["note"]["anyOf"][0].update(format="date")),
    ("a bound added", lambda b: b["properties"]["note"]["anyOf"][0].update(minLength=5)),
    ("a type tag changed", lambda b: b["properties"]["type"].update(const="thing_finished")),
    ("a keyword the gate does not know", lambda b: b["properties"]["quantity"].update(contentEncoding="base64")),
])
def test_breaking_changes_are_refused(what, edit):
    assert backward_problems(RELEASED_SCHEMA, changed(RELEASED_SCHEMA, edit)) != []


@pytest.mark.parametrize(("what", "edit"), [
    ("nothing", lambda b: None),
    ("an optional field added", lambda b: b["properties"].update(site={"anyOf": [{"type": "string"}, {"type": "null"}],
                                                                       "default": None})),
    ("a required field made optional", lambda b: b["required"].remove("unit")),
    ("an enum value added", lambda b: b["properties"]["unit"].update(enum=["kg", "t", "lb"])),
    ("a length loosened", lambda b: b["properties"]["note"]["anyOf"][0].update(maxLength=400)),
    ("a type widened", lambda b: b["properties"].update(quantity={"type": ["string", "integer"]})),
    ("descriptions reworded", lambda b: b["properties"]["unit"].update(description="Unit.", title="U")),
])
def test_compatible_changes_pass(what, edit):
    assert backward_problems(RELEASED_SCHEMA, changed(RELEASED_SCHEMA, edit)) == []


def test_a_new_message_type_passes_and_a_removed_one_fails():
    two = copy.deepcopy(RELEASED_SCHEMA)
    other = copy.deepcopy(two["$defs"]["ThingDone"])
    other["properties"]["type"]["const"] = "thing_undone"
    two["$defs"]["ThingUndone"] = other
    two["oneOf"].append({"$ref": "#/$defs/ThingUndone"})
    assert backward_problems(RELEASED_SCHEMA, two) == []
    assert backward_problems(two, RELEASED_SCHEMA) == ["$: message type 'thing_undone' removed"]


def test_a_breaking_change_fails_the_gate_and_passes_as_a_new_topic_version_beside_the_old_one():
    breaking = changed(RELEASED_SCHEMA, lambda b: b["required"].append("note"))
    released = {"things.v1.json": RELEASED_SCHEMA}

    in_place = gate(released, {"things.v1.json": breaking})
    assert in_place == ["things.v1.json: $[thing_done].note: now required (was optional)"]

    bumped_without_overlap = gate(released, {"things.v2.json": breaking})
    assert len(bumped_without_overlap) == 1 and "no longer published" in bumped_without_overlap[0]

    assert gate(released, {"things.v1.json": RELEASED_SCHEMA, "things.v2.json": breaking}) == []
    assert release({"things.v1.json": RELEASED_SCHEMA, "things.v2.json": breaking}, released) == ["things.v2.json"]
    assert release({"things.v1.json": breaking}, released) == [], "a breaking change is never released"


def test_the_real_schemas_against_a_breaking_and_a_compatible_edit():
    current = load(CURRENT)
    plant = current["plant.events.v1.json"]
    received = next(k for k in plant["$defs"] if k == "MaterialReceived")

    removed = copy.deepcopy(plant)
    del removed["$defs"][received]["properties"]["product_form"]
    removed["$defs"][received]["required"].remove("product_form")
    assert backward_problems(plant, removed) == ["$[material_received].product_form: field removed"]

    added = copy.deepcopy(plant)
    added["$defs"][received]["properties"]["lot"] = {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None}
    assert backward_problems(plant, added) == []


def test_every_released_topic_is_published_and_the_committed_schemas_pass_the_gate(capsys):
    assert "plant.events.v1.json" in load(RELEASED)
    assert main([]) == 0, capsys.readouterr().out
