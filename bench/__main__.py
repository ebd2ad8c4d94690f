"""`python -m bench [--quick] [--small N] [--large N] [--samples N] [--import-repeats N]`."""

from __future__ import annotations

import argparse
import resource
import sys
import time
from dataclasses import dataclass

from moto import mock_aws

from bench import report
from bench.bytecode import measure_bytecode
from bench.first_answer import measure_first_answers
from bench.imports import function_targets, measure_imports
from bench.latency import compare_sizes
from bench.roundtrips import measure_round_trips


@dataclass(frozen=True)
class Sizes:
    small: int
    large: int
    samples: int
    import_repeats: int


FULL = Sizes(small=1_000, large=20_000, samples=300, import_repeats=7)
QUICK = Sizes(small=200, large=1_000, samples=60, import_repeats=2)


@dataclass(frozen=True)
class Run:
    sizes: Sizes
    seed: int
    imports_only: bool = False


def parse_run(argv: list[str] | None) -> Run:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="DynamoDB round trips, per-contact processor time by table size, cold import times.",
    )
    parser.add_argument("--quick", action="store_true", help=f"a smoke run: {QUICK}")
    parser.add_argument("--small", type=int, help=f"contacts stored in the small table (default {FULL.small:,})")
    parser.add_argument("--large", type=int, help=f"contacts stored in the large table (default {FULL.large:,})")
    parser.add_argument("--samples", type=int, help=f"timed contacts per table (default {FULL.samples})")
    parser.add_argument(
        "--import-repeats", type=int, help=f"fresh interpreters per module (default {FULL.import_repeats})"
    )
    parser.add_argument("--seed", type=int, default=2026, help="seed of the synthetic traffic")
    parser.add_argument("--imports-only", action="store_true", help="measure the cold imports only (about a minute)")
    args = parser.parse_args(argv)
    preset = QUICK if args.quick else FULL
    sizes = Sizes(
        small=args.small or preset.small,
        large=args.large or preset.large,
        samples=args.samples or preset.samples,
        import_repeats=args.import_repeats or preset.import_repeats,
    )
    if not 0 < sizes.small < sizes.large:
        parser.error("--small must be positive and below --large")
    if sizes.samples < 20 or sizes.import_repeats < 1:
        parser.error("--samples must be at least 20 and --import-repeats at least 1")
    return Run(sizes, args.seed, args.imports_only)


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def main(argv: list[str] | None = None) -> None:
    run = parse_run(argv)
    sizes, seed = run.sizes, run.seed
    started = time.perf_counter()
    if not run.imports_only:
        progress("round trips ...")
        print(report.round_trips_section(measure_round_trips(seed)), end="\n\n", flush=True)

    targets = function_targets()
    progress(f"import times of {len(targets)} function modules, {sizes.import_repeats} fresh interpreters each ...")
    print(report.imports_section(measure_imports(targets, sizes.import_repeats), sizes.import_repeats), end="\n\n")
    progress("the same imports with and without bytecode ...")
    print(report.bytecode_section(measure_bytecode(sizes.import_repeats), sizes.import_repeats), end="\n\n")
    progress("cold start to the first answer ...")
    print(report.first_answer_section(measure_first_answers(sizes.import_repeats), sizes.import_repeats), end="\n\n")
    if run.imports_only:
        return

    progress(f"per-contact time: seeding {sizes.small:,} and {sizes.large:,} contacts through the processor ...")
    before = peak_rss_mib()
    with mock_aws():
        comparison = compare_sizes(sizes.small, sizes.large, sizes.samples, seed=seed, progress=progress)
    print(report.latency_section(comparison, sizes.samples), end="\n\n")
    print(report.memory_section(before, peak_rss_mib()))
    progress(f"done in {time.perf_counter() - started:,.0f} s")


if __name__ == "__main__":
    main()
