"""DynamoDB round trips per contact, one scenario at a time (DESIGN.md section 3 targets)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from moto import mock_aws

from bench.dynamo import counted_processor, describe
from bench.traffic import Kind, Traffic
from shared.model.contact import Contact

REOPEN_DAYS = 7


@dataclass(frozen=True)
class RoundTrips:
    scenario: str
    operations: tuple[str, ...]
    outcome: str  # what the processor reported, so a wrong scenario cannot pass unnoticed
    target: int | None  # the most DESIGN.md section 3 allows, where it names a number

    @property
    def count(self) -> int:
        return len(self.operations)


def measure_round_trips(seed: int = 7) -> list[RoundTrips]:
    """One customer's journey: a first SMS, a reply an hour later (and a message from just before it that
    arrives after it, a DLQ redrive), one after the window, a retry."""
    window = timedelta(days=REOPEN_DAYS)
    traffic = Traffic(seed, reopen_window=window)
    held: list[Contact] = []

    def held_back_then_next() -> Contact:
        held.append(traffic.latest_customer_again())  # sent now, delivered after the next one
        traffic.advance(timedelta(minutes=10))
        return traffic.contact(Kind.CONTINUING)

    steps: tuple[tuple[str, timedelta, Callable[[], Contact], int | None], ...] = (
        ("new customer", timedelta(0), lambda: traffic.contact(Kind.NEW_CUSTOMER), 4),
        ("known customer, open case", timedelta(hours=1), held_back_then_next, 3),
        ("arrived late (older than the customer's last contact)", timedelta(0), held.pop, None),
        ("known customer, after the reopen window", window + timedelta(days=1), traffic.latest_customer_again, 3),
        ("duplicate (a Twilio retry)", timedelta(minutes=5), lambda: traffic.contact(Kind.DUPLICATE), None),
    )
    results = []
    with mock_aws():
        counted = counted_processor("bench-round-trips", reopen_days=REOPEN_DAYS)
        for scenario, wait, next_contact, target in steps:
            traffic.advance(wait)
            contact = next_contact()
            counted.counter.take()
            result = counted.processor.process(contact)
            results.append(RoundTrips(scenario, tuple(counted.counter.take()), describe(result), target))
    return results
