"""What the pytest files of the fault suite share: run some kinds, and leave their table for the summary.

Tests may run in xdist workers, whose output the terminal never shows: each run
leaves its table in pytest's cache, and the controller prints them at the end
(tests/component/conftest.py), as `make faults` prints them.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from tests.faults.engine import FaultKind, Tally, check, summary
from tests.faults.workload import steps

CACHE_KEY = "threadline/faults"


def run(config: pytest.Config, kinds: Sequence[FaultKind]) -> dict[FaultKind, Tally]:
    tallies = check(steps(), kinds)
    assert config.cache is not None
    for kind in kinds:
        config.cache.set(f"{CACHE_KEY}/{kind.name}", summary({kind: tallies[kind]}))
    return tallies


def forget(config: pytest.Config) -> None:
    if config.cache is not None:
        for kind in FaultKind:
            config.cache.set(f"{CACHE_KEY}/{kind.name}", None)


def tables(config: pytest.Config) -> list[str]:
    if config.cache is None:
        return []
    return [table for kind in FaultKind if (table := config.cache.get(f"{CACHE_KEY}/{kind.name}", None))]
