"""`python -m services.accounting.cli shadow ACCOUNT [--until=DATE]`: every rule set of the
catalogue replayed on an account's stored movements (`domain/shadow.py`), read from the accounting
database; never authoritative."""

from __future__ import annotations

import json
import sys
from datetime import UTC, date, datetime
from typing import Any

from pydantic import TypeAdapter

from contracts.movements import MaterialMovement
from contracts.registry import Certificate
from libs.mongo import from_document
from services.accounting.adapters import encoding
from services.accounting.domain import shadow
from services.accounting.domain.rules import Assignment, rule_set_on

MOVEMENT: TypeAdapter[Any] = TypeAdapter(MaterialMovement)


def shadow_report(db: Any, account_id: str, until: date | None) -> int:
    """Every rule set of the catalogue on this account's movements, per period; never
    authoritative."""
    doc = db["accounts"].find_one({"_id": account_id})
    if doc is None:
        print(f"no account {account_id}", file=sys.stderr)
        return 2
    account = encoding.account_from(doc)
    organisation_id = account.organisation_id
    sites = _sites_of(db, account_id)
    movements = _movements_at(db, organisation_id, sites)
    certificates = _certificates_of(db, organisation_id)
    assignments = {organisation_id: _assignments_of(db, organisation_id)}
    now = datetime.now(UTC)
    until = until or now.date()
    assigned = rule_set_on(assignments[organisation_id], until).rule_set_id
    print(
        f"shadow accounting for {account_id} (organisation {organisation_id}, sites "
        f"{', '.join(sorted(sites))}): "
        f"{len(movements)} movements in date order, every rule set beside the assigned {assigned}."
    )
    print("Never authoritative, never issuing documents; certificates as they stand today.")
    header = (
        f"{'rule set':<26} {'account':<34} {'period':<10} {'CoC in':>12} {'total in':>12} "
        f"{'designated':>12} "
        f"{'refused':>12} {'CoC out':>12} {'total out':>12} {'balance':>12} {'forfeit':>10} "
        f"{'expired':>10} "
        f"{'overshoot':>10}"
    )
    print(header)
    for rule_set_id, views in shadow.compare(
        organisation_id, movements, certificates, until, now
    ).items():
        mark = " *" if rule_set_id == assigned else ""
        for v in views:
            print(
                f"{rule_set_id + mark:<26} {v.account_id:<34} "
                f"{v.period_id + ('' if v.closed else '+'):<10} "
                f"{v.coc_input:>12} {v.total_input:>12} {v.designated:>12} {v.refused:>12} "
                f"{v.coc_output:>12} "
                f"{v.total_output:>12} {v.closing_balance:>12} {v.forfeited:>10} {v.expired:>10} "
                f"{v.overshoot:>10}"
                + (f"  refusals: {', '.join(sorted(v.refusal_reasons))}" if v.refusals else "")
            )
    print("* the assigned rule set (replayed in date order); period+ = still open")
    return 0


def _sites_of(db: Any, account_id: str) -> set[Any]:
    """The sites the account's entries name."""
    return {
        json.loads(d["entry"]).get("site_id")
        for d in db["entries"].find(encoding.entries_filter(account_id), {"entry": 1})
    } - {None}


def _movements_at(db: Any, organisation_id: str, sites: set[Any]) -> list[Any]:
    """The organisation's stored movements at these sites, in stored order."""
    movements = []
    for d in db["movements"].find(
        {"organisation_id": organisation_id, "movement": {"$exists": True}}, {"movement": 1}
    ):
        movement = MOVEMENT.validate_json(d["movement"])
        if movement.site_id in sites:
            movements.append(movement)
    return movements


def _certificates_of(db: Any, organisation_id: str) -> list[Certificate]:
    return [
        c
        for c in (
            from_document(Certificate, d["certificate"])
            for d in db["certificates"].find({"organisation_id": organisation_id})
        )
        if c
    ]


def _assignments_of(db: Any, organisation_id: str) -> list[Assignment]:
    return [
        Assignment(date.fromisoformat(i["effective_from"]), i["rule_set_id"])
        for i in (db["assignments"].find_one({"_id": organisation_id}) or {}).get("items", [])
    ]
