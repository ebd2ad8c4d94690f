"""Nothing lost when the SDK repeats an applied call, or when a redelivery arrives after later messages.

A late redelivery is compared with the fault-free run in which the message arrived
late, up to the names that arrival order gives ids (tests/faults/engine.py, `canonical`).
"""

from __future__ import annotations

import pytest

from tests.faults import suite
from tests.faults.engine import FaultKind


@pytest.mark.parametrize("kind", [FaultKind.RETRY, FaultKind.LATE], ids=lambda kind: kind.name)
def test_a_repeated_or_late_delivery_ends_where_a_fault_free_run_ends(
    kind: FaultKind, request: pytest.FixtureRequest
) -> None:
    tally = suite.run(request.config, [kind])[kind]
    assert tally.scenarios > 100
    assert tally.diverged == 0, "\n".join(tally.examples[:10])
