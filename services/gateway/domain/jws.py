"""Check a compact JWS (EdDSA over Ed25519, RFC 8037) against the public keys the gateway knows."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from contracts import signing
from services.gateway.domain.limits import nesting_depth_exceeds


@dataclass(frozen=True)
class JwsCheck:
    """What a pasted JWS says and whether its signature holds.

    `signature_valid` is None when no known key has the JWS's key id."""

    payload: dict[str, Any] | None
    key_id: str | None
    signature_valid: bool | None
    problem: str | None = None


def looks_like_jws(text: str) -> bool:
    parts = text.strip().split(".")
    return len(parts) == 3 and all(parts[:2]) and len(text) > 40


MAX_DEPTH = 32
"""Deepest nesting a pasted JWS's header and payload may have (ours nest 4 levels); checked before parsing."""


def _too_deep(jws: str, max_depth: int) -> bool:
    try:
        return any(nesting_depth_exceeds(signing.b64url_decode(part), max_depth) for part in jws.strip().split(".")[:2])
    except ValueError:
        return False  # not base64url: the parser below says so


def check(jws: str, keys: Sequence[dict[str, Any]], max_depth: int = MAX_DEPTH) -> JwsCheck:
    parsed = _parsed(jws, max_depth)
    if isinstance(parsed, JwsCheck):
        return parsed
    header, payload = parsed
    kid = header.get("kid") if isinstance(header.get("kid"), str) else None
    if header.get("alg") != "EdDSA":
        return JwsCheck(payload, kid, False, f"unexpected algorithm {header.get('alg')!r}")
    return _signature_check(jws, payload, kid, keys)


def _parsed(jws: str, max_depth: int) -> tuple[dict[str, Any], dict[str, Any]] | JwsCheck:
    """The JWS's header and payload, or why it is not one the platform could have signed (too
    deeply nested, not a compact JWS, not JSON objects)."""
    if _too_deep(jws, max_depth):
        return JwsCheck(None, None, False, "its header or payload nests too deeply to be a document of the platform")
    try:
        header, _, payload_b64, _ = signing.parse(jws)
        payload = json.loads(signing.b64url_decode(payload_b64))
    except (signing.SignatureInvalid, ValueError, TypeError, UnicodeDecodeError, RecursionError):
        return JwsCheck(None, None, False, "this is not a compact JWS (three base64url parts with a JSON header and payload)")
    if not isinstance(payload, dict):
        return JwsCheck(None, None, False, "the header and payload must be JSON objects")
    return header, payload


def _signature_check(jws: str, payload: dict[str, Any], kid: str | None, keys: Sequence[dict[str, Any]]) -> JwsCheck:
    """The signature against the known Ed25519 key of the JWS's key id (None: no such key)."""
    key = next((k for k in keys if k.get("kid") == kid and k.get("crv") == "Ed25519"), None)
    if key is None:
        return JwsCheck(payload, kid, None, "no published key has this key id")
    try:
        signing.verify(jws, signing.public_key_from_jwk(key), kid=kid)
    except signing.SignatureInvalid:
        return JwsCheck(payload, kid, False, "the signature does not match: the document was changed or signed by another key")
    return JwsCheck(payload, kid, True)
