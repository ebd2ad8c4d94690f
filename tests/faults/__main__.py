"""`python -m tests.faults [KIND ...]`: inject every fault at every crash point and print the tally."""

from __future__ import annotations

import os
import sys
import time


def main(argv: list[str]) -> int:
    # moto in this process only: a region and fake credentials, never the shell's.
    os.environ.update(
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        POWERTOOLS_TRACE_DISABLED="true",
    )
    os.environ.pop("AWS_PROFILE", None)
    from tests.faults.engine import FaultKind, check, summary
    from tests.faults.workload import steps

    kinds = [FaultKind[name.upper()] for name in argv] or list(FaultKind)
    started = time.perf_counter()
    tallies = check(steps(), kinds, progress=lambda line: print(line, file=sys.stderr, flush=True))
    print(summary(tallies))
    print(f"\n{sum(t.scenarios for t in tallies.values())} scenarios in {time.perf_counter() - started:.0f} s")
    return 1 if any(t.diverged for t in tallies.values()) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
