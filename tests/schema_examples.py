"""Example messages built from the published JSON Schemas alone, the way a team in another language
would build them: walk the schema, take each `const`, the first enum value, a value of each format.

`minimal` fills only required properties; `full` fills every property (optional ones too), so both
the smallest and the largest message of a type are checked against the schema and the code.
"""

from __future__ import annotations

import uuid
from typing import Any

SAMPLES_BY_PATTERN = {
    r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$": "sample-1",
    r"^-?\d+(\.\d+)?$": "1",  # within every decimal type's bounds (a Share is at most 1, a Factor at most 10)
    r"^[A-Z]{2}$": "NO",
    r"^2\.\d+\.\d+(-\d{8})?$": "2.2.0",  # PACT specVersion (contracts/pact.py)
    r"^[uU][rR][nN]:": "urn:sample:1",
    r"^AR\d+$": "AR6",
    r"^[+-]?\d+(\.\d+)?$": "1",
    r"^[+]?\d+(\.\d+)?$": "1",
    r"^(-\d+(\.\d+)?|0+(\.0+)?)$": "-1",
    r"^[A-Z]{2}-[A-Z0-9]{1,3}$": "NO-03",
}
FIELD_SAMPLES: dict[tuple[str, str], object] = {}
"""(type tag, top-level field) -> value, for the rare field whose value the code ties to another
(a cross-field rule the schema cannot state). Empty today: every example is built from the schema."""
SAMPLES_BY_FORMAT = {
    "date": "2026-06-01",
    "date-time": "2026-06-01T12:00:00Z",
    "email": "someone@example.com",
    "uri": "https://example.com/x",
}


class Examples:
    """Builds examples of one schema document (its `$ref`s point into its own `$defs`)."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self._ids = 0

    def branches(self) -> dict[str, dict[str, Any]]:
        """The union's branches by their `type` tag."""
        found = {}
        for branch in self.document["oneOf"]:
            target = self.resolve(branch)
            found[target["properties"]["type"]["const"]] = target
        return found

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            node: Any = self.document
            for part in schema["$ref"].removeprefix("#/").split("/"):
                node = node[part]
            schema = node
        return schema

    def message(self, tag: str, *, full: bool) -> dict[str, Any]:
        """An example message of the union's branch `tag`."""
        message = self.build(self.branches()[tag], full=full)
        for (tagged, field), value in FIELD_SAMPLES.items():
            if tagged == tag and (full or field in message):
                message[field] = value
        return message

    def build(self, schema: dict[str, Any], *, full: bool) -> Any:
        schema = self.resolve(schema)
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            return schema["enum"][0]
        for key in ("oneOf", "anyOf"):
            if key in schema:
                choices = [
                    s for s in schema[key] if self.resolve(s).get("type") != "null"
                ] or schema[key]
                return self.build(choices[0], full=full)
        if "allOf" in schema:
            return self.build(schema["allOf"][0], full=full)
        kind = schema.get("type")
        if kind == "object":
            properties = schema.get("properties", {})
            names = list(properties) if full else schema.get("required", [])
            value = {name: self.build(properties[name], full=full) for name in names}
            extra = schema.get("additionalProperties")
            if not properties and isinstance(extra, dict):
                value = {"sample-key": self.build(extra, full=full)}
            return value
        if kind == "array":
            count = max(schema.get("minItems", 0), 1)
            return [self.build(schema.get("items", {}), full=full) for _ in range(count)]
        if kind == "string":
            return self._string(schema)
        if kind == "integer":
            return max(schema.get("minimum", 1), schema.get("exclusiveMinimum", 0) + 1)
        if kind == "number":  # PACT's percentages and quality ratings (contracts/pact.py)
            return schema.get("minimum", schema.get("maximum", 1))
        if kind == "boolean":
            return False
        if kind == "null":
            return None
        raise LookupError(
            f"no example for schema {schema}: teach tests/schema_examples.py this kind"
        )

    def _string(self, schema: dict[str, Any]) -> str:
        if schema.get("format") == "uuid":
            self._ids += 1
            return str(uuid.UUID(int=self._ids))
        if "format" in schema:
            if schema["format"] not in SAMPLES_BY_FORMAT:
                raise LookupError(
                    f"no sample for format {schema['format']!r}: add one to SAMPLES_BY_FORMAT"
                )
            return SAMPLES_BY_FORMAT[schema["format"]]
        if "pattern" in schema:
            if schema["pattern"] not in SAMPLES_BY_PATTERN:
                raise LookupError(
                    f"no sample for pattern {schema['pattern']!r}: add one to SAMPLES_BY_PATTERN"
                )
            return SAMPLES_BY_PATTERN[schema["pattern"]]
        return "x" * max(schema.get("minLength", 1), 1)
