"""Where the event-to-ledger time of the slowest events goes (issue 20 item 5).

Each hop stamps a record: the bench sends a plant event (its send time), intake hands the movement to
its Kafka producer (the movement record's timestamp), accounting hands the ledger entry to its producer
(the entry record's timestamp), and the bench's live watcher reads it (its arrival). For the events at
or above the p99 of the whole trip, the mean of each stage and its share of the trip:

* **intake**: the broker takes the event, intake's consumer polls it (poll wait, the batch it lands in),
  intake parses, decides and commits (the transaction), and hands the movement to its producer;
* **accounting**: the producer's linger and the broker's append of the movement, accounting's poll, its
  batch, parse, transaction and hand-over of the ledger entry;
* **the bench's read**: the broker's append of the entry and the watcher's poll (part of the measure,
  not of the platform).

Within a service's stage, the handling time (parse + transaction + hand-over to the outbox publisher,
`asi_batch_seconds` of `libs/metrics.py`, scraped from the service's `/metrics` before and after the
run) is a mean over the run's batches; the rest of the stage is waiting: poll wait, batch linger,
the broker, and queueing behind the batch before.
"""

from __future__ import annotations

import urllib.request
from dataclasses import dataclass
from itertools import pairwise

from prometheus_client.parser import text_string_to_metric_families

from bench.support import percentile


@dataclass(frozen=True)
class Batches:
    """`asi_batch_seconds` of one service and topic: handling seconds summed, and batch count."""

    seconds: float = 0.0
    count: float = 0.0

    def __sub__(self, other: Batches) -> Batches:
        return Batches(self.seconds - other.seconds, self.count - other.count)

    @property
    def mean_ms(self) -> float:
        return 1000 * self.seconds / self.count if self.count else float("nan")


def parse_batches(text: str) -> dict[str, Batches]:
    """Per topic, `asi_batch_seconds` sum and count from a Prometheus text exposition."""
    sums: dict[str, float] = {}
    counts: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        if family.name != "asi_batch_seconds":
            continue
        for sample in family.samples:
            topic = sample.labels.get("topic", "")
            if sample.name.endswith("_sum"):
                sums[topic] = sample.value
            elif sample.name.endswith("_count"):
                counts[topic] = sample.value
    return {t: Batches(sums.get(t, 0.0), counts.get(t, 0.0)) for t in sums.keys() | counts.keys()}


def scrape_batches(port: int | None, timeout_s: float = 5.0) -> dict[str, Batches]:
    """A running service's batch handling so far (empty when it serves no `/metrics`)."""
    if port is None:
        return {}
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=timeout_s) as answer:
        return parse_batches(answer.read().decode())


@dataclass(frozen=True)
class Stages:
    """The mean seconds of each stage over the slowest events, and how many events that was."""

    events: int
    threshold_s: float
    total_s: float
    intake_s: float
    accounting_s: float
    bench_read_s: float


@dataclass(frozen=True)
class Hops:
    """The mean seconds of each hop of a trip over its slowest trips, and how many trips that was."""

    events: int
    threshold_s: float
    total_s: float
    seconds: tuple[float, ...]
    """Per hop, in order: from one stamp to the next."""


def slowest_hops(stamps: list[dict[str, float]], q: float = 0.99) -> Hops | None:
    """The hops of the trips whose whole length (last stamp - first) is at or above its `q` quantile.
    `stamps` are, in the order of the trip, each stamp's time per id (seconds on one clock); ids
    missing a stamp are left out. None when no id has every stamp."""
    if len(stamps) < 2:
        return None
    first, last = stamps[0], stamps[-1]
    trips = {i: last[i] - t for i, t in first.items() if all(i in stamp for stamp in stamps[1:])}
    if not trips:
        return None
    threshold = percentile(list(trips.values()), q)
    slow = [i for i, trip in trips.items() if trip >= threshold]

    def mean(values: list[float]) -> float:
        return sum(values) / len(values)

    return Hops(
        events=len(slow),
        threshold_s=threshold,
        total_s=mean([trips[i] for i in slow]),
        seconds=tuple(
            mean([later[i] - earlier[i] for i in slow]) for earlier, later in pairwise(stamps)
        ),
    )


def slowest_stages(
    sent: dict[str, float],
    moved: dict[str, float],
    booked: dict[str, float],
    seen: dict[str, float],
    q: float = 0.99,
) -> Stages | None:
    """Stages of the events whose whole trip (`seen` - `sent`) is at or above its `q` quantile.
    Every stamp is in seconds on one clock (the bench converts its own to the wall clock of the
    records); events missing a stamp are left out. None when no event has every stamp."""
    hops = slowest_hops([sent, moved, booked, seen], q)
    if hops is None:
        return None
    intake_s, accounting_s, bench_read_s = hops.seconds
    return Stages(hops.events, hops.threshold_s, hops.total_s, intake_s, accounting_s, bench_read_s)
