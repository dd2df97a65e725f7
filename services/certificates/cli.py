"""Command line of the certificates service, reading its own database: the platform's that
`make run` started (its `.run/platform.json`), unless the CERTIFICATES_* / MONGODB_URI settings say
otherwise.

    python -m services.certificates.cli public-key               # the signing key as a JWK
    python -m services.certificates.cli verify JWS [--jwk FILE]  # check a signed certificate
    python -m services.certificates.cli keys                     # every signing key on the topic
    python -m services.certificates.cli status NUMBER...         # current status of certificates
    python -m services.certificates.cli status-list              # every status, signed (JWS)
    python -m services.certificates.cli figures [--as-of DATE]   # NC figures
    python -m services.certificates.cli lookup --number N | --organisation ORG | --site SITE
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import UTC, date, datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from contracts.signing import parse
from libs import cli
from libs.mongo import database, mongo_client
from services.certificates.adapters.keys import load_signer
from services.certificates.adapters.store import (
    AUDITS,
    CERTIFICATES,
    HISTORY,
    certificate_from,
)
from services.certificates.config import Settings
from services.certificates.domain.figures import nc_figures
from services.certificates.key_directory import keys_from_topic
from services.certificates.signing import VerificationError, canonical_json, verify

Db = AsyncDatabase[dict[str, Any]]


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k != "_id"}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


async def public_key(db: Db, settings: Settings, args: argparse.Namespace) -> int:
    print(json.dumps((await load_signer(settings, db)).jwk, indent=2))
    return 0


def read_jwk(source: str) -> dict[str, Any]:
    """A public key (JWK, JSON object) from a file; `cli.CliError` saying what is wrong with it."""
    jwk = cli.read_json(source)
    if not isinstance(jwk, dict) or not isinstance(jwk.get("kty"), str):
        raise cli.CliError(f'{source} is not a JWK: a JSON object with a "kty" member')
    return jwk


async def verify_command(db: Db | None, settings: Settings, args: argparse.Namespace) -> int:
    jws = sys.stdin.read().strip() if args.jws == "-" else args.jws
    retired = None
    if args.jwk:
        jwk = await asyncio.to_thread(read_jwk, args.jwk)
    else:
        try:
            kid = parse(jws)[0].get("kid")
        except VerificationError as exc:
            print(f"INVALID: {exc}", file=sys.stderr)
            return 1
        published = (await keys_from_topic(settings.kafka_bootstrap_servers)).get(str(kid))
        if published is None:
            print(
                f"UNKNOWN: no key {kid!r} was ever published on certificates.events.v1",
                file=sys.stderr,
            )
            return 1
        jwk, retired = published.jwk, published.valid_until
    try:
        payload = verify(jws, jwk)
    except VerificationError as exc:
        print(f"INVALID: {exc}", file=sys.stderr)
        return 1
    print(
        json.dumps(
            {
                "valid": True,
                "kid": jwk.get("kid"),
                "key_retired_at": retired.isoformat() if retired else None,
                "certificate": payload,
            },
            indent=2,
        )
    )
    return 0


async def list_keys(db: Db | None, settings: Settings, args: argparse.Namespace) -> int:
    keys = await keys_from_topic(settings.kafka_bootstrap_servers)
    print(
        json.dumps(
            [
                k.model_dump(mode="json", include={"kid", "jwk", "valid_from", "valid_until"})
                for k in keys.values()
            ],
            indent=2,
        )
    )
    return 0


def _status(doc: dict[str, Any]) -> dict[str, Any]:
    c = certificate_from(doc)
    return {
        "certificate_number": c.certificate_number,
        "certificate_id": c.certificate_id,
        "organisation_id": c.organisation_id,
        "standard": c.standard.value,
        "status": c.status.value,
        "provisional": c.provisional,
        "valid_from": c.valid_from.isoformat(),
        "valid_until": c.valid_until.isoformat(),
        "revision": c.revision,
        "status_reason": c.status_reason,
        "updated_at": c.updated_at.isoformat(),
    }


async def status(db: Db, settings: Settings, args: argparse.Namespace) -> int:
    found = {
        doc["certificate_number"]: _status(doc)
        async for doc in db[CERTIFICATES].find({"certificate_number": {"$in": args.numbers}})
    }
    for number in args.numbers:
        print(json.dumps(found.get(number, {"certificate_number": number, "status": "unknown"})))
    return 0 if len(found) == len(set(args.numbers)) else 1


async def status_list(db: Db, settings: Settings, args: argparse.Namespace) -> int:
    statuses = {
        doc["certificate_number"]: doc["status"]
        async for doc in db[CERTIFICATES].find({}, {"certificate_number": 1, "status": 1})
    }
    document = {
        "issued_at": datetime.now(UTC).isoformat(),
        "statuses": dict(sorted(statuses.items())),
    }
    if args.json:
        print(json.dumps(document, indent=2))
    else:
        print((await load_signer(settings, db)).sign(canonical_json(document)))
    return 0


async def figures(db: Db, settings: Settings, args: argparse.Namespace) -> int:
    as_of = args.as_of or datetime.now(UTC).date()
    certificates = [certificate_from(doc) async for doc in db[CERTIFICATES].find({})]
    print(json.dumps(nc_figures(certificates, as_of), indent=2))
    return 0


async def lookup(db: Db, settings: Settings, args: argparse.Namespace) -> int:
    if args.number:
        query: dict[str, Any] = {"certificate_number": args.number}
    elif args.organisation:
        query = {"organisation_id": args.organisation}
    else:
        query = {"scope.site_ids": args.site}
    results = []
    async for doc in db[CERTIFICATES].find(query).sort("certificate_number", 1):
        certificate = certificate_from(doc)
        history = [
            {
                "revision": h["revision"],
                "change": h["change"],
                "status": h["certificate"]["status"],
                "occurred_at": _plain(h["occurred_at"]),
                "reason": h.get("reason"),
            }
            async for h in db[HISTORY]
            .find({"certificate_id": certificate.certificate_id})
            .sort("revision", 1)
        ]
        audits = [
            {
                "audit_id": a["_id"],
                "audit_type": a["audit"]["audit_type"],
                "outcome": a["outcome"],
                "completed_on": a["audit"]["audit_completed_on"],
                "findings": len(a["audit"]["findings"]),
            }
            async for a in db[AUDITS]
            .find(
                {
                    "$or": [
                        {"certificate_id": certificate.certificate_id},
                        {"_id": certificate.audit_id},
                        {"audit.certificate_id": certificate.certificate_id},
                    ]
                }
            )
            .sort("recorded_at", 1)
        ]
        results.append(
            {
                "certificate": certificate.model_dump(mode="json"),
                "history": history,
                "audits": audits,
            }
        )
    print(json.dumps(results, indent=2))
    return 0 if results else 1


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m services.certificates.cli",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("public-key", help="print the public signing key as a JWK").set_defaults(
        run=public_key
    )
    v = sub.add_parser("verify", help="check a signed certificate (compact JWS; '-' reads stdin)")
    v.add_argument("jws")
    v.add_argument(
        "--jwk",
        help="JWK file of the public key (offline); default: the key named in the JWS, "
        "as published on certificates.events.v1 (retired keys too)",
    )
    v.set_defaults(run=verify_command)
    sub.add_parser(
        "keys", help="every signing key published on certificates.events.v1"
    ).set_defaults(run=list_keys)
    s = sub.add_parser("status", help="current status of certificates by number")
    s.add_argument("numbers", nargs="+")
    s.set_defaults(run=status)
    sl = sub.add_parser("status-list", help="every certificate's status, signed as a compact JWS")
    sl.add_argument("--json", action="store_true", help="print the unsigned list instead")
    sl.set_defaults(run=status_list)
    f = sub.add_parser("figures", help="NC figures by principle and severity")
    f.add_argument("--as-of", type=date.fromisoformat)
    f.set_defaults(run=figures)
    lk = sub.add_parser("lookup", help="certificates with their status, history and audits")
    which = lk.add_mutually_exclusive_group(required=True)
    which.add_argument("--number")
    which.add_argument("--organisation")
    which.add_argument("--site")
    lk.set_defaults(run=lookup)
    return p


async def run(argv: list[str] | None = None, settings: Settings | None = None) -> int:
    args = parser().parse_args(argv)
    settings = settings or Settings()
    if args.command in ("verify", "keys"):  # offline, or from the topic: no database needed
        offline: int = await args.run(None, settings, args)
        return offline
    client = mongo_client(settings.mongodb_uri, f"{settings.service_name}-cli")
    try:
        code: int = await args.run(database(client, settings.database), settings, args)
        return code
    finally:
        await client.close()


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    args = parser().parse_args(arguments)  # --help and usage errors before looking for the platform
    if args.command == "verify" and args.jwk:
        return cli.run(lambda: asyncio.run(run(arguments, Settings())))

    def command() -> int:
        settings = Settings.for_cli()
        cli.mongo_reachable(settings.mongodb_uri)
        return asyncio.run(run(arguments, settings))

    return cli.run(command)


if __name__ == "__main__":
    sys.exit(main())
