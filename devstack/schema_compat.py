"""The compatibility gate of the topic schemas: what a schema registry checks in BACKWARD mode.

The released schema of every topic version is kept in contracts/released/<file> (the latest
version consumers were given). A current schema (contracts/schemas/<file>) is BACKWARD compatible
with it when consumers reading with the new schema can read every message written with the old
one: adding an optional field or a new message type is fine; removing a field, adding a required
field, tightening a type, an enum, a length, a bound or a pattern, or dropping a message type is
not. Such a change needs a new topic version (`<topic>.v2`) published beside the old one during the
overlap (contracts/README.md).

    python -m devstack.schema_compat            # exit 1 on a breaking change or a released topic gone
    python -m devstack.schema_compat --release  # also release the compatible changes (what `make contracts` does)
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

CONTRACTS = Path(__file__).resolve().parent.parent / "contracts"
CURRENT = CONTRACTS / "schemas"
RELEASED = CONTRACTS / "released"

DESCRIPTIVE = {
    "title",
    "description",
    "default",
    "examples",
    "$comment",
    "deprecated",
    "readOnly",
    "writeOnly",
    "discriminator",
    "$schema",
    "$id",
    "$defs",
}
CHECKED = {
    "$ref",
    "type",
    "const",
    "enum",
    "oneOf",
    "anyOf",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minLength",
    "maxLength",
    "pattern",
    "format",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minProperties",
    "maxProperties",
}
UNION = ("oneOf", "anyOf")


class _Comparison:
    """Compares a schema an old writer used with the schema a new reader uses (each resolving its own `$ref`s)."""

    def __init__(self, old_document: dict[str, Any], new_document: dict[str, Any]) -> None:
        self.old_document, self.new_document = old_document, new_document
        self._seen: set[tuple[int, int]] = set()

    def problems(self, old: Any, new: Any, at: str) -> list[str]:
        old, new = _resolve(self.old_document, old), _resolve(self.new_document, new)
        if new is True or new == {} or old is False:
            return []
        if new is False:
            return [f"{at}: refuses everything"]
        if old is True:
            old = {}
        pair = (id(old), id(new))
        if pair in self._seen:  # a recursive schema: assumed compatible on the way round
            return []
        self._seen.add(pair)
        try:
            if _is_union(old) or _is_union(new):
                return self._union(old, new, at)
            return list(self._single(old, new, at))
        finally:
            self._seen.discard(pair)

    def _union(self, old: dict[str, Any], new: dict[str, Any], at: str) -> list[str]:
        """Every branch of the old union must be read by a branch of the new one (by type tag when tagged)."""
        new_branches = _branches(self.new_document, new)
        new_by_tag = {_tag(self.new_document, b): b for b in new_branches}
        found: list[str] = []
        for branch in _branches(self.old_document, old):
            tag = _tag(self.old_document, branch)
            if tag is not None and None not in new_by_tag:
                if tag not in new_by_tag:
                    found.append(f"{at}: message type {tag!r} removed")
                else:
                    found += self.problems(branch, new_by_tag[tag], f"{at}[{tag}]")
                continue
            attempts = [self.problems(branch, candidate, at) for candidate in new_branches]
            if all(attempts):
                found += min(attempts, key=len)
        return found

    def _single(self, old: dict[str, Any], new: dict[str, Any], at: str) -> Iterator[str]:
        for keyword in sorted(set(new) - DESCRIPTIVE - CHECKED):
            if new[keyword] != old.get(keyword):
                yield f"{at}: keyword {keyword!r} changed (the gate cannot tell whether it is compatible)"
        yield from _types(old, new, at)
        yield from _values(old, new, at)
        yield from _bounds(old, new, at)
        if "pattern" in new and new["pattern"] != old.get("pattern"):
            yield f"{at}: pattern {new['pattern']!r} (was {old.get('pattern')!r})"
        if "format" in new and new["format"] != old.get("format"):
            yield f"{at}: format {new['format']!r} (was {old.get('format')!r})"
        if new.get("uniqueItems") and not old.get("uniqueItems"):
            yield f"{at}: items must now be unique"
        if "items" in new:
            yield from self.problems(old.get("items", True), new["items"], f"{at}[]")
        if "properties" in new or "required" in new or "additionalProperties" in new:
            yield from self._object(old, new, at)

    def _object(self, old: dict[str, Any], new: dict[str, Any], at: str) -> Iterator[str]:
        old_properties, new_properties = old.get("properties", {}), new.get("properties", {})
        old_extra, new_extra = (
            old.get("additionalProperties", True),
            new.get("additionalProperties", True),
        )
        for name in sorted(set(new.get("required", [])) - set(old.get("required", []))):
            yield f"{at}.{name}: now required (was {'optional' if name in old_properties else 'absent'})"
        for name, schema in old_properties.items():
            if name in new_properties:
                yield from self.problems(schema, new_properties[name], f"{at}.{name}")
            elif new_extra is False:
                yield f"{at}.{name}: field removed"
            else:
                yield from self.problems(schema, new_extra, f"{at}.{name}")
        if old_extra is not False:
            for name in sorted(set(new_properties) - set(old_properties)):
                yield from self.problems(old_extra, new_properties[name], f"{at}.{name}")
            if new_extra is False:
                yield f"{at}: unknown fields now refused"
            elif old_extra is not True:
                yield from self.problems(old_extra, new_extra, f"{at}.*")


def _resolve(document: dict[str, Any], schema: Any) -> Any:
    while isinstance(schema, dict) and "$ref" in schema:
        node: Any = document
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = (
            {**node, **{k: v for k, v in schema.items() if k != "$ref"}}
            if len(schema) > 1
            else node
        )
    return schema


def _is_union(schema: Any) -> bool:
    return isinstance(schema, dict) and any(key in schema for key in UNION)


def _branches(document: dict[str, Any], schema: dict[str, Any]) -> list[Any]:
    for key in UNION:
        if key in schema:
            rest = {k: v for k, v in schema.items() if k not in (key, *DESCRIPTIVE)}
            return [{**_resolve(document, b), **rest} if rest else b for b in schema[key]]
    return [schema]


def _tag(document: dict[str, Any], branch: Any) -> Any:
    branch = _resolve(document, branch)
    if isinstance(branch, dict):
        return branch.get("properties", {}).get("type", {}).get("const")
    return None


def _type_set(schema: dict[str, Any]) -> set[str] | None:
    kind = schema.get("type")
    if kind is None:
        return None
    kinds = set(kind) if isinstance(kind, list) else {kind}
    return kinds | {"integer"} if "number" in kinds else kinds


def _types(old: dict[str, Any], new: dict[str, Any], at: str) -> Iterator[str]:
    old_types, new_types = _type_set(old), _type_set(new)
    if new_types is None:
        return
    if old_types is None:
        if "const" not in old and "enum" not in old:
            yield f"{at}: type restricted to {sorted(new_types)} (was any)"
        return
    if old_types - new_types:
        yield f"{at}: type {new['type']!r} (was {old['type']!r})"


def _values(old: dict[str, Any], new: dict[str, Any], at: str) -> Iterator[str]:
    allowed = [new["const"]] if "const" in new else new.get("enum")
    if allowed is None:
        return
    before = [old["const"]] if "const" in old else old.get("enum")
    if before is None:
        yield f"{at}: values restricted to {allowed!r} (were any)"
        return
    missing = [value for value in before if value not in allowed]
    if missing:
        yield f"{at}: values {missing!r} no longer allowed"


_LOWER = ("minLength", "minItems", "minProperties", "minimum", "exclusiveMinimum")
_UPPER = ("maxLength", "maxItems", "maxProperties", "maximum", "exclusiveMaximum")


def _bounds(old: dict[str, Any], new: dict[str, Any], at: str) -> Iterator[str]:
    for keyword in _LOWER:
        if keyword in new and new[keyword] > old.get(keyword, -math.inf):
            yield f"{at}: {keyword} {new[keyword]} (was {old.get(keyword, 'none')})"
    for keyword in _UPPER:
        if keyword in new and new[keyword] < old.get(keyword, math.inf):
            yield f"{at}: {keyword} {new[keyword]} (was {old.get(keyword, 'none')})"
    if "multipleOf" in new and old.get("multipleOf", 0) % new["multipleOf"] != 0:
        yield f"{at}: multipleOf {new['multipleOf']} (was {old.get('multipleOf', 'none')})"


def backward_problems(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What a consumer reading with `new` could not read of the messages written with `old`
    (empty when `new` is BACKWARD compatible with `old`)."""
    return _Comparison(old, new).problems(old, new, "$")


def gate(released: dict[str, dict[str, Any]], current: dict[str, dict[str, Any]]) -> list[str]:
    """The gate over every topic (file name -> schema): each released topic version is still
    published and its current schema can read what was written with the released one."""
    failures = []
    for name, old in sorted(released.items()):
        if name not in current:
            failures.append(
                f"{name}: released but no longer published; keep this version published until its overlap ends "
                "(contracts/README.md), then retire it by deleting contracts/released/" + name
            )
            continue
        failures += [f"{name}: {problem}" for problem in backward_problems(old, current[name])]
    return failures


def load(folder: Path) -> dict[str, dict[str, Any]]:
    return {path.name: json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))}


def release(current: dict[str, dict[str, Any]], released: dict[str, dict[str, Any]]) -> list[str]:
    """The names whose released snapshot should be the current schema: new topic versions and
    compatible changes (never one the gate refuses)."""
    return [
        name
        for name, schema in sorted(current.items())
        if released.get(name) != schema
        and (name not in released or not backward_problems(released[name], schema))
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--release", action="store_true", help="write the compatible changes to contracts/released"
    )
    args = parser.parse_args(argv)
    current, released = load(CURRENT), load(RELEASED)
    failures = gate(released, current)
    pending = release(current, released)
    if args.release:
        RELEASED.mkdir(exist_ok=True)
        for name in pending:
            (RELEASED / name).write_text((CURRENT / name).read_text())
            print(f"released {name}")
    elif pending:
        failures += [
            f"{name}: changed compatibly but not released: run `make contracts`" for name in pending
        ]
    for failure in failures:
        print("BREAKING " + failure if "not released" not in failure else failure)
    if failures:
        print(
            f"{len(failures)} compatibility problem(s): a breaking change needs a new topic version, see contracts/README.md"
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
