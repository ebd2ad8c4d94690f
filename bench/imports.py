"""Cold import time of every function module, beside a handler that imports only boto3.

Each measurement is a fresh interpreter (`python -c`), as a Lambda cold start is.
The probe times the import alone, not the interpreter's own start, and the rounds
rotate through the modules so a busy moment of the machine is shared out fairly.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

BASELINE = "bench.boto3_only_handler"
ROOT = Path(__file__).resolve().parent.parent
PROBE_TIMEOUT_S = 120
# What the stack sets for every function; tracing off because no X-Ray daemon listens here.
LAMBDA_ENVIRONMENT = {
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_SERVICE_NAME": "threadline-bench",
    "POWERTOOLS_METRICS_NAMESPACE": "Threadline",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
}
PROBE = """
import importlib, json, sys, time
before = set(sys.modules)
start = time.perf_counter()
importlib.import_module(sys.argv[1])
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "modules": len(set(sys.modules) - before), "boto3": "boto3" in sys.modules}))
"""


@dataclass
class ImportTiming:
    module: str
    seconds: list[float] = field(default_factory=list)
    modules_loaded: int = 0
    loads_boto3: bool = False
    error: str | None = None

    @property
    def median_ms(self) -> float:
        return statistics.median(self.seconds) * 1000


def function_modules() -> list[str]:
    """Read at run time: the topology is the one list of functions, and it grows."""
    from infra.topology import FUNCTIONS

    return [spec.module for spec in FUNCTIONS]


@dataclass(frozen=True)
class _ProbeResult:
    seconds: float
    modules: int
    boto3: bool


def _probe(module: str) -> tuple[_ProbeResult | None, str | None]:
    environment = {**os.environ, **LAMBDA_ENVIRONMENT}
    completed = subprocess.run(  # noqa: S603 -- our own interpreter and probe, a module name from the topology
        [sys.executable, "-c", PROBE, module],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=PROBE_TIMEOUT_S,
        check=False,
    )
    if completed.returncode != 0:
        last_line = (completed.stderr.strip().splitlines() or ["exited with an error"])[-1]
        return None, last_line[:200]
    found = json.loads(completed.stdout.strip().splitlines()[-1])
    return _ProbeResult(float(found["seconds"]), int(found["modules"]), bool(found["boto3"])), None


def measure_imports(modules: Sequence[str], repeats: int) -> list[ImportTiming]:
    """The baseline first, then each module; one unrecorded round first writes the bytecode caches."""
    timings = [ImportTiming(module) for module in (BASELINE, *modules)]
    for round_number in range(repeats + 1):
        shift = round_number % len(timings)
        for timing in timings[shift:] + timings[:shift]:
            if timing.error:
                continue
            result, error = _probe(timing.module)
            if result is None:
                timing.error = error
                continue
            if round_number == 0:
                continue
            timing.seconds.append(result.seconds)
            timing.modules_loaded = result.modules
            timing.loads_boto3 = result.boto3
    return timings
