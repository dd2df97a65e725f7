"""Generates the committed contract documents: a JSON Schema per topic (every message of it) and an
AsyncAPI document per service, built from the services' own FastStream apps.

    python -m devstack.asyncapi          # write contracts/schemas and contracts/asyncapi, then release the
                                         # compatible schema changes to contracts/released (devstack/schema_compat.py)
    python -m devstack.asyncapi --check  # exit 1 if the committed files drifted from the code
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from contracts.topics import TOPICS, dead_letter_topic

ROOT = Path(__file__).resolve().parent.parent / "contracts"
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_ID_BASE = "https://schemas.asi-coc.example/"
"""Base of every schema's `$id`: a stable name (the `.example` domain is reserved: it is never fetched).
The gateway serves the same files at /asyncapi/schemas/<file>."""


def schema_id(file_name: str) -> str:
    return SCHEMA_ID_BASE + file_name


def topic_schemas() -> dict[str, dict[str, Any]]:
    schemas = {}
    for topic in TOPICS:
        schema = topic.adapter.json_schema(mode="validation")
        schemas[f"schemas/{topic.name}.json"] = _self_describing(
            _plain_unions(schema, keep_discriminator=False), f"{topic.name}.json", topic.name,
            f"{topic.description} Key: {topic.key_description}. Written by: {', '.join(topic.writers)}.",
        )
    dead = dead_letter_topic(TOPICS[0]).adapter.json_schema(mode="validation")
    schemas["schemas/dead-letter.json"] = _self_describing(
        _plain_unions(dead, keep_discriminator=False), "dead-letter.json", "<topic>.dlq", dead.get("description"),
    )
    return schemas


def _self_describing(schema: dict[str, Any], file_name: str, title: str, description: str | None) -> dict[str, Any]:
    head: dict[str, Any] = {"$schema": JSON_SCHEMA_DIALECT, "$id": schema_id(file_name), "title": title}
    if description:
        head["description"] = description
    return {**head, **{k: v for k, v in schema.items() if k not in head}}


def _plain_unions(document: dict[str, Any], *, keep_discriminator: bool) -> dict[str, Any]:
    """Turn pydantic's OpenAPI-style discriminated unions (`discriminator: {propertyName, mapping}`)
    into what generic tools read: every branch of the `oneOf` requires its `const` type tag (pydantic
    refuses a message without it, so the schema says so too) and the `discriminator` object goes.
    In AsyncAPI documents `keep_discriminator` leaves AsyncAPI's own form, the property name as a string."""

    def resolve(ref: str) -> dict[str, Any]:
        node: Any = document
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]
        return node

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
            return
        if not isinstance(node, dict):
            return
        tag = node.get("discriminator")
        if isinstance(tag, dict) and "propertyName" in tag and "oneOf" in node:
            name = tag["propertyName"]
            for branch in node["oneOf"]:
                target = resolve(branch["$ref"]) if "$ref" in branch else branch
                if "const" not in target.get("properties", {}).get(name, {}):
                    raise ValueError(f"a branch of a discriminated union has no const {name!r}: {branch}")
                required = target.setdefault("required", [])
                if name not in required:
                    required.insert(0, name)
            if keep_discriminator:
                node["discriminator"] = name
            else:
                del node["discriminator"]
        for value in node.values():
            walk(value)

    walk(document)
    return document


def service_documents() -> dict[str, dict[str, Any]]:
    from services.accounting.app import build_runtime as accounting
    from services.accounting.config import Settings as AccountingSettings
    from services.certificates.app import build_runtime as certificates
    from services.certificates.config import Settings as CertificatesSettings
    from services.claims.app import build_runtime as claims
    from services.claims.config import Settings as ClaimsSettings
    from services.intake.app import build_runtime as intake
    from services.intake.config import Settings as IntakeSettings

    documents = {}
    for name, build, settings in (
        ("intake", intake, IntakeSettings),
        ("accounting", accounting, AccountingSettings),
        ("claims", claims, ClaimsSettings),
        ("certificates", certificates, CertificatesSettings),
    ):
        runtime = build(settings(kafka_bootstrap_servers="kafka:9092"))
        spec = runtime.specification(f"ASI {name} service", schema_version="3.0.0")
        document = _with_subscribed_payloads(json.loads(spec.to_specification().to_json()))
        documents[f"asyncapi/{name}.json"] = _plain_unions(document, keep_discriminator=True)
    return documents


def _with_subscribed_payloads(document: dict[str, Any]) -> dict[str, Any]:
    """Subscribers take raw records (the runtime parses them, to dead-letter what does not parse),
    so FastStream sees no payload type: fill in each subscribed topic's contract schema."""
    from contracts.topics import BY_NAME

    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("EmptyPayload", None)
    for name, message in document["components"].get("messages", {}).items():
        if not name.endswith(":SubscribeMessage"):
            continue
        topic = BY_NAME[name.split(":")[1]]
        schema = topic.adapter.json_schema(mode="validation", ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[f"{topic.name}:Payload"] = schema
        message["payload"] = {"$ref": f"#/components/schemas/{topic.name}:Payload"}
    return document


def render(document: dict[str, Any]) -> str:
    """Keys sorted (a stable diff), except that a JSON Schema opens with `$schema`, `$id` and its title."""
    document = _sorted(document)
    keys = ("$schema", "$id", "title", "description") if "$schema" in document else ()
    head = {key: document.pop(key) for key in keys if key in document}
    return json.dumps({**head, **document}, indent=2) + "\n"


GATEWAY_ONLY = frozenset({"x-request-pattern"})
"""Schema keys for the gateway's request bodies (contracts/common.py), not part of the topics' documents."""


def _sorted(node: Any) -> Any:
    if isinstance(node, dict):
        return {key: _sorted(node[key]) for key in sorted(node) if key not in GATEWAY_ONLY}
    if isinstance(node, list):
        return [_sorted(item) for item in node]
    return node


def generated() -> dict[str, str]:
    return {path: render(doc) for path, doc in {**topic_schemas(), **service_documents()}.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    drifted = []
    for path, text in generated().items():
        target = ROOT / path
        if args.check:
            if not target.exists() or target.read_text() != text:
                drifted.append(path)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
    if drifted:
        print("contract documents drifted from the code (run `make contracts`):", *drifted, sep="\n  ")
        return 1
    if not args.check:
        from devstack import schema_compat

        return schema_compat.main(["--release"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
