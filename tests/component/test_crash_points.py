"""Nothing lost at any crash point: every fault at every DynamoDB call of the workload, then a redelivery.

The engine and the workload are in tests/faults; `make faults` prints the same table.
Split in two files so the two test workers share the work.
"""

from __future__ import annotations

import pytest

from tests.faults import suite
from tests.faults.engine import FaultKind


@pytest.mark.parametrize("kind", [FaultKind.BEFORE, FaultKind.AFTER, FaultKind.PARTIAL], ids=lambda kind: kind.name)
def test_a_crash_at_any_call_then_a_redelivery_ends_where_a_fault_free_run_ends(
    kind: FaultKind, request: pytest.FixtureRequest
) -> None:
    tally = suite.run(request.config, [kind])[kind]
    assert tally.scenarios > 100
    assert tally.diverged == 0, "\n".join(tally.examples[:10])
