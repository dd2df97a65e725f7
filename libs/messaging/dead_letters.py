"""What goes to a topic's dead-letter topic, and why: a record that does not parse (with the
validation errors as reasons) or that its handler cannot take."""

from __future__ import annotations

import base64
import json

from pydantic import ValidationError

from contracts.common import Reason
from contracts.deadletter import DeadLetterReason

def as_text(raw: bytes | None) -> tuple[str, str]:
    """The bytes as text and its encoding: UTF-8 when they decode, else base64."""
    if raw is None:
        return "", "utf-8"
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return base64.b64encode(raw).decode(), "base64"


def validation_reasons(exc: ValidationError) -> tuple[str, list[Reason]]:
    """The dead-letter reason code of a record that does not parse, and its first 20 errors as reasons."""
    reasons = []
    code = DeadLetterReason.SCHEMA_INVALID
    for err in exc.errors()[:20]:
        if err["type"] == "json_invalid":
            code = DeadLetterReason.NOT_JSON
        elif err["type"] in {"union_tag_invalid", "union_tag_not_found"}:
            code = DeadLetterReason.UNKNOWN_TYPE
        location = ".".join(str(p) for p in err["loc"])
        reasons.append(Reason(code=err["type"][:80], message=str(err["msg"])[:2000], field=location[:200] or None))
    return code, reasons or [Reason(code=code, message=str(exc)[:2000])]



def type_tag(raw: bytes | None) -> str | None:
    """The `type` of a JSON message, or None (then it is parsed in full, and dead-lettered if bad)."""
    try:
        value = json.loads(raw or b"")
    except ValueError:
        return None
    return value.get("type") if isinstance(value, dict) else None


