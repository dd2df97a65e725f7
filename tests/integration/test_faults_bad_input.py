"""Fault test: thousands of generated bad plant events (hypothesis). Every one is refused with a reason
(`intake.rejections.v1`), dead-lettered when it cannot be parsed (`plant.events.v1.dlq`), or, for an
overdraft intake lets through, refused by the ledger (`DesignationRefused`); no consumer stops (valid
probes sent behind them on every partition are booked) and no balance moves but the probes'."""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import hypothesis
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from contracts.common import (
    Actor,
    DueDiligenceStatus,
    MassUnit,
    MaterialCategory,
    ProcessStep,
    Role,
)
from contracts.deadletter import DeadLetterReason
from contracts.intake import IntakeReason as R
from contracts.ledger import LedgerReason
from contracts.plant import (
    MaterialReceived,
    MaterialShipped,
    MaterialTransformed,
    PlantLine,
)
from contracts.topics import PLANT_EVENTS
from services.accounting.app import build_runtime as build_accounting
from services.accounting.config import Settings as AccountingSettings
from services.intake.app import build_runtime as build_intake
from services.intake.config import Settings as IntakeSettings
from tests.faults_support import (
    Chain,
    FaultStack,
    Harness,
    Journey,
    Producer,
    Tally,
    interleave,
    partition_of,
    publish,
    start_groups_at_end,
)
from tests.support import running, service_settings

pytestmark = pytest.mark.integration

SEED = int(os.environ.get("FAULT_SEED", "20261122")) + 5
PER_STRATEGY = 250
GARBAGE = 600
DATES = st.dates(date(2026, 1, 1), date(2026, 10, 31))
FORMS = st.sampled_from(["ore", "crushed", "ingot", "sheet", "smelter-grade"])
TONNES = st.decimals(min_value=Decimal("0.001"), max_value=Decimal(400000), places=3)
NOT_SCRAP = st.sampled_from([MaterialCategory.BAUXITE, MaterialCategory.ALUMINA, MaterialCategory.ALUMINIUM])


def generate(strategy: st.SearchStrategy[Any], count: int, seed: int) -> list[Any]:
    """Up to `count` examples of a strategy (hypothesis generation only: nothing to shrink)."""
    found: list[Any] = []

    @hypothesis.seed(seed)
    @settings(max_examples=count, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def collect(value: Any) -> None:
        found.append(value)

    collect()
    return found


def now() -> datetime:
    return datetime.now(UTC)


def received(actor: Actor, site: str, day: date, category: MaterialCategory, q: Decimal,
             unit: MassUnit = MassUnit.TONNE, **body: Any) -> MaterialReceived:
    values = {"supplier_organisation_id": "trader-x", "product_form": "crushed", "due_diligence_reference": "DD-1",
              "due_diligence_status": DueDiligenceStatus.PASSED, **body}
    return MaterialReceived.create(actor=actor, occurred_at=now(), site_id=site, received_on=day,
                                   material_category=category, quantity=q, unit=unit, **values)


def shipped(actor: Actor, site: str, day: date, category: MaterialCategory, q: Decimal, coc: Decimal,
            unit: MassUnit = MassUnit.TONNE) -> MaterialShipped:
    return MaterialShipped.create(actor=actor, occurred_at=now(), site_id=site, shipped_on=day,
                                  customer_organisation_id="buyer-x", material_category=category,
                                  product_form="crushed", quantity=q, unit=unit, coc_quantity=coc,
                                  shipment_reference=f"DN-{uuid.uuid4().hex[:8]}")


def mined(actor: Actor, site: str, day: date, q_in: Decimal, q_out: Decimal, unit: MassUnit = MassUnit.TONNE,
          step: ProcessStep = ProcessStep.MINING) -> MaterialTransformed:
    return MaterialTransformed.create(
        actor=actor, occurred_at=now(), site_id=site, transformed_on=day, process_step=step,
        inputs=[PlantLine(material_category=MaterialCategory.BAUXITE, product_form="ore", quantity=q_in, unit=unit)],
        outputs=[PlantLine(material_category=MaterialCategory.BAUXITE, product_form="crushed", quantity=q_out,
                           unit=unit)])


class Bad:
    """The strategies of bad plant events for one chain; each draws (event, reason code it must be refused for)."""

    def __init__(self, chain: Chain, mine: Producer, refinery: Producer, document_id: str, free_kg: int) -> None:
        self.chain, self.mine, self.refinery, self.document_id, self.free_kg = (
            chain, mine, refinery, document_id, free_kg)
        self.other = chain.refineries[1]

    def plausible(self, actor: Actor, site: str) -> st.SearchStrategy[Any]:
        """Any well-formed event of a site, as its owner would send it."""
        return st.one_of(
            st.builds(received, st.just(actor), st.just(site), DATES, st.just(MaterialCategory.BAUXITE), TONNES),
            st.builds(lambda d, q: shipped(actor, site, d, MaterialCategory.BAUXITE, q, Decimal(0)), DATES, TONNES),
            st.builds(lambda d, q: mined(actor, site, d, q, q), DATES, TONNES),
        )

    def unknown_sites(self) -> st.SearchStrategy[Any]:
        sites = st.integers(0, 10**9).map(lambda n: f"ghost-{self.chain.run}-{n}")
        return sites.flatmap(lambda site: self.plausible(self.mine.actor, site)).map(lambda e: (e, R.UNKNOWN_SITE))

    def other_producers_sites(self) -> st.SearchStrategy[Any]:
        intruders = st.sampled_from([p.org for p in self.chain.producers] + [f"intruder-{self.chain.run}"])
        return st.tuples(intruders, st.sampled_from([self.mine, self.refinery])).filter(
            lambda pair: pair[0] != pair[1].org,
        ).flatmap(lambda pair: self.plausible(Actor(organisation_id=pair[0], role=Role.PRODUCER), pair[1].site)).map(
            lambda e: (e, R.SITE_NOT_OWNED))

    def huge_and_tiny(self) -> st.SearchStrategy[Any]:
        a, s = self.mine.actor, self.mine.site
        huge = st.integers(500_001, 10**18).map(Decimal)  # tonnes, above the 500 000 t ceiling of one line
        tiny = st.just(Decimal("0.000000001"))  # pounds: a microgram rounds to zero kilograms
        return st.one_of(
            st.builds(lambda d, q: (mined(a, s, d, q, q), R.QUANTITY_ABSURD), DATES, huge),
            st.builds(lambda d, q: (shipped(a, s, d, MaterialCategory.BAUXITE, q, Decimal(0)), R.QUANTITY_ABSURD),
                      DATES, huge),
            st.builds(lambda d, q: (mined(a, s, d, q, q, MassUnit.POUND), R.QUANTITY_NOT_POSITIVE), DATES, tiny),
            st.builds(lambda d, q: (shipped(a, s, d, MaterialCategory.BAUXITE, q, Decimal(0), MassUnit.POUND),
                                    R.QUANTITY_NOT_POSITIVE), DATES, tiny),
            st.builds(lambda d, q: (received(self.refinery.actor, self.refinery.site, d, MaterialCategory.BAUXITE, q,
                                             MassUnit.POUND), R.QUANTITY_NOT_POSITIVE), DATES, tiny),
        )

    def forged_documents(self) -> st.SearchStrategy[Any]:
        r, o, m = self.refinery, self.other, self.mine
        unknown = st.one_of(st.uuids().map(lambda u: f"coc-{u}"), st.text("ABCDEF0123456789", min_size=4, max_size=12)
                            .map(lambda t: f"DOC-{self.chain.run}-{t}"))
        known = self.document_id
        return st.one_of(
            # a document nobody issued: held, then refused at the deadline
            st.builds(lambda d, q, doc: (received(r.actor, r.site, d, MaterialCategory.BAUXITE, q,
                                                  supplier_organisation_id=m.org, supplier_site_id=m.site,
                                                  coc_document_id=doc), R.UNKNOWN_DOCUMENT), DATES, TONNES, unknown),
            # a real document, issued to another organisation
            st.builds(lambda d, q: (received(o.actor, o.site, d, MaterialCategory.BAUXITE, q,
                                             supplier_organisation_id=m.org, coc_document_id=known),
                                    R.DOCUMENT_NOT_FOR_RECIPIENT), DATES, TONNES),
            # a real document, for other material
            st.builds(lambda d, q, c: (received(r.actor, r.site, d, c, q, supplier_organisation_id=m.org,
                                                coc_document_id=known), R.DOCUMENT_MATERIAL_MISMATCH),
                      DATES, TONNES, st.sampled_from([MaterialCategory.ALUMINA, MaterialCategory.ALUMINIUM])),
            # a real document, claimed from another supplier
            st.builds(lambda d, q, s: (received(r.actor, r.site, d, MaterialCategory.BAUXITE, q,
                                                supplier_organisation_id=s, coc_document_id=known),
                                       R.DOCUMENT_SUPPLIER_MISMATCH),
                      DATES, TONNES, st.sampled_from([self.chain.mines[1].org, o.org, f"forger-{self.chain.run}"])),
        )

    def overdrafts(self) -> st.SearchStrategy[Any]:
        a, s = self.mine.actor, self.mine.site
        coc = st.integers(self.free_kg + 1, 400_000_000)
        return st.builds(lambda d, c, extra: (shipped(a, s, d, MaterialCategory.BAUXITE, Decimal(c + extra), Decimal(c),
                                                      MassUnit.KG), LedgerReason.INSUFFICIENT_CREDITS),
                         DATES, coc, st.integers(0, 10**6))

    def other_wrong_data(self) -> st.SearchStrategy[Any]:
        m, r = self.mine, self.refinery
        future = st.dates(date.today() + timedelta(days=3), date(2099, 12, 31))
        roles = st.sampled_from([Role.BRAND_OWNER, Role.CERTIFICATION_BODY, Role.SECRETARIAT, Role.SERVICE])
        steps = st.sampled_from([p for p in ProcessStep if p is not ProcessStep.MINING])
        return st.one_of(
            st.builds(lambda d, c, q: (received(m.actor, m.site, d, c, q), R.CATEGORY_NOT_ALLOWED), DATES, NOT_SCRAP,
                      TONNES),
            st.builds(lambda d, q: (mined(m.actor, m.site, d, q, q), R.DATE_IN_FUTURE), future, TONNES),
            st.builds(lambda d, q: (received(r.actor, r.site, d, MaterialCategory.BAUXITE, q), R.DATE_IN_FUTURE),
                      future, TONNES),
            st.builds(lambda d, q: (received(r.actor, r.site, d, MaterialCategory.BAUXITE, q,
                                             due_diligence_status=None), R.DUE_DILIGENCE_MISSING), DATES, TONNES),
            st.builds(lambda d, q, c: (received(r.actor, r.site, d, c, q), R.SCRAP_NOT_ALLOWED_AT_SITE), DATES, TONNES,
                      st.sampled_from([MaterialCategory.PRE_CONSUMER_SCRAP, MaterialCategory.POST_CONSUMER_SCRAP])),
            st.builds(lambda d, q, role: (mined(Actor(organisation_id=m.org, role=role), m.site, d, q, q),
                                          R.ACTOR_NOT_PRODUCER), DATES, TONNES, roles),
            st.builds(lambda d, q, step: (mined(m.actor, m.site, d, q, q, step=step), R.NO_DECLARED_YIELD),
                      DATES, TONNES, steps),
            st.builds(lambda d, q, more: (mined(m.actor, m.site, d, q, q + more), R.YIELD_EXCEEDED), DATES, TONNES,
                      st.decimals(min_value=Decimal("0.001"), max_value=Decimal(1000), places=3)),
            st.builds(lambda d, q, more: (shipped(m.actor, m.site, d, MaterialCategory.BAUXITE, q, q + more),
                                          R.COC_QUANTITY_EXCEEDS_SHIPMENT), DATES, TONNES,
                      st.decimals(min_value=Decimal("0.001"), max_value=Decimal(1000), places=3)),
            st.builds(lambda d, q: (shipped(r.actor, r.site, d, MaterialCategory.BAUXITE, q, Decimal(0)),
                                    R.CATEGORY_NOT_ALLOWED), DATES, TONNES),
        )

    def reused_ids(self, originals: list[Any]) -> st.SearchStrategy[Any]:
        """Other content under the id of an event already accepted."""
        return st.builds(lambda original, q: (
            original.model_copy(update={"inputs": [original.inputs[0].model_copy(update={"quantity": q})],
                                        "outputs": [original.outputs[0].model_copy(update={"quantity": q})]}),
            R.EVENT_ID_CONFLICT), st.sampled_from(originals), TONNES)


def _parses(raw: bytes) -> bool:
    try:
        PLANT_EVENTS.parse(raw)
    except ValidationError:
        return False
    return True


def garbage(templates: list[dict[str, Any]]) -> st.SearchStrategy[bytes]:
    """Bytes that are no plant event: noise, other JSON, and real events with one field broken."""
    wrong_values = st.one_of(
        st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.lists(st.integers(), max_size=2),
        st.dictionaries(st.text(max_size=3), st.integers(), max_size=2), st.text(max_size=12),
        st.sampled_from(["-5", "0", "1e400", "NaN", "Infinity", "1.0000000001", "9" * 29, "", "12,5", "2026-13-45",
                         "not-a-uuid", "bad id!", "x" * 200]),
    )

    def broken(template: dict[str, Any], how: str, field: str, value: Any) -> bytes:
        doc = json.loads(json.dumps(template))
        doc["event_id"] = str(uuid.uuid4())
        keys = [k for k in doc if k not in ("event_id",)]
        name = field if field in doc else keys[sum(map(ord, field)) % len(keys)]
        if how == "drop":
            doc.pop(name, None)
        elif how == "extra":
            doc[f"unexpected_{field}"] = value
        elif how == "line" and "inputs" in doc:
            doc["inputs"][0]["quantity"] = value
        else:
            doc[name] = value
        return json.dumps(doc).encode()

    fields = st.sampled_from(["type", "quantity", "unit", "site_id", "received_on", "shipped_on", "transformed_on",
                              "material_category", "actor", "occurred_at", "correlation_id", "coc_quantity",
                              "schema_version", "inputs", "process_step", "supplier_organisation_id"])
    mutated = st.builds(broken, st.sampled_from(templates), st.sampled_from(["drop", "set", "extra", "line"]), fields,
                        wrong_values)
    noise = st.one_of(st.binary(max_size=120), st.text(max_size=120).map(str.encode),
                      st.lists(st.integers(), max_size=4).map(lambda v: json.dumps(v).encode()),
                      st.just(b""), st.just(b"null"), st.just(b"{}"))
    return st.one_of(mutated, mutated, mutated, noise).filter(lambda raw: not _parses(raw))


async def test_thousands_of_bad_plant_events_are_all_refused_and_move_no_balance(tmp_path):
    chain = Chain(mines=2, refineries=2)
    assert len({partition_of(p.site) for p in chain.producers}) == 4, "the probes must cover every partition"
    mine, refinery = chain.mines[0], chain.refineries[0]
    journey = Journey(chain, SEED, generate=False)
    day = date(2026, 3, 2)
    setup = journey.add("setup", [
        journey.mine(mine, day, Decimal(1000)),
        journey.ship(mine, day, refinery.org, refinery.site, MaterialCategory.BAUXITE, "crushed", Decimal(100),
                     Decimal(100)),
        journey.mine(chain.mines[1], day, Decimal(10)),
    ])
    [document_id] = sorted(setup.expected.documents)
    free_kg = int(setup.expected.accounts[mine.account][0])
    bad = Bad(chain, mine, refinery, document_id, free_kg)
    cases: dict[str, list[tuple[Any, str]]] = {
        "unknown sites": generate(bad.unknown_sites(), PER_STRATEGY, SEED),
        "other producers' sites": generate(bad.other_producers_sites(), PER_STRATEGY, SEED + 1),
        "huge and tiny numbers": generate(bad.huge_and_tiny(), PER_STRATEGY, SEED + 2),
        "forged documents": generate(bad.forged_documents(), PER_STRATEGY, SEED + 3),
        "overdrafts": generate(bad.overdrafts(), PER_STRATEGY, SEED + 4),
        "other wrong data": generate(bad.other_wrong_data(), PER_STRATEGY, SEED + 5),
        "reused event ids": generate(bad.reused_ids([setup.events[0], setup.events[2]]), 60, SEED + 6),
    }
    # Fresh ids (hypothesis may draw the same example twice), except where reusing an id is the point.
    for name, items in cases.items():
        if name != "reused event ids":
            cases[name] = [(event.model_copy(update={"event_id": uuid.uuid4()}), code) for event, code in items]
    templates = [json.loads(PLANT_EVENTS.encode(e)) for e in setup.events] + [
        json.loads(PLANT_EVENTS.encode(e)) for e, _ in cases["forged documents"][:5]]
    junk = generate(garbage(templates), GARBAGE, SEED + 7)
    semantic = [item for items in cases.values() for item in items]
    total = len(semantic) + len(junk)
    assert total >= 1500, f"only {total} bad events generated: {Counter({k: len(v) for k, v in cases.items()})}"
    probes = journey.add("probes", [
        journey.mine(mine, day, Decimal(7)), journey.mine(chain.mines[1], day, Decimal(3)),
        journey.buy(refinery, day, Decimal(5), DueDiligenceStatus.PASSED),
        journey.buy(chain.refineries[1], day, Decimal(5), DueDiligenceStatus.PASSED),
    ])

    async with FaultStack(tmp_path / "stack") as faults:
        intake_settings = service_settings(IntakeSettings, faults.endpoints, hold_for=timedelta(seconds=2),
                                           recheck_every=timedelta(milliseconds=500))
        accounting_settings = service_settings(AccountingSettings, faults.endpoints)
        await start_groups_at_end(faults.endpoints.kafka_bootstrap, intake_settings, accounting_settings)
        tally = Tally(faults.recorder, chain.run)
        harness = Harness(journey, tally, faults.sender.producer, faults.endpoints.mongodb_uri,
                          intake_settings.database, accounting_settings.database)
        try:
            async with running(build_intake, intake_settings), running(build_accounting, accounting_settings):
                await harness.registry()
                await harness.play(setup)
                await harness.documents_known([document_id])
                before = await harness.ledger()
                started = time.monotonic()
                markers = [f"{chain.run}-garbage-{i}" for i in range(len(junk))]
                raw_items = [("plant.events.v1", key.encode(), value) for key, value in zip(markers, junk, strict=True)]
                items = [e for e, _ in semantic]
                stream = interleave([raw_items, items], random.Random(SEED))
                await publish(faults.sender.producer, stream)
                harness.mark(f"{total} bad events sent")
                # Valid events behind them, one on every partition: each consumer went on.
                await harness.play(probes, check=False)
                harness.mark("probes booked")

                async def all_answered() -> bool:
                    tally.update()
                    dead = {d.key for d in tally.dead}
                    return all(m in dead for m in markers) and all(
                        e.event_id in tally.rejected or e.event_id in tally.designations_refused for e in items)

                deadline = time.monotonic() + 90
                keys = set(markers)
                while not await all_answered():
                    failed = list({json.loads(d.payload).get("event_id"): d for d in tally.dead
                                   if d.key not in keys}.values())
                    assert not failed, (
                        f"{len(failed)} well-formed bad events were dead-lettered (the handler raised) instead of "
                        f"refused with a reason: " + "; ".join(
                            f"{d.reason_code} {d.payload[:300]} -> {d.errors[0].message[:400]}" for d in failed[:3]))
                    assert time.monotonic() < deadline, _unanswered(tally, cases, markers)
                    await asyncio.sleep(0.1)  # polling what the topics carried, with a deadline
                harness.mark("every bad event answered")
                await faults.recorder.settle(quiet_s=1.0)

                problems = []
                for name, pairs in cases.items():
                    for event, code in pairs:
                        codes = tally.rejected.get(event.event_id, set()) | tally.designations_refused.get(
                            event.event_id, set())
                        if code not in codes:
                            problems.append(f"{name}: {type(event).__name__} {event.event_id} refused for {codes}, "
                                            f"expected {code}")
                        if name != "reused event ids" and event.event_id in tally.movements and \
                                event.event_id not in tally.designations_refused:
                            problems.append(f"{name}: {event.event_id} became a movement")
                conflicts = {e.event_id for e, _ in cases["reused event ids"]}
                forged_contents = {(e.event_id, PLANT_EVENTS.encode(e).decode()) for e, _ in cases["reused event ids"]}
                answers = sum(len(tally.rejection_ids.get(i, ())) for i in conflicts)
                if answers != len({c for _, c in forged_contents}):
                    problems.append(f"reused ids: {answers} rejections for {len(forged_contents)} forged contents")
                letters = [d for d in tally.dead if d.key in set(markers)]
                if len({d.key for d in letters}) != len(markers) or len(letters) < len(markers):
                    problems.append(f"{len(letters)} dead letters for {len(markers)} unparseable messages")
                odd = [d.reason_code for d in letters if d.reason_code not in (
                    DeadLetterReason.NOT_JSON, DeadLetterReason.SCHEMA_INVALID, DeadLetterReason.UNKNOWN_TYPE)]
                if odd:
                    problems.append(f"dead letters with other reasons: {Counter(odd)}")
                stray = [d for d in tally.dead if d.key not in set(markers)]
                if stray:
                    problems.append(f"dead letters for parseable events (a handler failed): "
                                    f"{[(d.source_topic, d.errors[0].message[:200]) for d in stray[:3]]}")
                assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:30])
                # No balance moved but the probes': the books are the setup's plus one entry per probe.
                after = await harness.ledger()
                assert before == setup.expected.accounts, f"setup: {before} vs {setup.expected.accounts}"
                assert after == probes.expected.accounts, (
                    f"the books moved: {await harness.diff_text(probes.expected)}")
                print(f"\n{total} bad plant events ({Counter({k: len(v) for k, v in cases.items()})}, {len(junk)} "
                      f"unparseable) answered in {time.monotonic() - started:.1f}s; reasons seen "
                      f"{Counter(c for e, _ in semantic for c in tally.rejected.get(e.event_id, ()))}; "
                      f"timeline {harness.timeline}")
        finally:
            await harness.close()


def _unanswered(tally: Tally, cases: dict[str, list[tuple[Any, str]]], markers: list[str]) -> str:
    dead = {d.key for d in tally.dead}
    missing = {name: [str(e.event_id) for e, _ in pairs
                      if e.event_id not in tally.rejected and e.event_id not in tally.designations_refused]
               for name, pairs in cases.items()}
    return (f"unanswered bad events: { {k: len(v) for k, v in missing.items()} } (e.g. "
            f"{ {k: v[:2] for k, v in missing.items() if v} }), "
            f"{sum(1 for m in markers if m not in dead)} of {len(markers)} unparseable ones not dead-lettered")
