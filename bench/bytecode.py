"""What shipping bytecode is worth: cold imports with and without `.pyc` files for our code and the layer.

Lambda's file system is read-only: a module without a `.pyc` beside it is compiled
from source at every cold start and the result thrown away. The runtime brings its
standard library and boto3 compiled; our code and the layer's packages are compiled
only if the bundle ships their bytecode (infra/cdk/bundling.py does). Measured here
on this machine's Python with two bytecode caches kept apart from the sources
(PYTHONPYCACHEPREFIX): one holding every module, one holding only the standard
library's and the runtime-provided distributions'. Nothing is written during the
timed runs (PYTHONDONTWRITEBYTECODE), as on Lambda.
"""

from __future__ import annotations

import importlib.metadata
import shutil
import statistics
import sysconfig
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.imports import BASELINE, ROOT, probe
from infra.cdk.bundling import RUNTIME_PROVIDED

# A webhook, the email webhook with the most to compile, the processor and /v1.
MODULES = (
    "functions.twilio_sms.handler",
    "functions.ses.handler",
    "functions.processor.handler",
    "functions.api.handler",
)


@dataclass
class BytecodeTiming:
    module: str
    compiled: list[float] = field(default_factory=list)  # whole process, every module has its .pyc
    from_source: list[float] = field(default_factory=list)  # our code and the layer compiled at import
    error: str | None = None

    @property
    def compiled_ms(self) -> float:
        return statistics.median(self.compiled) * 1000

    @property
    def from_source_ms(self) -> float:
        return statistics.median(self.from_source) * 1000


def measure_bytecode(repeats: int, modules: Sequence[str] = MODULES) -> list[BytecodeTiming]:
    timings = [BytecodeTiming(module) for module in (BASELINE, *modules)]
    with tempfile.TemporaryDirectory(prefix="threadline-bytecode-") as scratch:
        everything, runtime_only = Path(scratch, "everything"), Path(scratch, "runtime-only")
        for timing in timings:  # writes the bytecode of every module each one imports
            timing.error = probe(timing.module, {"PYTHONPYCACHEPREFIX": str(everything)})[1]
        _copy_runtime_bytecode(everything, runtime_only)
        caches = {"compiled": everything, "from_source": runtime_only}
        for round_number in range(repeats):
            order = list(caches.items()) if round_number % 2 == 0 else list(reversed(caches.items()))
            for timing in timings:
                for name, cache in order:
                    if timing.error:
                        continue
                    result, timing.error = probe(
                        timing.module, {"PYTHONPYCACHEPREFIX": str(cache), "PYTHONDONTWRITEBYTECODE": "1"}
                    )
                    if result is not None:
                        getattr(timing, name).append(result.process_seconds)
    return timings


def _copy_runtime_bytecode(everything: Path, runtime_only: Path) -> None:
    """Keep the bytecode of what a Lambda runtime brings compiled: all but our code and the layer's packages."""
    site = Path(sysconfig.get_paths()["purelib"])
    provided = {top for name in RUNTIME_PROVIDED for top in _top_levels(name)}

    def runtime_brings(compiled: Path) -> bool:
        source = Path("/", compiled.relative_to(everything))  # the cache mirrors the sources' absolute paths
        if source.is_relative_to(site):
            return source.relative_to(site).parts[0].split(".")[0] in provided
        return not any(source.is_relative_to(ROOT / ours) for ours in ("shared", "functions"))

    for compiled in everything.rglob("*.pyc"):
        if runtime_brings(compiled):
            kept = runtime_only / compiled.relative_to(everything)
            kept.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(compiled, kept)


def _top_levels(distribution: str) -> set[str]:
    """The top-level packages and modules a distribution installed (`six.py` counts as `six`)."""
    try:
        files = importlib.metadata.distribution(distribution).files or []
    except importlib.metadata.PackageNotFoundError:
        return set()
    return {file.parts[0].removesuffix(".py") for file in files}
