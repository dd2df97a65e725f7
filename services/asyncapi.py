"""Generates the committed contract documents: a JSON Schema per topic (every message of it) and an
AsyncAPI document per service, built from the services' own FastStream apps.

    python -m services.asyncapi          # write contracts/schemas and contracts/asyncapi
    python -m services.asyncapi --check  # exit 1 if the committed files drifted from the code
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from contracts.topics import TOPICS, dead_letter_topic

ROOT = Path(__file__).resolve().parent.parent / "contracts"


def topic_schemas() -> dict[str, dict[str, Any]]:
    schemas = {}
    for topic in TOPICS:
        schema = topic.adapter.json_schema(mode="validation")
        schema["title"] = topic.name
        schema["description"] = f"{topic.description} Key: {topic.key_description}. Written by: {', '.join(topic.writers)}."
        schemas[f"schemas/{topic.name}.json"] = schema
    dead = dead_letter_topic(TOPICS[0]).adapter.json_schema(mode="validation")
    dead["title"] = "<topic>.dlq"
    schemas["schemas/dead-letter.json"] = dead
    return schemas


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
        documents[f"asyncapi/{name}.json"] = _with_subscribed_payloads(json.loads(spec.to_specification().to_json()))
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
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


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
    return 0


if __name__ == "__main__":
    sys.exit(main())
