"""Webhook rules: which events a subscription gets, how payloads are signed, when to retry."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Sequence
from urllib.parse import urlsplit

SIGNATURE_HEADER = "X-ASI-Signature"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """`t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + body>`: the receiver recomputes it and
    refuses stale timestamps, so a captured delivery cannot be replayed later."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify_signature(secret: str, header: str, body: bytes) -> bool:
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), f"t={timestamp},v1={parts.get('v1', '')}")


def backoff_s(attempts: int, base_s: float, max_s: float) -> float:
    """Delay before the next try after `attempts` failed ones: base, 2 base, 4 base... capped."""
    return float(min(max_s, base_s * 2 ** max(0, attempts - 1)))


def matches(event: dict[str, object], organisation_ids: Sequence[str], changes: Sequence[str]) -> bool:
    """Empty filters match everything."""
    certificate = event.get("certificate") or {}
    organisation = certificate.get("organisation_id") if isinstance(certificate, dict) else None
    return (not organisation_ids or organisation in organisation_ids) and (not changes or event.get("change") in changes)


def url_problem(url: str, allow_private: bool) -> str | None:
    """Why a webhook URL is refused, or None."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "the URL must be http(s)://host/..."
    if allow_private:
        return None
    if parts.scheme != "https":
        return "the URL must use https"
    host = parts.hostname
    if host == "localhost" or host.endswith(".localhost") or host.endswith(".internal"):
        return "the URL must not point at a local host"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if address.is_private or address.is_loopback or address.is_link_local or address.is_reserved:
        return "the URL must not point at a private address"
    return None
