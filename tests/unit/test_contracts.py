"""The contracts: one envelope, exact quantities, strict models, documents kept in step with code."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from pydantic import BaseModel, ValidationError

from contracts.common import Actor, Envelope, Role, derived_event_id
from contracts.plant import MaterialReceived
from contracts.topics import ALL_TOPIC_NAMES, PLANT_EVENTS, TOPICS, topic_for

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def receipt(**overrides) -> dict:
    message = MaterialReceived.create(
        actor=Actor(organisation_id="org-a", role=Role.PRODUCER), occurred_at=NOW, site_id="site-a",
        received_on=date(2026, 5, 30), supplier_organisation_id="org-b", material_category="aluminium",
        product_form="ingot", quantity="22.5", unit="t",
    )
    return {**json.loads(message.model_dump_json()), **overrides}


def all_models() -> list[type[BaseModel]]:
    seen: dict[str, type[BaseModel]] = {}

    def walk(model: type[BaseModel]) -> None:
        if model.__name__ in seen:
            return
        seen[model.__name__] = model
        for field in model.model_fields.values():
            for candidate in _types_in(field.annotation):
                if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                    walk(candidate)

    for topic in TOPICS:
        for message in topic.message_types():
            walk(message)
    return list(seen.values())


def _types_in(annotation) -> list:
    from typing import get_args

    args = get_args(annotation)
    return [annotation, *[t for a in args for t in _types_in(a)]]


def test_topics_are_named_as_agreed():
    assert [t.name for t in TOPICS] == [
        "plant.events.v1", "intake.rejections.v1", "material.movements.v1", "ledger.commands.v1",
        "ledger.events.v1", "claims.requests.v1", "claims.decisions.v1", "audits.outcomes.v1",
        "certificates.commands.v1", "certificates.events.v1", "certificates.rejections.v1",
    ]
    assert "plant.events.v1.dlq" in ALL_TOPIC_NAMES


@pytest.mark.parametrize("model", all_models(), ids=lambda m: m.__name__)
def test_every_model_is_frozen_strict_and_documented(model):
    assert model.model_config.get("frozen") is True
    assert model.model_config.get("extra") == "forbid"
    undocumented = [name for name, field in model.model_fields.items() if not field.description]
    assert undocumented == []


def test_every_message_carries_the_envelope_and_a_unique_type_tag():
    tags = []
    for topic in TOPICS:
        for message in topic.message_types():
            assert issubclass(message, Envelope)
            assert {"event_id", "type", "schema_version", "occurred_at", "correlation_id", "causation_id", "actor"} <= set(
                message.model_fields)
            tags.append(message.TYPE)
    assert len(tags) == len(set(tags))


def test_a_message_round_trips_through_json_exactly():
    parsed = PLANT_EVENTS.parse(json.dumps(receipt()))
    assert str(parsed.quantity) == "22.5"
    assert PLANT_EVENTS.parse(parsed.model_dump_json()) == parsed
    assert topic_for(parsed) is PLANT_EVENTS and PLANT_EVENTS.key_of(parsed) == "site-a"


@pytest.mark.parametrize("bad", [12.5, "-1", "0", "NaN", "Infinity", True, "1e400", "abc"])
def test_quantities_refuse_floats_and_non_positive_or_non_finite_values(bad):
    with pytest.raises(ValidationError):
        PLANT_EVENTS.parse(json.dumps(receipt(quantity=bad)))


def test_integers_and_decimal_strings_are_exact():
    assert str(PLANT_EVENTS.parse(json.dumps(receipt(quantity=7))).quantity) == "7"
    assert str(PLANT_EVENTS.parse(json.dumps(receipt(quantity="0.000000001"))).quantity) == "1E-9"


def test_unknown_fields_and_unknown_type_tags_are_refused():
    with pytest.raises(ValidationError):
        PLANT_EVENTS.parse(json.dumps(receipt(colour="blue")))
    with pytest.raises(ValidationError) as err:
        PLANT_EVENTS.parse(json.dumps(receipt(type="material_teleported")))
    assert err.value.errors()[0]["type"] == "union_tag_invalid"


def test_times_must_carry_a_zone_and_are_kept_in_utc():
    with pytest.raises(ValidationError):
        PLANT_EVENTS.parse(json.dumps(receipt(occurred_at="2026-06-01T12:00:00")))
    parsed = PLANT_EVENTS.parse(json.dumps(receipt(occurred_at="2026-06-01T14:00:00+02:00")))
    assert parsed.occurred_at == datetime(2026, 6, 1, 12, tzinfo=UTC)
    assert parsed.occurred_at.utcoffset() == timedelta(0)
    assert parsed.occurred_at.tzinfo in (UTC, timezone.utc)


def test_models_are_immutable():
    parsed = PLANT_EVENTS.parse(json.dumps(receipt()))
    with pytest.raises(ValidationError):
        parsed.quantity = 1  # type: ignore[misc]


def test_caused_messages_share_the_correlation_and_name_their_cause():
    cause = PLANT_EVENTS.parse(json.dumps(receipt()))
    effect = MaterialReceived.create(actor=cause.actor, occurred_at=NOW, cause=cause, site_id="s",
                                     received_on=date(2026, 1, 1), supplier_organisation_id="o",
                                     material_category="alumina", product_form="powder", quantity=1, unit="kg")
    assert effect.correlation_id == cause.correlation_id and effect.causation_id == cause.event_id
    assert derived_event_id(cause.event_id, "x") == derived_event_id(cause.event_id, "x") != derived_event_id(
        cause.event_id, "y")
    assert isinstance(derived_event_id(uuid.uuid4()), uuid.UUID)


def test_committed_json_schemas_and_asyncapi_documents_match_the_code():
    result = subprocess.run([sys.executable, "-m", "devstack.asyncapi", "--check"], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
