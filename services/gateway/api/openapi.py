"""The status codes every operation may answer, written into the OpenAPI document so that a client
(and a schema fuzzer) knows each of them: the front door's (400, 413, 429, 503), authentication's
and access's on `/v1` (401, 403, 404), conflicts on writes (409), and the request validation (422)."""

from __future__ import annotations

from typing import Any

ERROR_SCHEMA = {"type": "object", "required": ["error"], "properties": {"error": {
    "type": "object", "required": ["code", "message"],
    "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "details": {}}}}}

WHY = {
    "400": "Bad request: not JSON, nested too deeply, an invalid Content-Length (`error.code` says which).",
    "401": "No API key, or a key that is not valid or was revoked.",
    "403": "The key's role or organisation may not do this.",
    "404": "Nothing of yours has this id.",
    "405": "This method is not allowed here.",
    "409": "A conflict: the event_id was used for another message, the claim is not awaiting review, a claim id "
           "several organisations use was given without `organisation_id` (secretariat), or the subscription "
           "was stopped.",
    "413": "The body (or the batch) is too large.",
    "415": "Unsupported media type.",
    "422": "The request does not match the schema.",
    "429": "Too many requests: wait `Retry-After` seconds.",
    "503": "The broker or the database does not answer: send it again.",
}
EVERYWHERE = ("400", "413", "422", "429", "503")
API = ("401", "403", "404", "409")
PAGES = {"/certificates/{number}": ("404",), "/c/{code}": ("404",), "/c/{code}/qr.svg": ("404",),
         "/verify": ("303", "404"), "/asyncapi/schemas/{name}": ("404",), "/asyncapi/{name}": ("404",),
         "/review/session": ("303", "401"), "/review/{claim_id}": ("303", "401"),
         "/review/shadow": ("303", "401"),
         "/credentials/certificates/{certificate}": ("404",), "/credentials/status/{purpose}": ("404",),
         "/epcis/capture": ("401", "403"), "/epcis/capture/{captureID}": ("401", "403", "404"),
         "/documents/{document_id}/upstream": ("404",), "/documents/{document_id}/passport": ("404",),
         "/documents/{document_id}/passport.json": ("404",)}


def _request_patterns(node: Any) -> None:
    """An exact quantity's `x-request-pattern` (contracts/common.py) becomes its pattern: what a request may send."""
    if isinstance(node, dict):
        if "x-request-pattern" in node:
            node["pattern"] = node.pop("x-request-pattern")
        for value in node.values():
            _request_patterns(value)
    elif isinstance(node, list):
        for value in node:
            _request_patterns(value)


def document_status_codes(schema: dict[str, Any]) -> dict[str, Any]:
    """Adds the answers every operation may give, where the route does not document them already, and says
    exactly which quantities a request may send."""
    _request_patterns(schema)
    schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            codes = list(EVERYWHERE)
            if path.startswith("/v1/"):
                codes += API
            codes += [c for c in PAGES.get(path, ()) if method in ("get", "post")]
            responses = operation.setdefault("responses", {})
            for code in codes:
                if code == "303":
                    responses.setdefault(code, {"description": "A code or certificate number: its page."})
                elif code not in responses:
                    responses[code] = {"description": WHY[code], **error}
    return schema
