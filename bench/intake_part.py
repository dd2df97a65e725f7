"""The first part of the run: the broker and database ceilings, then intake alone on a backlog of
plant events (phases 1 and 2)."""

from __future__ import annotations

from bench.answers import MOVEMENT_TOPICS, _refused, pick_movement
from bench.ceilings import INTAKE_DOCUMENTS, broker_ceiling, database_ceiling
from bench.harness import SITES, Bench, _backlog_run
from bench.processes import Services


async def _intake_part(bench: Bench, services: Services) -> None:
    """Intake alone, with the ceilings it is compared with (on a stack of its own when embedded)."""
    quick = bench.quick
    mix = bench.chain.mix(bench.events)
    bench.note(
        "plant event mix (per stream): "
        + ", ".join(f"{k} {v / bench.events:.0%}" for k, v in mix.items())
        + f"; {SITES} sites, one organisation each, default rule set (group, percentage)"
    )

    # 1. ceilings ---------------------------------------------------------------------------------
    broker = await broker_ceiling(bench.endpoints.kafka_bootstrap, 20_000 if quick else 50_000)
    bench.row("broker ceiling: produce (acks=all), msgs/s", f"{broker['produce_per_s']:,.0f}")
    bench.row("broker ceiling: consume (one group), msgs/s", f"{broker['consume_per_s']:,.0f}")
    # Each database ceiling writes the documents of as many events as the run it is compared with:
    # the database slows as its collections grow (intake alone: 0.20-0.24 ms of database CPU per event
    # over 40,000 events, 0.31 ms over 240,000), so a short ceiling flatters the database.
    bench.intake_ceiling = (
        await database_ceiling(
            bench.endpoints.mongodb_uri, INTAKE_DOCUMENTS, events=bench.intake_events
        )
    )["events_per_s"]
    bench.row(
        "database ceiling: intake's documents, batched txns, events/s",
        f"{bench.intake_ceiling:,.0f}",
    )

    # 2. intake alone, on a backlog -------------------------------------------------------------------
    await _start_intake(bench, services)
    per_s, outcomes = await _backlog_run(
        bench,
        services,
        "intake alone",
        bench.intake_events,
        MOVEMENT_TOPICS,
        pick_movement,
        restart=["intake"],
        caught_up=[("intake", "plant.events.v1")],
    )
    bench.row(
        "intake alone / intake's database ceiling",
        f"{per_s / bench.intake_ceiling:.2f}",
        "target >= 0.5",
    )
    bench.row("intake alone: events refused (should be 0)", f"{_refused(outcomes):,}")


async def _start_intake(bench: Bench, services: Services) -> None:
    """Certificates and intake started, the registry published, and a warm-up answered."""
    services.start("certificates")
    services.start("intake")
    await bench.publish(bench.chain.registry())
    async with bench.watch(MOVEMENT_TOPICS, pick_movement) as watch:
        warm = await bench.stream(SITES)
        await bench.wait(watch, set(warm), "intake warm-up", 180)
        bench.outcomes(watch, set(warm), "warm-up outcomes")
