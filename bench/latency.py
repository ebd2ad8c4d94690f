"""The processor's per-contact time with a small and a large table, measured side by side.

Both tables live in one moto backend and are seeded through the processor itself,
so they hold what production would: identifier, profile, case, thread, hint and
marker items beside the contacts. Samples then alternate between the two tables
(A B, B A, ...), so load from anything else on the machine hits both alike and the
ratio shows only what the table's size costs.
"""

from __future__ import annotations

import gc
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from bench.dynamo import CountedProcessor, counted_processor, describe
from bench.traffic import Kind, Traffic
from shared.linking.processor import Outcome

REOPEN_WINDOW = timedelta(days=7)
SEED_SPAN = timedelta(days=30)  # the seeded history, long enough that many customers return after the window
SAMPLE_STEP = timedelta(minutes=1)
MIX = {Kind.CONTINUING: 0.60, Kind.NEW_CUSTOMER: 0.25, Kind.DUPLICATE: 0.15}
WARMUP_PER_KIND = 5
PROGRESS_EVERY_S = 10

Progress = Callable[[str], None]


@dataclass
class World:
    """One table with its traffic: what the processor has stored so far."""

    name: str
    counted: CountedProcessor
    traffic: Traffic
    stored: int = 0


@dataclass
class SizeTiming:
    """Samples of one table size, in milliseconds, by kind of contact."""

    stored: int
    items: int = 0
    customers: int = 0
    seed_s: float = 0.0
    ms: dict[Kind, list[float]] = field(default_factory=lambda: {kind: [] for kind in Kind})
    round_trips: dict[Kind, list[int]] = field(default_factory=lambda: {kind: [] for kind in Kind})

    @property
    def all_ms(self) -> list[float]:
        return [value for values in self.ms.values() for value in values]

    @property
    def median_ms(self) -> float:
        return statistics.median(self.all_ms)

    @property
    def p95_ms(self) -> float:
        return percentile(self.all_ms, 95)

    @property
    def mean_round_trips(self) -> float:
        return statistics.fmean(count for counts in self.round_trips.values() for count in counts)


@dataclass(frozen=True)
class Comparison:
    small: SizeTiming
    large: SizeTiming

    @property
    def median_ratio(self) -> float:
        return self.large.median_ms / self.small.median_ms

    @property
    def p95_ratio(self) -> float:
        return self.large.p95_ms / self.small.p95_ms


def percentile(values: list[float], pct: int) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]


def sample_plan(samples: int, seed: int) -> list[Kind]:
    """Exactly the mix's shares of each kind, in a shuffled order both tables follow."""
    counts = {kind: round(samples * share) for kind, share in MIX.items()}
    counts[Kind.CONTINUING] += samples - sum(counts.values())
    plan = [kind for kind, count in counts.items() for _ in range(count)]
    random.Random(seed).shuffle(plan)
    return plan


def seed_world(world: World, contacts: int, progress: Progress) -> float:
    """Run the seeded history through the processor until `contacts` are stored; returns seconds."""
    step = SEED_SPAN / contacts
    started = last_report = time.perf_counter()
    while world.stored < contacts:
        world.traffic.advance(step)
        result = world.counted.processor.process(world.traffic.history())
        world.counted.counter.take()
        if result.outcome is Outcome.STORED:
            world.stored += 1
        now = time.perf_counter()
        if now - last_report >= PROGRESS_EVERY_S or world.stored == contacts:
            last_report = now
            rate = world.stored / (now - started)
            progress(
                f"  seeding {world.name}: {world.stored:,}/{contacts:,} contacts "
                f"({rate:,.0f}/s, about {(contacts - world.stored) / rate:,.0f} s left)"
            )
    return time.perf_counter() - started


def _time_one(world: World, kind: Kind, timing: SizeTiming | None) -> None:
    world.traffic.advance(SAMPLE_STEP)
    contact = world.traffic.contact(kind)  # built outside the clock: only process() is timed
    world.counted.counter.take()
    start = time.perf_counter_ns()
    result = world.counted.processor.process(contact)
    elapsed_ms = (time.perf_counter_ns() - start) / 1e6
    calls = len(world.counted.counter.take())
    expected = Outcome.DUPLICATE if kind is Kind.DUPLICATE else Outcome.STORED
    opened_wrongly = kind is Kind.CONTINUING and result.case_opened
    if result.outcome is not expected or result.customer_created is not (kind is Kind.NEW_CUSTOMER) or opened_wrongly:
        raise RuntimeError(f"a {kind.value} sample came out as: {describe(result)}")
    if timing is not None:
        timing.ms[kind].append(elapsed_ms)
        timing.round_trips[kind].append(calls)
    if result.outcome is Outcome.STORED:
        world.stored += 1


def compare_sizes(small: int, large: int, samples: int, *, seed: int, progress: Progress) -> Comparison:
    """Seed both tables, then time the same mix of contacts against each, interleaved.

    Call inside `moto.mock_aws()`.
    """
    worlds = [
        World(f"{size:,} table", counted_processor(f"bench-{size}"), Traffic(seed + index, reopen_window=REOPEN_WINDOW))
        for index, size in enumerate((small, large))
    ]
    timings = []
    for world, size in zip(worlds, (small, large), strict=True):
        seconds = seed_world(world, size, progress)
        timings.append(
            SizeTiming(size, world.counted.item_count(), world.traffic.customers, seed_s=seconds),
        )
    progress(f"  timing {samples} contacts against each table, interleaved")
    for world in worlds:
        for kind in Kind:
            for _ in range(WARMUP_PER_KIND):
                _time_one(world, kind, None)
    # moto keeps the simulated tables in this very heap (in Lambda they are across the
    # network): freeze them, so the garbage collector does not walk the large table
    # while a sample of either table is on the clock.
    gc.collect()
    gc.freeze()
    pairs = list(zip(worlds, timings, strict=True))
    try:
        for index, kind in enumerate(sample_plan(samples, seed)):
            for world, timing in pairs if index % 2 == 0 else pairs[::-1]:
                _time_one(world, kind, timing)
    finally:
        gc.unfreeze()
    return Comparison(timings[0], timings[1])
