"""What the bench's watchers look for (plain JSON, not parsed into contracts): from a record, the id the
bench waits for and what became of it, for movements, ledger entries and claim decisions; the topics
each is read from."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any


def _codes(d: dict[str, Any]) -> str:
    return ",".join(r["code"] for r in d.get("reasons", []))


def _dead_letter(d: dict[str, Any], field: str) -> tuple[str, str] | None:
    try:
        payload = json.loads(d["payload"])
        return str(payload[field]), f"dead-lettered:{d.get('reason_code')}"
    except (ValueError, KeyError, TypeError):
        return None


def pick_movement(d: dict[str, Any]) -> tuple[str, str] | None:
    """material.movements.v1, intake.rejections.v1, plant.events.v1.dlq: what became of a plant event."""
    kind = d.get("type")
    if kind == "plant_event_rejected":
        return d["rejected_event_id"], f"rejected:{_codes(d)}"
    if kind == "plant_event_held":
        return None
    if "movement_id" in d:
        return d["movement_id"], kind
    if "payload" in d:
        return _dead_letter(d, "event_id")
    return None


def pick_ledger(d: dict[str, Any]) -> tuple[str, str] | None:
    """ledger.events.v1, intake.rejections.v1 and the two DLQs: what became of a plant event in the books."""
    kind = d.get("type")
    if kind == "ledger_entry_posted":
        entry = d["entry"]
        if entry.get("movement_id") is None:
            return None
        credited = (
            "credit" if entry["coc_credit_kg"].lstrip("-") not in ("0", "0.000") else "no credit"
        )
        return entry["movement_id"], f"{entry['kind']} ({credited})"
    if kind in ("designation_refused", "movement_refused"):
        return d["movement_id"], f"{kind}:{_codes(d)}"
    if kind == "plant_event_rejected":
        return d["rejected_event_id"], f"rejected by intake:{_codes(d)}"
    if "payload" in d and "source_topic" in d:
        return _dead_letter(
            d, "movement_id" if d["source_topic"] == "material.movements.v1" else "event_id"
        )
    return None


MOVEMENTS_TOPIC = "material.movements.v1"


def pick_decision(d: dict[str, Any]) -> tuple[str, str] | None:
    kind = d.get("type")
    # Awaiting review: the machine has decided (a person decides the rest); shown in the outcomes.
    if kind in (
        "claim_approved",
        "claim_rejected",
        "claim_request_refused",
        "claim_awaiting_review",
    ):
        return d["claim_id"], f"{kind}:{_codes(d)}" if kind != "claim_approved" else kind
    return None


def pick_allocation_command(d: dict[str, Any]) -> tuple[str, str] | None:
    """Claims' request to accounting for a claim's mass (the claim's second stamp)."""
    if d.get("type") == "allocate_for_claim":
        return d["claim_id"], "allocate_for_claim"
    return None


def pick_allocation_answer(d: dict[str, Any]) -> tuple[str, str] | None:
    """Accounting's answer to it (the claim's third stamp)."""
    if d.get("type") in ("allocation_granted", "allocation_refused"):
        return d["claim_id"], d["type"]
    return None


MOVEMENT_TOPICS = ["material.movements.v1", "intake.rejections.v1", "plant.events.v1.dlq"]
LEDGER_TOPICS = [
    "ledger.events.v1",
    "intake.rejections.v1",
    "plant.events.v1.dlq",
    "material.movements.v1.dlq",
]


def _refused(outcomes: Counter[str]) -> int:
    return sum(
        v for k, v in outcomes.items() if "refused" in k or "rejected" in k or "dead-lettered" in k
    )
