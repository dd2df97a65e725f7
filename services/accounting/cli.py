"""Operator and auditor commands over the accounting database.

    python -m services.accounting.cli balance ACCOUNT
    python -m services.accounting.cli statement ACCOUNT [PERIOD]
    python -m services.accounting.cli verify-chain [ACCOUNT]
    python -m services.accounting.cli public-key
    python -m services.accounting.cli verify-document FILE|- [--public-key=KEY]
    python -m services.accounting.cli shadow ACCOUNT [--until=DATE]

The database is the platform's that `make run` started (its `.run/platform.json`), unless the
service settings say otherwise (`ACCOUNTING_MONGODB_URI` or `MONGODB_URI`, `ACCOUNTING_DATABASE`).
Exit code 1 when a chain is broken or a document does not verify; 2, with one line, when no
platform answers or the input is unusable.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from pydantic import ValidationError
from pymongo import ASCENDING, MongoClient

from contracts.ledger import CoCDocument, LedgerEntry, PeriodStatement
from libs import cli
from libs.mongo import CODEC_OPTIONS
from services.accounting.adapters import encoding
from services.accounting.adapters.keys import KEY_ID, signer_from_setting
from services.accounting.cli_shadow import shadow_report
from services.accounting.config import Settings
from services.accounting.domain import closing
from services.accounting.domain.chain import verify_chain
from services.accounting.signing import (
    DocumentInvalid,
    Signer,
    b64url_decode,
    public_key_from_text,
    public_key_texts,
    verify,
)


def _database(settings: Settings) -> Any:
    client: MongoClient[dict[str, Any]] = MongoClient(
        settings.mongodb_uri,
        type_registry=CODEC_OPTIONS.type_registry,
        tz_aware=True,
        serverSelectionTimeoutMS=10_000,
    )
    return client.get_database(settings.database, codec_options=CODEC_OPTIONS)


def _signer(settings: Settings, db: Any) -> Signer | None:
    if settings.signing_key:
        return signer_from_setting(settings.signing_key)
    doc = db["keys"].find_one({"_id": KEY_ID})
    return Signer.from_seed(b64url_decode(doc["seed"])) if doc else None


def balance(db: Any, account_id: str) -> int:
    doc = db["accounts"].find_one({"_id": account_id})
    if doc is None:
        print(f"no account {account_id}", file=sys.stderr)
        return 2
    account = encoding.account_from(doc)
    flag = db["account_flags"].find_one({"_id": account_id}) or {}
    print(
        f"account      {account.account_id} ({account.level.value}, organisation "
        f"{account.organisation_id})"
    )
    print(f"rule set     {account.rule_set_id} ({account.rules.version})")
    print(f"balance      {account.balance} kg")
    print(f"reserved     {account.reserved} kg (for claims)")
    print(f"free         {account.free} kg")
    for key, value in sorted(account.buckets.items()):
        print(f"  {key:<40} {value} kg")
    print(f"open period  {account.period.period_id} .. {account.period.end}")
    print(f"frozen       {'yes' if flag.get('frozen') else 'no'}")
    print(f"entries      {account.sequence}, chain head {account.last_hash}")
    return 0


def statement(db: Any, account_id: str, period: str | None) -> int:
    found = _statement_of(db, account_id, period)
    if found is None:
        return 2
    _print_statement(db, account_id, *found)
    return 0


def _statement_of(
    db: Any, account_id: str, period: str | None
) -> tuple[PeriodStatement, str] | None:
    """The open period's provisional statement or a closed period's, with its title; None (said on
    stderr) when there is no such account or closed period."""
    doc = db["accounts"].find_one({"_id": account_id})
    if doc is None:
        print(f"no account {account_id}", file=sys.stderr)
        return None
    account = encoding.account_from(doc)
    if period is None or period == account.period.period_id:
        state = closing.statement(account, account.period.end, datetime.now(UTC))
        title = "OPEN PERIOD (provisional)"
    else:
        found = db["statements"].find_one({"_id": f"{account_id}|{period}"})
        if found is None:
            closed = [
                d["period_id"]
                for d in db["statements"].find({"account_id": account_id}, {"period_id": 1})
            ]
            print(
                f"no closed period {period} for {account_id}; closed: "
                f"{', '.join(sorted(closed)) or 'none'}",
                file=sys.stderr,
            )
            return None
        state = encoding.statement_from(found)
        title = f"CLOSED at {state.closed_at.isoformat()}"
    return state, title


def _print_statement(db: Any, account_id: str, s: PeriodStatement, title: str) -> None:
    print(
        f"statement of {s.account_id}, period {s.period_id}: {s.period_start} .. {s.period_end}  "
        f"[{title}]"
    )
    print(f"rule set {s.rule_set_id} ({s.rule_set_version})")
    rows = [
        ("opening balance", s.opening_balance_kg),
        ("CoC input", s.coc_input_kg),
        ("total input", s.total_input_kg),
    ]
    rows += [(f"  input {k}", v) for k, v in sorted(s.inputs_by_category_kg.items())]
    rows += [
        ("CoC output", s.coc_output_kg),
        ("total output", s.total_output_kg),
        ("closing balance", s.closing_balance_kg),
        ("carried over", s.carried_over_kg),
        ("forfeited", s.forfeited_kg),
        ("expired", s.expired_kg),
    ]
    rows += [(f"  non-CoC input: {k}", v) for k, v in sorted(s.non_coc_inputs_kg.items())]
    if s.overshoot_brought_in_kg:
        rows.append(("overshoot brought in", s.overshoot_brought_in_kg))
    if s.percentage_overshoot_kg:
        rows.append((f"OVERSHOOT ({s.overshoot_handling})", s.percentage_overshoot_kg))
    for label, value in rows:
        print(f"  {label:<28} {value:>18} kg")
    for step, factor in sorted(s.conversion_applied.items()):
        print(f"  conversion {step:<17} x {factor}")
    for t in s.transformations:
        print(
            f"  {t.process_step} x {t.conversion_factor}: {t.input_kg} kg in ({t.coc_input_kg} kg "
            f"CoC credits), "
            f"{t.output_kg} kg product + {t.scrap_kg} kg process scrap out, {t.credits_created_kg} "
            f"kg credits made"
        )
    print(f"  last entry hash {s.last_entry_hash}")
    print("entries:")
    for d in (
        db["entries"].find(encoding.entries_filter(account_id, s.period_id)).sort("_id", ASCENDING)
    ):
        e = encoding.entry_from(d)
        print(
            f"  #{e.sequence:<5} {e.booked_on} {e.kind.value:<20} credit {e.coc_credit_kg:>14} "
            f"balance {e.balance_after_kg:>14}  {e.note or ''}"
        )


def verify_chains(db: Any, account_id: str | None) -> int:
    """Recompute every hash; also check that the balance document's chain head is the last entry."""
    accounts = [account_id] if account_id else sorted(db["entries"].distinct("account_id"))
    broken = 0
    for account in accounts:
        entries, problems = _chain_problems(db, account)
        for problem in problems:
            print(f"TAMPERED {account} {problem}")
        if problems:
            broken += 1
        else:
            print(f"ok       {account}: {len(entries)} entries")
    return 1 if broken else 0


def _chain_problems(db: Any, account: str) -> tuple[list[LedgerEntry], list[str]]:
    """An account's entries and what is wrong with its chain: a hash that does not follow, or a
    balance document whose chain head is not the last entry."""
    entries = [
        encoding.entry_from(d)
        for d in db["entries"].find(encoding.entries_filter(account)).sort("_id", ASCENDING)
    ]
    problems = [f"#{p.sequence}: {p.problem}" for p in verify_chain(entries)]
    head = db["accounts"].find_one({"_id": account}, {"last_hash": 1, "sequence": 1})
    last = (entries[-1].hash, entries[-1].sequence) if entries else (None, 0)
    if head is not None and (head["last_hash"] if entries else None, head["sequence"]) != last:
        problems.append("the balance document's chain head does not match the last entry")
    return entries, problems


def read_document(source: str) -> tuple[CoCDocument, str]:
    """The CoC Document and its signature from a CoCDocumentIssued message; `cli.CliError` saying
    what is wrong."""
    body = cli.read_json(source)
    if (
        not isinstance(body, dict)
        or not isinstance(body.get("document"), dict)
        or not isinstance(body.get("signature"), str)
    ):
        raise cli.CliError(
            f'{source} is not a CoCDocumentIssued message: it needs a "document" object and a '
            '"signature" string'
        )
    try:
        document = CoCDocument.model_validate(body["document"])
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "document"
        raise cli.CliError(
            f"{source}: its document is not a CoC Document ({exc.error_count()} problem(s); "
            f"document.{where}: {first['msg']})"
        ) from exc
    return document, body["signature"]


def verify_document(
    db: Any, settings: Settings, document: CoCDocument, signature: str, key_text: str | None
) -> int:
    if key_text:
        try:
            public_key = public_key_from_text(key_text)
        except ValueError as exc:
            raise cli.CliError(
                f"--public-key is not an Ed25519 public key (PEM or base64url): {exc}"
            ) from exc
    else:
        signer = _signer(settings, db)
        if signer is None:
            print("no signing key in the database; pass --public-key", file=sys.stderr)
            return 2
        public_key = signer.public_key
    try:
        verify(signature, public_key, document)
    except DocumentInvalid as exc:
        print(f"INVALID {document.document_id}: {exc}")
        return 1
    print(
        f"valid    {document.document_id}: {document.coc_mass_kg} kg from "
        f"{document.issuer_organisation_id} "
        f"to {document.recipient_organisation_id}, certificate {document.issuer_certificate_number}"
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m services.accounting.cli", description=__doc__.split("\n")[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("balance", help="an account's balance (one document read)").add_argument(
        "account"
    )
    p = commands.add_parser(
        "statement", help="a period statement with its entries (default: the open period)"
    )
    p.add_argument("account")
    p.add_argument("period", nargs="?")
    commands.add_parser("verify-chain", help="recompute the hash chains").add_argument(
        "account", nargs="?"
    )
    commands.add_parser("public-key", help="the public key that verifies CoC Documents")
    p = commands.add_parser(
        "verify-document", help="verify a CoCDocumentIssued message (JSON file or -)"
    )
    p.add_argument("source")
    p.add_argument(
        "--public-key",
        dest="public_key",
        help="PEM or base64url raw key, given as --public-key=KEY (a base64url key may start with "
        "'-'); "
        "default: this service's key",
    )
    p = commands.add_parser(
        "shadow", help="what every rule set would have allowed, per period (never authoritative)"
    )
    p.add_argument("account")
    p.add_argument(
        "--until",
        type=date.fromisoformat,
        help="close periods that ended before this day (default today)",
    )
    args = parser.parse_args(argv)
    return cli.run(lambda: _run(args))


def _run(args: argparse.Namespace) -> int:
    if args.command == "verify-document":
        document, signature = read_document(args.source)
        if args.public_key:
            return verify_document(None, Settings(), document, signature, args.public_key)
    settings = Settings.for_cli()
    cli.mongo_reachable(settings.mongodb_uri)
    db = _database(settings)
    if args.command == "balance":
        return balance(db, args.account)
    if args.command == "statement":
        return statement(db, args.account, args.period)
    if args.command == "shadow":
        return shadow_report(db, args.account, args.until)
    if args.command == "verify-chain":
        return verify_chains(db, args.account)
    if args.command == "public-key":
        signer = _signer(settings, db)
        if signer is None:
            print(
                "no signing key yet: start the service once, or set ACCOUNTING_SIGNING_KEY",
                file=sys.stderr,
            )
            return 2
        print(json.dumps(public_key_texts(signer.public_key), indent=2))
        return 0
    return verify_document(db, settings, document, signature, None)


if __name__ == "__main__":
    sys.exit(main())
