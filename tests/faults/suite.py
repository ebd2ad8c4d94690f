"""What the pytest files of the fault suite share: run some kinds, and leave their table for the summary.

Tests may run in xdist workers, whose output the terminal never shows: each run
leaves its table in pytest's cache, and the controller prints them at the end
(tests/conftest.py), as `make faults` prints them.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from tests.faults.engine import FaultKind, Tally, check, summary
from tests.faults.workload import steps

CACHE_KEY = "threadline/faults"


def run(config: pytest.Config, kinds: Sequence[FaultKind]) -> dict[FaultKind, Tally]:
    tallies = check(steps(), kinds)
    if (cache := _cache(config)) is not None:
        for kind in kinds:
            cache.set(f"{CACHE_KEY}/{kind.name}", summary({kind: tallies[kind]}))
    return tallies


def forget(config: pytest.Config) -> None:
    if (cache := _cache(config)) is not None:
        for kind in FaultKind:
            cache.set(f"{CACHE_KEY}/{kind.name}", None)


def tables(config: pytest.Config) -> list[str]:
    if (cache := _cache(config)) is None:
        return []
    return [table for kind in FaultKind if (table := cache.get(f"{CACHE_KEY}/{kind.name}", None))]


def _cache(config: pytest.Config) -> pytest.Cache | None:
    """None under `-p no:cacheprovider`: the tallies are then asserted but not printed."""
    return getattr(config, "cache", None)
