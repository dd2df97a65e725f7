"""Usage and reconciliation (issue 18 item 6): each approved claim's approved against used mass,
and, for a period, per brand owner, the CoC mass received, claimed, used and left. Pure: built from
what the gateway's read models keep of `ledger.events.v1` (the receipt entries, `upstream_entries`)
and `claims.decisions.v1` (the claims, with `mass` from `ClaimApproved` and `ClaimUsageRecorded`).

Definitions (ours; no ASI text defines this report, verify with the secretariat):
- **received**: CoC mass credited to the owner's accounts by receipts booked in the period (a
  reversal booked in the period takes its part back);
- **claimed**: mass spent by the owner's claims approved in the period, less what a withdrawal
  returned (domain.md, Claims: "Claimed mass is spent, not lent"; only the unused part of a
  withdrawn claim returns);
- **used**: of that, the mass the owner reported used (units that carried the claim);
- **unused**: claimed less used: approved mass not (yet) reported on packs;
- **left**: received less claimed: CoC mass received in the period that no claim of the period
  spent (negative when the period's claims drew on mass received earlier).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

ZERO = Decimal(0)
APPROVED_ONCE = frozenset({"approved", "revoked", "expired", "withdrawn"})
"""Statuses a claim may have after an approval (its mass stays spent in all of them)."""


def _kg(value: Any) -> Decimal:
    return ZERO if value is None else Decimal(str(value))


def _text(value: Decimal) -> str:
    return format(value, "f")


@dataclass(frozen=True)
class ClaimMass:
    """An approved claim's mass: what the approval spent, what was reported used, what is unused,
    and what a withdrawal returned."""

    approved_kg: Decimal
    used_kg: Decimal
    used_units: int
    returned_kg: Decimal

    @property
    def unused_kg(self) -> Decimal:
        return max(self.approved_kg - self.used_kg - self.returned_kg, ZERO)

    @property
    def claimed_kg(self) -> Decimal:
        """What stays spent: the approved mass less what a withdrawal returned."""
        return self.approved_kg - self.returned_kg

    def view(self) -> dict[str, Any]:
        return {
            "approved_kg": _text(self.approved_kg),
            "used_kg": _text(self.used_kg),
            "used_units": self.used_units,
            "unused_kg": _text(self.unused_kg),
            "returned_kg": _text(self.returned_kg),
        }


def claim_mass(doc: Mapping[str, Any]) -> ClaimMass | None:
    """Approved against used for a claim document of the read model; None for a claim never
    approved."""
    mass = doc.get("mass") or {}
    if doc.get("status") not in APPROVED_ONCE or mass.get("approved_kg") is None:
        return None
    return ClaimMass(
        approved_kg=_kg(mass["approved_kg"]),
        used_kg=_kg(mass.get("used_kg")),
        used_units=int(mass.get("used_units") or 0),
        returned_kg=_kg(mass.get("returned_kg")),
    )


def approved_on(doc: Mapping[str, Any]) -> date | None:
    """The day a claim was approved (older read-model documents: its last decision)."""
    at = doc.get("approved_at") or doc.get("decided_at")
    if at is None:
        return None
    return at.date() if hasattr(at, "date") else date.fromisoformat(str(at)[:10])


@dataclass
class OwnerReconciliation:
    """One brand owner's period."""

    organisation_id: str
    received_kg: Decimal = ZERO
    claimed_kg: Decimal = ZERO
    used_kg: Decimal = ZERO
    claim_ids: list[str] = field(default_factory=list)

    @property
    def unused_kg(self) -> Decimal:
        return self.claimed_kg - self.used_kg

    @property
    def left_kg(self) -> Decimal:
        return self.received_kg - self.claimed_kg

    def view(self) -> dict[str, Any]:
        return {
            "organisation_id": self.organisation_id,
            "received_kg": _text(self.received_kg),
            "claimed_kg": _text(self.claimed_kg),
            "used_kg": _text(self.used_kg),
            "unused_kg": _text(self.unused_kg),
            "left_kg": _text(self.left_kg),
            "claim_ids": sorted(self.claim_ids),
        }


def reconcile(
    start: date,
    end: date,
    receipts: Iterable[tuple[str, Decimal, date]],
    claims: Iterable[Mapping[str, Any]],
) -> list[OwnerReconciliation]:
    """Per brand owner (every claimant among `claims`), for the period from `start` to `end`
    inclusive: `receipts` are (organisation, CoC kg credited, booked on) of every owner; `claims`
    the claim documents of the read model."""
    owners: dict[str, OwnerReconciliation] = {}
    for doc in claims:
        owner = doc.get("claimant_organisation_id")
        if not owner:
            continue
        _count_claim(owners.setdefault(owner, OwnerReconciliation(owner)), doc, start, end)
    for owner, kg, day in receipts:
        if owner in owners and start <= day <= end:
            owners[owner].received_kg += kg
    return [owners[k] for k in sorted(owners)]


def _count_claim(row: OwnerReconciliation, doc: Mapping[str, Any], start: date, end: date) -> None:
    """A claim approved in the period counts its claimed and used mass on its owner's row."""
    mass, day = claim_mass(doc), approved_on(doc)
    if mass is None or day is None or not start <= day <= end:
        return
    row.claimed_kg += mass.claimed_kg
    row.used_kg += mass.used_kg
    row.claim_ids.append(str(doc.get("claim_id") or doc["_id"]))  # the owner's own id, not the key
