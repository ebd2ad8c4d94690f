"""Cold import time of every function module, beside a handler that imports only boto3.

Each measurement is a fresh interpreter (`python -c`), as a Lambda cold start is,
and gives two figures: the import alone, timed inside the process, and the whole
process (interpreter start, import, exit), timed from outside. The rounds rotate
through the modules, the baseline among them, so a busy moment of the machine is
shared out fairly; the ratio to the baseline is taken between medians.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

BASELINE = "bench.boto3_only_handler"
ROOT = Path(__file__).resolve().parent.parent
PROBE_TIMEOUT_S = 120
# Issue 14: a function a channel calls (a webhook, or a feeder of the ingest queue) starts
# within 1.5x of the boto3-only handler; the processor, the events and the /v1 API within 2x.
CHANNEL_FUNCTION_TARGET = 1.5
OTHER_FUNCTION_TARGET = 2.0
# What the stack sets for every function; tracing off because no X-Ray daemon listens here.
LAMBDA_ENVIRONMENT = {
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_SERVICE_NAME": "threadline-bench",
    "POWERTOOLS_METRICS_NAMESPACE": "Threadline",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
}
BYTECODE_VARIABLES = ("PYTHONPYCACHEPREFIX", "PYTHONDONTWRITEBYTECODE")
# Nothing beyond what the interpreter has already loaded at start, so the probe adds no import of its own.
PROBE = """
import sys, time
before = len(sys.modules)
start = time.perf_counter()
__import__(sys.argv[1])
print(time.perf_counter() - start, len(sys.modules) - before, "boto3" in sys.modules)
"""


@dataclass
class ImportTiming:
    module: str
    target: float | None = None  # the most the whole process may take, as a multiple of the baseline's
    seconds: list[float] = field(default_factory=list)
    process_seconds: list[float] = field(default_factory=list)
    modules_loaded: int = 0
    loads_boto3: bool = False
    error: str | None = None

    @property
    def median_ms(self) -> float:
        return statistics.median(self.seconds) * 1000

    @property
    def process_median_ms(self) -> float:
        return statistics.median(self.process_seconds) * 1000


def function_targets() -> dict[str, float]:
    """Each function module and its target; read at run time, because the topology is the one list and it grows."""
    from infra.topology import FUNCTIONS

    return {spec.module: CHANNEL_FUNCTION_TARGET if spec.channel else OTHER_FUNCTION_TARGET for spec in FUNCTIONS}


@dataclass(frozen=True)
class ProbeResult:
    seconds: float
    process_seconds: float
    modules: int
    boto3: bool


def probe_environment(overrides: Mapping[str, str]) -> dict[str, str]:
    """The caller's environment less its bytecode settings (the bench decides those), with what the
    stack sets and `overrides`: where the bytecode cache is and whether a probe may write to it."""
    inherited = {name: value for name, value in os.environ.items() if name not in BYTECODE_VARIABLES}
    return {**inherited, **LAMBDA_ENVIRONMENT, **overrides}


def probe(module: str, bytecode: Mapping[str, str]) -> tuple[ProbeResult | None, str | None]:
    """One fresh interpreter importing `module`: its figures, or None and the error's last line."""
    environment = probe_environment(bytecode)
    started = time.perf_counter()
    completed = subprocess.run(  # noqa: S603 -- our own interpreter and probe, a module name from the topology
        [sys.executable, "-c", PROBE, module],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=PROBE_TIMEOUT_S,
        check=False,
    )
    process_seconds = time.perf_counter() - started
    if completed.returncode != 0:
        last_line = (completed.stderr.strip().splitlines() or ["exited with an error"])[-1]
        return None, last_line[:200]
    seconds, modules, boto3 = completed.stdout.split()
    return ProbeResult(float(seconds), process_seconds, int(modules), boto3 == "True"), None


def measure_imports(targets: Mapping[str, float | None], repeats: int) -> list[ImportTiming]:
    """The baseline first, then each module (with its target, if any). Every module is measured
    compiled, as the bundle ships it: one unrecorded round first writes a bytecode cache of its own."""
    timings = [ImportTiming(BASELINE), *(ImportTiming(module, target) for module, target in targets.items())]
    with tempfile.TemporaryDirectory(prefix="threadline-bytecode-") as cache:
        _rounds(timings, repeats, {"PYTHONPYCACHEPREFIX": cache})
    return timings


def _rounds(timings: list[ImportTiming], repeats: int, bytecode: Mapping[str, str]) -> None:
    for round_number in range(repeats + 1):
        shift = round_number % len(timings)
        for timing in timings[shift:] + timings[:shift]:
            if timing.error:
                continue
            result, error = probe(timing.module, bytecode)
            if result is None:
                timing.error = error
                continue
            if round_number == 0:
                continue
            timing.seconds.append(result.seconds)
            timing.process_seconds.append(result.process_seconds)
            timing.modules_loaded = result.modules
            timing.loads_boto3 = result.boto3
