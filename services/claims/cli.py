"""Look up claims in the claims service's own database.

    python -m services.claims.cli show CLAIM_ID  # status, request, approved vs used mass, decisions
    python -m services.claims.cli by-owner ORG   # the brand owner's claims, oldest change first

The database is the platform's that `make run` started (its `.run/platform.json`), unless the
service's Settings say otherwise (`CLAIMS_MONGODB_URI` or `MONGODB_URI`, `CLAIMS_DATABASE`). Output
is JSON; with no platform to read, one line and exit code 2.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from libs import cli
from libs.mongo import database, mongo_client
from services.claims.adapters import store
from services.claims.config import Settings


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


async def show(
    db: AsyncDatabase[dict[str, Any]], claim_id: str, owner: str | None = None
) -> dict[str, Any] | None:
    """One claim as stored: status, approval, request, evidence and its decision history. Claim ids
    are their owner's: when several owners use this one, `owner` names which (else an error
    lists them)."""
    docs = [d for d in await store.claim_documents(db, claim_id) if owner in (None, d["claimant"])]
    if not docs:
        return None
    if len(docs) > 1:
        owners = ", ".join(d["claimant"] for d in docs)
        return {"error": f"claim id {claim_id} is used by {owners}: add --owner"}
    doc = docs[0]
    del doc["_id"]
    doc["mass"] = _mass(doc)
    shown: dict[str, Any] = _plain(doc)
    return shown


def _mass(doc: dict[str, Any]) -> dict[str, Any] | None:
    """Approved vs used: what the approval spent, what the owner reported used, what is unused or
    returned."""
    approved = doc.get("approved_kg")
    if approved is None:
        return None
    used = doc.get("used_kg") or Decimal(0)
    return {
        "approved_kg": approved,
        "used_units": doc.get("used_units", 0),
        "used_kg": used,
        "unused_kg": max(approved - used, Decimal(0)),
        "returned_kg": doc.get("returned_kg"),
        "usage_by_period": dict(doc.get("usage", [])),
    }


async def by_owner(db: AsyncDatabase[dict[str, Any]], organisation_id: str) -> list[dict[str, Any]]:
    """A brand owner's claims, each with its status and approval."""
    rows = []
    for doc in await store.claims_of(db, organisation_id):
        rows.append(
            _plain(
                {
                    "claim_id": doc.get("claim_id", doc["_id"]),
                    "status": doc["status"],
                    "claim_type": doc.get("claim_type"),
                    "product_id": doc.get("product_id"),
                    "approval_code": doc.get("approval_code"),
                    "valid_until": doc.get("valid_until"),
                    "decide_by": doc.get("decide_by"),
                    "approved_kg": doc.get("approved_kg"),
                    "used_kg": doc.get("used_kg"),
                    "returned_kg": doc.get("returned_kg"),
                    "updated_at": doc.get("updated_at"),
                }
            )
        )
    return rows


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m services.claims.cli", description="Look up claims.")
    commands = p.add_subparsers(dest="command", required=True)
    show_command = commands.add_parser("show", help="one claim with its evidence")
    show_command.add_argument("claim_id")
    show_command.add_argument("--owner", help="the claimant, when several owners use the claim id")
    commands.add_parser("by-owner", help="a brand owner's claims").add_argument("organisation_id")
    return p


async def run(argv: list[str], settings: Settings) -> tuple[int, Any]:
    args = parser().parse_args(argv)
    client = mongo_client(settings.mongodb_uri, "claims-cli")
    try:
        db = database(client, settings.database)
        if args.command == "show":
            found = await show(db, args.claim_id, args.owner)
            if found is None:
                return 1, {"error": f"no claim {args.claim_id}"}
            return (1 if "error" in found else 0), found
        return 0, await by_owner(db, args.organisation_id)
    finally:
        await client.close()


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    parser().parse_args(arguments)  # --help and usage errors before looking for the platform

    def command() -> int:
        settings = Settings.for_cli()
        cli.mongo_reachable(settings.mongodb_uri)
        code, result = asyncio.run(run(arguments, settings))
        print(json.dumps(result, indent=2, ensure_ascii=False))
        return code

    return cli.run(command)


if __name__ == "__main__":
    raise SystemExit(main())
