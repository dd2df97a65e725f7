"""What a held plant event can wait for: a key the projections announce when the thing arrives."""

from __future__ import annotations

from uuid import UUID


def site_key(site_id: str) -> str:
    return f"site:{site_id}"


def member_key(organisation_id: str) -> str:
    return f"member:{organisation_id}"


def certificates_key(organisation_id: str) -> str:
    return f"certificates:{organisation_id}"


def document_key(document_id: str) -> str:
    return f"document:{document_id}"


def event_key(event_id: UUID | str) -> str:
    return f"event:{event_id}"
