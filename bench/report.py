"""Plain-text tables of the bench's results."""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from bench.bytecode import BytecodeTiming
from bench.first_answer import FirstAnswer
from bench.imports import BASELINE, ImportTiming
from bench.latency import Comparison
from bench.roundtrips import RoundTrips
from bench.traffic import Kind


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, left: frozenset[int] = frozenset({0})) -> str:
    """Columns sized to fit: text columns (`left`) aligned left, numbers right."""
    widths = [max(len(row[column]) for row in (headers, *rows)) for column in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            cell.ljust(width) if column in left else cell.rjust(width)
            for column, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(headers), rule, *(line(row) for row in rows)])


def round_trips_section(results: Sequence[RoundTrips]) -> str:
    rows = [
        [
            result.scenario,
            str(result.count),
            "-" if result.target is None else f"<= {result.target}",
            " -> ".join(result.operations),
            result.outcome,
        ]
        for result in results
    ]
    headers = ["contact", "round trips", "target", "DynamoDB operations", "processor says"]
    body = table(headers, rows, left=frozenset({0, 3, 4}))
    return "DynamoDB round trips per contact (botocore before-call hooks)\n" + body


def _ms(value: float) -> str:
    return f"{value:.2f} ms"


def latency_section(comparison: Comparison, samples: int) -> str:
    small, large = comparison.small, comparison.large

    def kind_row(kind: Kind) -> list[str]:
        small_ms, large_ms = small.ms[kind], large.ms[kind]
        if not small_ms or not large_ms:
            return [f"  median, {kind.value}", "-", "-", "-"]
        small_median, large_median = statistics.median(small_ms), statistics.median(large_ms)
        return [
            f"  median, {kind.value} (n={len(small_ms)})",
            _ms(small_median),
            _ms(large_median),
            f"{large_median / small_median:.2f}",
        ]

    rows = [
        ["median, all samples", _ms(small.median_ms), _ms(large.median_ms), f"{comparison.median_ratio:.2f}"],
        ["p95, all samples", _ms(small.p95_ms), _ms(large.p95_ms), f"{comparison.p95_ratio:.2f}"],
        *(kind_row(kind) for kind in Kind),
        ["round trips per contact (mean)", f"{small.mean_round_trips:.2f}", f"{large.mean_round_trips:.2f}", ""],
        ["items in the table", f"{small.items:,}", f"{large.items:,}", ""],
        ["customers", f"{small.customers:,}", f"{large.customers:,}", ""],
        ["seeding through the processor", f"{small.seed_s:,.0f} s", f"{large.seed_s:,.0f} s", ""],
    ]
    headers = ["", f"{small.stored:,} stored", f"{large.stored:,} stored", "ratio"]
    title = f"Processor time per contact (moto in-process, {samples} samples per table, interleaved)"
    return title + "\n" + table(headers, rows)


def imports_section(timings: Sequence[ImportTiming], repeats: int) -> str:
    baseline = next(timing for timing in timings if timing.module == BASELINE)
    measured = not baseline.error and bool(baseline.seconds)
    rows = []
    for timing in timings:
        if timing.error or not timing.seconds:
            rows.append([timing.module, "failed", "", "", "", "", "", "", timing.error or ""])
            continue
        compared = measured and timing is not baseline
        ratio = timing.process_median_ms / baseline.process_median_ms if compared else None
        rows.append(
            [
                timing.module,
                f"{timing.median_ms:.0f} ms",
                f"{timing.median_ms - baseline.median_ms:+.0f} ms" if compared else "-",
                f"{timing.process_median_ms:.0f} ms",
                "-" if ratio is None else f"{ratio:.2f}x",
                _verdict(ratio, timing.target),
                str(timing.modules_loaded),
                "yes" if timing.loads_boto3 else "no",
                "",
            ]
        )
    headers = [
        "module",
        "import (median)",
        "over boto3 only",
        "whole process (median)",
        "x boto3 only",
        "target",
        "modules loaded",
        "boto3",
        "error",
    ]
    if all(not row[-1] for row in rows):
        headers, rows = headers[:-1], [row[:-1] for row in rows]
    title = (
        f"Cold import time (fresh interpreter, median of {repeats}, Powertools tracing off): the import alone,\n"
        "and the whole process (interpreter start, import, exit) as a multiple of the boto3-only handler's"
    )
    return title + "\n" + table(headers, rows, left=frozenset({0, 5, 8}))


def _verdict(ratio: float | None, target: float | None) -> str:
    if ratio is None or target is None:
        return ""
    return f"<= {target}x " + ("ok" if ratio <= target else "OVER")


def bytecode_section(timings: Sequence[BytecodeTiming], repeats: int) -> str:
    rows = [
        [timing.module, "failed", "", "", timing.error or "no sample"]
        if timing.error or not timing.compiled or not timing.from_source
        else [
            timing.module,
            f"{timing.compiled_ms:.0f} ms",
            f"{timing.from_source_ms:.0f} ms",
            f"{timing.from_source_ms - timing.compiled_ms:+.0f} ms",
            "",
        ]
        for timing in timings
    ]
    headers = ["module", "with .pyc", "our code and the layer from source", "difference", "error"]
    if all(not row[-1] for row in rows):
        headers, rows = headers[:-1], [row[:-1] for row in rows]
    title = (
        f"Bytecode (whole process, median of {repeats}): every module compiled, as the bundle ships it, against\n"
        "a read-only bundle without .pyc (only the standard library and the runtime's boto3 compiled)"
    )
    return title + "\n" + table(headers, rows, left=frozenset({0, 4}))


def first_answer_section(answers: Sequence[FirstAnswer], repeats: int) -> str:
    bare = answers[0] if answers and not answers[0].error and answers[0].import_seconds else None
    rows = []
    for answer in answers:
        if answer.error or not answer.import_seconds:
            rows.append([answer.request.name, answer.request.module, "failed", "", "", "", "", answer.error or ""])
            continue
        rows.append(
            [
                answer.request.name,
                answer.request.module,
                f"{answer.import_ms:.0f} ms",
                f"{answer.invoke_ms:.0f} ms",
                f"{answer.total_ms:.0f} ms",
                "-" if bare is None or answer is bare else f"{answer.total_ms / bare.total_ms:.2f}x",
                str(answer.status),
                "",
            ]
        )
    headers = ["request", "module", "import", "first invocation", "to the answer", "x bare", "status", "error"]
    if all(not row[-1] for row in rows):
        headers, rows = headers[:-1], [row[:-1] for row in rows]
    title = (
        f"Cold start to the first answer (fresh interpreter, median of {repeats}): the import, then one request;\n"
        "the first invocation pays what the import left for later (boto3 and the queue's client)"
    )
    return title + "\n" + table(headers, rows, left=frozenset({0, 1, 7}))


def memory_section(before_mib: float, peak_mib: float) -> str:
    return f"Peak RSS of this process: {before_mib:,.0f} MiB before seeding, {peak_mib:,.0f} MiB after the timed run"
