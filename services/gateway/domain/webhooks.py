"""Webhook rules: which events a subscription gets, how payloads are signed (Standard Webhooks),
when to retry, and which targets a delivery may reach.

Signing follows the Standard Webhooks specification (standardwebhooks.com, `spec/standard-webhooks.md`):
headers `webhook-id`, `webhook-timestamp` (unix seconds) and `webhook-signature`
(`v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>`, several space-separated signatures
allowed); the secret is `whsec_<base64 of the key bytes>`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import secrets
import socket
from collections.abc import Sequence
from urllib.parse import SplitResult, urlsplit

ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
SECRET_PREFIX = "whsec_"
TOLERANCE_S = 300
"""How far a receiver should accept a timestamp from its clock (the specification's example: 5 minutes)."""


def new_secret() -> str:
    """A signing secret in the specification's form: `whsec_` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _key(secret: str) -> bytes:
    if secret.startswith(SECRET_PREFIX):
        return base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    return secret.encode()  # subscriptions made before the Standard Webhooks secrets


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header value: `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`."""
    mac = hmac.new(_key(secret), f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def headers(secret: str, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {ID_HEADER: message_id, TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: signature(secret, message_id, timestamp, body)}


def verify(secret: str, received: dict[str, str], body: bytes, now: int, tolerance_s: int = TOLERANCE_S) -> bool:
    """True when one of the `v1` signatures matches and the timestamp is within the tolerance."""
    lowered = {k.lower(): v for k, v in received.items()}
    try:
        message_id, timestamp = lowered[ID_HEADER], int(lowered[TIMESTAMP_HEADER])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance_s:
        return False
    expected = signature(secret, message_id, timestamp, body)
    return any(hmac.compare_digest(expected, s) for s in lowered.get(SIGNATURE_HEADER, "").split(" ") if s)


def backoff_s(attempts: int, base_s: float, max_s: float) -> float:
    """Delay before the next try after `attempts` failed ones: base, 2 base, 4 base... capped."""
    return float(min(max_s, base_s * 2 ** max(0, attempts - 1)))


def matches(event: dict[str, object], organisation_ids: Sequence[str], changes: Sequence[str]) -> bool:
    """Empty filters match everything."""
    certificate = event.get("certificate") or {}
    organisation = certificate.get("organisation_id") if isinstance(certificate, dict) else None
    return (not organisation_ids or organisation in organisation_ids) and (not changes or event.get("change") in changes)


# ---- where a delivery may go (server-side request forgery) ----------------------------------

NOT_ALLOWED = "the target address is not allowed (loopback, private, link-local or reserved)"


def address_allowed(address: str) -> bool:
    """Only globally routable unicast addresses. `address` is what the resolver returned, so every
    textual form a URL may use (2130706433, 0x7f000001, 127.1, 0177.0.0.1, a DNS name) has already
    become an address here; an IPv4-mapped IPv6 address is judged as its IPv4 address."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if _tunnelled(ip):
        return False
    return ip.is_global and not _special(ip)


def _tunnelled(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """6to4 and Teredo addresses carry an IPv4 address that could be anything: refused."""
    return isinstance(ip, ipaddress.IPv6Address) and (ip.sixtofour is not None or ip.teredo is not None)


def _special(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Multicast, loopback, link-local, private, reserved or unspecified."""
    return (ip.is_multicast or ip.is_loopback or ip.is_link_local or ip.is_private
            or ip.is_reserved or ip.is_unspecified)


def url_problem(url: str, allow_private: bool) -> str | None:
    """Why a webhook URL is refused when it is registered, or None. The addresses it resolves to are
    checked again at every delivery (`address_allowed`): a name may point elsewhere later."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "the URL is not valid"
    problem = _form_problem(parts, port)
    if problem is not None or allow_private:
        return problem
    return _public_target_problem(parts)


def _form_problem(parts: SplitResult, port: int | None) -> str | None:
    """An http(s) URL with a host, no credentials and a valid port, or why not."""
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "the URL must be http(s)://host/..."
    if parts.username or parts.password:
        return "the URL must not carry credentials"
    if port == 0:
        return "the URL's port is not valid"
    return None


def _public_target_problem(parts: SplitResult) -> str | None:
    """In production: https, and a host that is neither a local name nor a literal address that is
    not allowed."""
    if parts.scheme != "https":
        return "the URL must use https"
    host = parts.hostname or ""
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        return NOT_ALLOWED
    literal = literal_address(host)
    if literal is not None and not address_allowed(literal):
        return NOT_ALLOWED
    return None


def literal_address(host: str) -> str | None:
    """The address a host written as a number stands for, in every form a resolver accepts
    (`127.0.0.1`, `127.1`, `2130706433`, `0x7f000001`, `0177.0.0.1`, `0`, `::1`); None for a name.
    (`inet_aton` is the C library's parser, the one resolvers use: no lookup is made.)"""
    try:
        return str(ipaddress.ip_address(host.split("%", 1)[0]))
    except ValueError:
        pass
    try:
        return str(ipaddress.IPv4Address(socket.inet_aton(host)))
    except (OSError, UnicodeError, ValueError):
        return None
