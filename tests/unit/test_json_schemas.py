"""The published JSON Schemas (contracts/schemas/) read by a generic validator, as a team writing a
producer or consumer in another language would: `jsonschema` (2020-12), not pydantic.

Every message type of every topic is found by walking the topic unions in the code, so a type
added to contracts/ is covered here without touching this file."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from pydantic import ValidationError

from contracts.topics import TOPICS, dead_letter_topic
from devstack.asyncapi import JSON_SCHEMA_DIALECT, schema_id
from tests.schema_examples import Examples

SCHEMAS = Path(__file__).resolve().parents[2] / "contracts" / "schemas"
TOPICS_WITH_DLQ = [*TOPICS, dead_letter_topic(TOPICS[0])]


def published(topic) -> dict:
    name = "dead-letter.json" if topic.name.endswith(".dlq") else f"{topic.name}.json"
    return json.loads((SCHEMAS / name).read_text())


@cache
def validator(topic, tag: str | None = None) -> Draft202012Validator:
    """The published schema's validator, or one of a single branch of its union."""
    schema = published(topic)
    if tag is not None:
        schema = {"$defs": schema["$defs"], **Examples(schema).branches()[tag]}
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


CASES = [(topic, message.TYPE) for topic in TOPICS_WITH_DLQ for message in topic.message_types()]
IDS = [f"{topic.name}:{tag}" for topic, tag in CASES]


@pytest.mark.parametrize("path", sorted(SCHEMAS.glob("*.json")), ids=lambda p: p.name)
def test_every_schema_declares_its_dialect_and_a_stable_id_and_is_valid(path):
    schema = json.loads(path.read_text())
    assert schema["$schema"] == JSON_SCHEMA_DIALECT
    assert schema["$id"] == schema_id(path.name)
    Draft202012Validator.check_schema(schema)
    assert '"discriminator"' not in path.read_text(), "unions are plain oneOf with a const tag"


@pytest.mark.parametrize("topic", TOPICS_WITH_DLQ, ids=lambda t: t.name)
def test_every_union_is_a_oneof_whose_branches_require_a_const_type_tag(topic):
    examples = Examples(published(topic))
    for tag, branch in examples.branches().items():
        assert "type" in branch["required"], tag
        assert branch["additionalProperties"] is False, tag
    assert sorted(examples.branches()) == sorted(m.TYPE for m in topic.message_types()), (
        "the published schema lacks a message type of the code: run `make contracts`")


@pytest.mark.parametrize(("topic", "tag"), CASES, ids=IDS)
@pytest.mark.parametrize("full", [False, True], ids=["required-fields", "all-fields"])
def test_an_example_of_every_message_type_is_valid_picks_its_own_branch_and_is_a_real_message(topic, tag, full):
    examples = Examples(published(topic))
    message = examples.message(tag, full=full)

    assert list(validator(topic).iter_errors(message)) == []
    assert [t for t in examples.branches() if validator(topic, t).is_valid(message)] == [tag]
    assert topic.parse(json.dumps(message)).TYPE == tag  # the code takes what the schema lets through


def mutants(examples: Examples, tag: str):
    branch = examples.branches()[tag]
    message = examples.message(tag, full=True)
    for name in branch["required"]:
        yield f"without {name}", {k: v for k, v in message.items() if k != name}
    yield "an unknown type tag", {**message, "type": "material_teleported"}
    yield "another type's tag", {**message, "type": next(t for t in [*examples.branches(), "x"] if t != tag)}
    yield "an unknown field", {**message, "colour": "blue"}
    yield "a float where a string is due", {**message, "event_id": 12.5}
    nested = copy.deepcopy(message)
    nested["actor"]["role"] = "emperor"
    yield "a value outside an enum, nested", nested


@pytest.mark.parametrize(("topic", "tag"), CASES, ids=IDS)
def test_a_mutated_example_of_every_message_type_is_refused(topic, tag):
    examples = Examples(published(topic))
    accepted = [what for what, message in mutants(examples, tag) if validator(topic).is_valid(message)]
    assert accepted == []


@pytest.mark.parametrize("topic", TOPICS, ids=lambda t: t.name)
def test_a_mutated_example_is_refused_by_the_code_too(topic):
    examples = Examples(published(topic))
    tag = next(iter(examples.branches()))
    for what, message in mutants(examples, tag):
        if what.startswith("another type's tag") and len(examples.branches()) == 1:
            continue
        with pytest.raises(ValidationError):
            topic.parse(json.dumps(message))
