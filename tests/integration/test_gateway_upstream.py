"""From can to mine (issue 21): the `make run` day of production over the real services, broker and
database, and the upstream of the can maker's CoC Document read from the gateway: every level to the
mine and the scrap receipt, shares adding up to one per level, supplier names for the holder only,
no volumes for anyone but their owner, a supplier named publicly only once it opted in."""

from __future__ import annotations

import base64
import json
import random
import uuid
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from jsonschema import Draft202012Validator, FormatChecker

from contracts import ledger
from contracts.common import Role
from services.accounting.app import build_runtime as accounting
from services.accounting.config import Settings as AccountingSettings
from services.certificates.app import build_runtime as certification
from services.certificates.config import Settings as CertificatesSettings
from services.claims.app import build_runtime as claim_verification
from services.claims.config import Settings as ClaimsSettings
from devstack.gateway_testing import eventually, gateway_client
from services.intake.app import build_runtime as material_intake
from services.intake.config import Settings as IntakeSettings
from devstack.scenario import Platform, Story
from tests.integration.test_gateway_api import ADMIN, auth, gateway_settings, new_key
from tests.support import Sender, running, service_settings, unique
from libs.messaging import Incoming, Tx
from libs.mongo import database, mongo_client
from services.gateway import handlers, upstream
from services.gateway.domain import upstream as rules

pytestmark = pytest.mark.integration

UNTP_DPP = Draft202012Validator(json.loads(
    (Path(__file__).parents[1] / "vendor" / "untp" / "untp-dpp-schema-0.6.1.json").read_text()),
    format_checker=FormatChecker())


def b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def verified_offline(jws: str, jwk: dict[str, str]) -> dict[str, Any]:
    """The payload of a compact JWS whose EdDSA signature holds under `jwk` (raises otherwise)."""
    header, payload, signature = jws.split(".")
    Ed25519PublicKey.from_public_bytes(b64(jwk["x"])).verify(b64(signature), f"{header}.{payload}".encode())
    return json.loads(b64(payload))


def masses(view: Any) -> list[Any]:
    """Every mass a view shows, wherever it is."""
    if isinstance(view, dict):
        return [v for k, v in view.items() if k.endswith("_kg") and v is not None] + [
            m for v in view.values() for m in masses(v)]
    if isinstance(view, list):
        return [m for v in view for m in masses(v)]
    return []


async def test_the_can_makers_document_reaches_the_mine_and_the_scrap_receipt(stack):
    settings = {
        "certificates": service_settings(CertificatesSettings, stack),
        "intake": service_settings(IntakeSettings, stack),
        "accounting": service_settings(AccountingSettings, stack),
        "claims": service_settings(ClaimsSettings, stack),
    }
    builders = {"certificates": certification, "intake": material_intake, "accounting": accounting,
                "claims": claim_verification}
    async with AsyncExitStack() as services:
        for name, build in builders.items():
            await services.enter_async_context(running(build, settings[name]))
        async with gateway_client(gateway_settings(stack)) as (app, client), Platform(stack, lambda *_: None) as platform:
            story = Story(platform, suffix=f"-{platform.run}")
            await story.register()
            await story.certify()
            await platform.caught_up("certificates.events.v1",
                                     tuple(settings[n].group_id for n in ("intake", "accounting", "claims")))
            await story.production_day()
            cast = story.cast
            [document] = [m.document for m in platform.records if isinstance(m, ledger.CoCDocumentIssued)
                          and m.document.issuer_organisation_id == cast["cans"].org]
            keys = {who: await new_key(client, cast[who].org, role) for who, role in (
                ("cans", Role.PRODUCER), ("brand", Role.BRAND_OWNER), ("mill", Role.PRODUCER))}
            other_brand = await new_key(client, unique("org-other-brand"), Role.BRAND_OWNER)
            path = f"/v1/documents/{document.document_id}/upstream"

            async def to_the_mine() -> dict[str, Any] | None:
                response = await client.get(path, headers=auth(keys["cans"]))
                view = response.json() if response.status_code == 200 else None
                kinds = {s["kind"] for level in (view or {}).get("levels", []) for s in level["sources"]}
                # The mill's name and certificates come from certificates.events.v1: wait for them too.
                named = "Sierre Rolling SA" in str(view) and "provisional" in str(view)
                return view if {"origin", "eligible_scrap"} <= kinds and named else None

            holder = await eventually(to_the_mine, timeout=60, what="the upstream down to the mine and the scrap")
            brand = (await client.get(path, headers=auth(keys["brand"]))).json()
            detailed = (await client.get(f"{path}?detail=accounts", headers=auth(keys["cans"]))).json()
            brand_detailed = (await client.get(f"{path}?detail=accounts", headers=auth(keys["brand"]))).json()
            public_detailed = (await client.get(f"/documents/{document.document_id}/upstream?detail=accounts")).json()
            public = (await client.get(f"/documents/{document.document_id}/upstream")).json()
            stranger = await client.get(path, headers=auth(other_brand))
            assert (await client.put(f"/v1/members/{cast['mill'].org}/public-naming", json={"named": True},
                                     headers=auth(keys["cans"]))).status_code == 404
            assert (await client.put(f"/v1/members/{cast['mill'].org}/public-naming", json={"named": True},
                                     headers=auth(keys["mill"]))).status_code == 200
            named = (await client.get(f"/documents/{document.document_id}/upstream")).json()
            passport = await client.get(f"/v1/documents/{document.document_id}/passport", headers=auth(keys["brand"]))
            public_passport = await client.get(f"/documents/{document.document_id}/passport.json")
            page = await client.get(f"/documents/{document.document_id}/passport")
            stranger_passport = await client.get(f"/v1/documents/{document.document_id}/passport",
                                                 headers=auth(other_brand))
            # Accounting's public key, as any verifier learns it from `ledger.events.v1` (the gateway did).
            key = await app.state.gateway.db["signing_keys"].find_one({"_id": passport.json()["cocDocument"]["keyId"]})

    def sources(view: dict[str, Any], level: int) -> list[dict[str, Any]]:
        return view["levels"][level - 1]["sources"]

    def suppliers(view: dict[str, Any], level: int) -> set[tuple[str, str | None]]:
        return {(s["kind"], (s["sites"][0].get("organisation_id") if s["sites"] else (s.get("supplier") or {}).get(
            "organisation_id"))) for s in sources(view, level)}

    # Every level of the day, with exact shares adding up to one.
    assert [[s["share"] for s in level["sources"]] for level in holder["levels"]] == [
        ["0.800000", "0.200000"],          # 440 of the 550 t of coil from the mill are CoC
        ["0.400000", "0.300000", "0.300000"],  # 400 t CoC slab from the smelter, 300 t from the remelter, 300 t not
        ["0.571429", "0.428571"],          # the smelter's alumina, the remelter's scrap (4:3)
        ["1.000000"],                      # the refinery's bauxite, from the mine
        ["1.000000"],                      # the mine's own extraction
    ]
    assert all(Decimal(level["shares_add_up_to"]) == 1 == sum(Decimal(s["share"]) for s in level["sources"])
               for level in holder["levels"])
    assert suppliers(holder, 1) == {("coc_document", cast["mill"].org), ("non_coc", None)}
    assert suppliers(holder, 2) == {("coc_document", cast["smelter"].org), ("coc_document", cast["remelter"].org),
                                    ("non_coc", None)}
    assert suppliers(holder, 3) == {("coc_document", cast["refinery"].org), ("eligible_scrap", "uk-ubc-collectors")}
    assert suppliers(holder, 4) == {("coc_document", cast["mine"].org)}
    [origin] = sources(holder, 5)
    assert origin["kind"] == "origin" and origin["sites"][0]["site_id"] == cast["mine"].site
    assert origin["sites"][0]["country"] == "AU" and origin["sites"][0]["activities"] == ["mining"]
    assert {c["status_on_document_date"] for c in origin["sites"][0]["certificates"]} == {"active"}
    [mill] = sources(holder, 1)[0]["sites"]
    assert mill["name"] == "Sierre Rolling SA" and {c["status_on_document_date"] for c in mill["certificates"]} == {
        "active", "provisional"}

    # Volumes: the can maker sees the masses booked in its own account only; the brand (the document's
    # recipient) sees the same levels without any; another brand sees nothing.
    assert sources(holder, 1)[0]["coc_mass_kg"] == "440000.000"
    assert all(s["coc_mass_kg"] is None for n in (2, 3, 4, 5) for s in sources(holder, n))
    assert masses(brand) == [] and brand["levels"] and len(brand["levels"]) == len(holder["levels"])
    # Per receiving account, on request: the can maker's own account with its mass, the others' without.
    [cans_account] = sources(detailed, 1)[0]["accounts"]
    assert cans_account["into_organisation_id"] == cast["cans"].org and cans_account["coc_mass_kg"] == "440000.000"
    assert cans_account["share"] == "0.800000" and cans_account["document_ids"]
    assert all(p["coc_mass_kg"] is None for n in (2, 3, 4, 5) for s in sources(detailed, n) for p in s["accounts"])
    assert masses(brand_detailed) == [] and "accounts" in str(brand_detailed) and "accounts" not in str(public_detailed)
    assert stranger.status_code == 404
    # The public: countries, activities, certificate numbers and shares; a name only once opted in.
    assert masses(public) == [] and public["view"] == "public"
    assert [[s["share"] for s in level["sources"]] for level in public["levels"]] == [
        [s["share"] for s in level["sources"]] for level in holder["levels"]]
    public_mill = sources(public, 1)[0]["sites"][0]
    assert public_mill["country"] == "CH" and public_mill["certificate_numbers"] and "name" not in public_mill
    assert document.issuer_organisation_id not in str(public) and cast["mill"].org not in str(public)
    assert sources(named, 1)[0]["sites"][0]["name"] == "Sierre Rolling SA"
    assert cast["smelter"].org not in str(named)

    # The passport: UNTP DPP 0.6.1, valid against its schema; the signed CoC Document inside verifies
    # offline with accounting's published key; the public one has no masses; a page for people.
    assert passport.status_code == 200 and stranger_passport.status_code == 404
    dpp = passport.json()
    assert sorted(e.message for e in UNTP_DPP.iter_errors(dpp)) == []
    assert key is not None and key["issuer"] == "accounting"
    signed = verified_offline(dpp["cocDocument"]["jws"], key["jwk"])
    assert signed == dpp["cocDocument"]["document"] and signed["document_id"] == document.document_id
    header, _, signature = dpp["cocDocument"]["jws"].split(".")
    forged = base64.urlsafe_b64encode(json.dumps({**signed, "coc_mass_kg": "1"}).encode()).decode().rstrip("=")
    with pytest.raises(InvalidSignature):
        verified_offline(f"{header}.{forged}.{signature}", key["jwk"])
    assert dpp["credentialSubject"]["product"]["dimensions"]["weight"]["value"] == float(document.coc_mass_kg)
    assert dpp["credentialSubject"]["upstream"]["levels"] == brand["levels"]
    assert [c["conformance"] for c in dpp["credentialSubject"]["conformityClaim"]] == [True, True]
    public_dpp = public_passport.json()
    assert sorted(e.message for e in UNTP_DPP.iter_errors(public_dpp)) == [] and masses(public_dpp) == []
    assert "cocDocument" not in public_dpp and "dimensions" not in str(public_dpp)
    assert page.status_code == 200 and "0.571429" in page.text and "Product passport" in page.text


async def test_receipts_read_before_their_documents_ledger_events_still_find_their_upstream(stack):
    """The gateway reads `material.movements.v1` and `ledger.events.v1` independently: a receipt may be
    handled before the ledger event of the document it cites, and the upstream is the same."""
    from bench.upstream import chain

    messages, top = chain(levels=2, suppliers=3, prefix=unique("order-"))
    sender = await Sender(stack.kafka_bootstrap).start()
    try:
        async with gateway_client(gateway_settings(stack)) as (app, client):
            db = app.state.gateway.db
            for m in messages.movements:
                await sender.send(m)
            ids = [str(m.movement_id) for m in messages.movements]

            async def receipts_stored() -> bool:
                return await db["upstream_receipts"].count_documents({"_id": {"$in": ids}}) == len(ids)

            await eventually(receipts_stored, what="the receipts, before any ledger event")
            for m in messages.ledger:
                await sender.send(m)

            async def three_levels() -> dict[str, Any] | None:
                response = await client.get(f"/v1/documents/{top}/upstream", headers=auth(ADMIN))
                view = response.json() if response.status_code == 200 else None
                if not view or len(view["levels"]) != 3:
                    return None
                # The documents' ledger events came last: they set where each receipt's document was drawn
                # from. They are keyed by account, read in no set order: wait until every receipt is joined.
                joined = await db["upstream_receipts"].count_documents(
                    {"_id": {"$in": ids}, "upstream_account_period": {"$exists": True}})
                # Every account's entries too (until then its period shows as `no_input_in_period`).
                return view if joined == len(ids) and kinds_of(view) == EXPECTED else None

            view = await eventually(three_levels, what="the upstream of the top document, every receipt joined")
    finally:
        await sender.stop()
    assert kinds_of(view) == EXPECTED
    assert all(sum(Decimal(s["share"]) for s in level["sources"]) == 1 for level in view["levels"])


EXPECTED = [["coc_document", "non_coc"], ["coc_document", "non_coc"], ["origin"]]


def kinds_of(view: dict[str, Any]) -> list[list[str]]:
    return [sorted({s["kind"] for s in level["sources"]}) for level in view["levels"]]


# ---- the stored summaries against the raw books, for any arrival order, with redeliveries ------------


def reversal(of: ledger.LedgerEntryPosted, part: Decimal) -> ledger.LedgerEntryPosted:
    """A correction taking `part` of a receipt's masses back out of its period."""
    e = of.entry
    entry = e.model_copy(update={"entry_id": uuid.uuid4(), "kind": ledger.EntryKind.REVERSAL, "sequence": e.sequence + 1000,
                                 "reverses_entry_id": e.entry_id, "coc_input_kg": -e.coc_input_kg * part,
                                 "total_input_kg": -e.total_input_kg * part, "movement_id": uuid.uuid4()})
    return ledger.LedgerEntryPosted.create(actor=of.actor, occurred_at=datetime.now(UTC), entry=entry)


def reference(ledger_messages: list[Any], movement_messages: list[Any], top: str) -> list[list[tuple[Any, Fraction]]]:
    """The levels computed straight from the messages (no database): each input entry joined with its
    receipt, each document with the account-period its designation was debited in."""
    entries = {m.entry.entry_id: m.entry for m in ledger_messages if isinstance(m, ledger.LedgerEntryPosted)}
    designations = {e.movement_id: f"{e.account_id}|{e.period_id}" for e in entries.values()
                    if e.kind is ledger.EntryKind.DESIGNATION_DEBIT}
    documents = {m.document.document_id: designations[m.document.movement_id] for m in ledger_messages
                 if isinstance(m, ledger.CoCDocumentIssued)}
    receipts = {m.movement_id: m for m in movement_messages}
    inputs = []
    for e in entries.values():
        source = entries[e.reverses_entry_id] if e.kind is ledger.EntryKind.REVERSAL else e
        if source.kind is ledger.EntryKind.DESIGNATION_DEBIT or not (e.coc_input_kg or e.total_input_kg):
            continue
        ap = f"{e.account_id}|{e.period_id}"
        if source.kind is ledger.EntryKind.TRANSFORMATION:
            inputs.append(rules.Input(ap, e.account_id, e.site_id, rules.ORIGIN, e.coc_input_kg, e.total_input_kg,
                                      None, source.site_id, material_category="aluminium"))
            continue
        r = receipts[source.movement_id]
        inputs.append(rules.Input(ap, e.account_id, e.site_id, rules.COC_DOCUMENT, e.coc_input_kg, e.total_input_kg,
                                  r.supplier_organisation_id, r.supplier_site_id, r.coc_document_id, "aluminium"))
    [top_document] = [m.document for m in ledger_messages if isinstance(m, ledger.CoCDocumentIssued)
                      and m.document.document_id == top]
    weights = {designations[top_document.movement_id]: Fraction(1)}
    seen, levels = set(weights), []
    while weights:
        rows = rules.level(weights, inputs)
        if not rows:
            break
        levels.append([(r.key, r.share) for r in rows])
        weights = rules.next_weights(rows, documents, seen)
        seen.update(weights)
    return levels


def deliveries(ledger_messages: list[Any], movement_messages: list[Any], rnd: random.Random) -> list[tuple[str, list[Any]]]:
    """Both topics' messages interleaved at random, each partition (account; site) in its order, some
    delivered again later (redelivery after a crash), cut into batches of one topic."""
    queues: dict[tuple[str, str], list[Any]] = {}
    for m in ledger_messages:
        account = m.entry.account_id if isinstance(m, ledger.LedgerEntryPosted) else m.account_id
        queues.setdefault(("ledger", account), []).append(m)
    for m in movement_messages:
        queues.setdefault(("movements", m.site_id), []).append(m)
    order: list[tuple[str, Any]] = []
    while queues:
        key = rnd.choice(sorted(queues))
        order.append((key[0], queues[key].pop(0)))
        if not queues[key]:
            del queues[key]
    for _ in range(len(order) // 4):
        at = rnd.randrange(len(order))
        order.insert(rnd.randrange(at, len(order) + 1), order[at])
    batches: list[tuple[str, list[Any]]] = []
    for topic, m in order:
        if batches and batches[-1][0] == topic and len(batches[-1][1]) < rnd.randint(1, 12):
            batches[-1][1].append(m)
        else:
            batches.append((topic, [m]))
    return batches


SHAPES = st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(0, 2**32))
"""Levels, suppliers per level, and the seed of the order of arrival."""


def examples(count: int) -> list[tuple[int, int, int]]:
    """Shapes drawn by hypothesis (generation only: the test is async, and each example a new database)."""
    found: list[tuple[int, int, int]] = []

    @hypothesis_seed(20261203)
    @settings(max_examples=count, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(SHAPES)
    def collect(value: tuple[int, int, int]) -> None:
        found.append(value)

    collect()
    return found


async def test_the_stored_summaries_give_the_shares_of_the_raw_books_whatever_the_order_of_arrival(stack):
    """The gateway's own handlers write the summaries from both topics in random interleavings (each
    partition in order), with redeliveries and corrections; the upstream read from them has exactly
    the shares computed from the messages themselves."""
    from bench.upstream import chain

    client = mongo_client(stack.mongodb_uri, "test-upstream-order")
    try:
        for levels, suppliers, order in examples(12):
            rnd = random.Random(order)
            c, top = chain(levels=levels, suppliers=suppliers, prefix=unique("o-"))
            receipts = [m for m in c.ledger if isinstance(m, ledger.LedgerEntryPosted)
                        and m.entry.kind is ledger.EntryKind.RECEIPT_CREDIT]
            parts = [rnd.choice([Decimal(1), Decimal("0.5")]) for _ in range(min(2, len(receipts)))]
            corrections = [reversal(m, part) for m, part in zip(rnd.sample(receipts, k=len(parts)), parts, strict=True)]
            ledger_messages = c.ledger + corrections
            name = f"upstream_order_{uuid.uuid4().hex[:8]}"
            db = database(client, name)
            try:
                for topic, batch in deliveries(ledger_messages, c.movements, rnd):
                    handler = handlers.handle_ledger_events if topic == "ledger" else handlers.handle_movements
                    async with client.start_session() as session:
                        await handler([Incoming(m, None) for m in batch], Tx(db, session, datetime.now(UTC)))
                record = await db["documents"].find_one({"_id": top})
                assert record is not None
                u = await upstream.compute(db, record)
                expected = reference(ledger_messages, c.movements, top)
                assert [[(r.key, r.share) for r in rows] for rows in u.levels] == expected
                assert all(sum(s for _, s in rows) == 1 for rows in expected)
                # Every level down to the mines, unless a receipt reversed in full emptied a period.
                assert len(expected) == levels + 1 or Decimal(1) in parts
                # One summary per account-period that booked an input (the brand's, the can maker's, each
                # supplier's), complete: handled one after the other, in any order, the handlers joined
                # every receipt and document (the reader's own look-ups are for handlers that ran at once).
                facts = rules.Facts()
                async for summary in db["upstream_periods"].find({}):
                    facts.add(summary["_id"], summary)
                assert len(facts.by_account_period) == 2 + suppliers * levels
                assert len(facts.entries) == sum(1 for m in ledger_messages if isinstance(m, ledger.LedgerEntryPosted)
                                                 and m.entry.kind is not ledger.EntryKind.DESIGNATION_DEBIT)
                assert facts.receipts_missing() == [] and facts.reversed_missing() == []
            finally:
                await client.drop_database(name)
    finally:
        await client.close()
