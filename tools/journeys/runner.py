"""The labeled journey suite, replayed through a running local stack: precision, recall, false merges, repeats.

    python -m tools.journeys.runner --url http://127.0.0.1:8080 [journeys/attackers.toml ...]

`run_suite` replays (journey_replay), reads back where every labeled contact
landed and scores it (journey_metrics); `print_report` prints the targets and
the journeys that failed, which pairs went wrong, and what could not run yet.
docs/journeys.md describes the format and the metrics.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from infra import topology
from infra.local.client import StackClient, StackUnavailable
from tools.journeys.identities import Identities, new_run_tag
from tools.journeys.metrics import Expected, JourneyScore, SuiteMetrics, by_group, pool, score_journey
from tools.journeys.replay import JourneyRun, Replayer, StepRefused, missing_samples
from tools.journeys.steps import Step
from tools.journeys.suite import Journey, SuiteError, load_suite

DEFAULT_URL = "http://127.0.0.1:8080"


@dataclass(frozen=True)
class Outcome:
    journey: Journey
    score: JourneyScore | None = None  # None: skipped or errored, not counted
    skipped: str | None = None
    errored: str | None = None


@dataclass(frozen=True)
class Report:
    outcomes: tuple[Outcome, ...]
    metrics: SuiteMetrics
    run_tag: int
    seconds: float
    warnings: tuple[str, ...] = field(default=())

    @property
    def groups(self) -> dict[str, SuiteMetrics]:
        """The metrics of each group (journey file), every group of the replayed selection listed."""
        scored = ((outcome.journey.group, outcome.score) for outcome in self.outcomes if outcome.score is not None)
        return by_group(scored, sorted({outcome.journey.group for outcome in self.outcomes}))

    @property
    def scored(self) -> list[Outcome]:
        return [outcome for outcome in self.outcomes if outcome.score is not None]

    @property
    def failed(self) -> list[Outcome]:
        return [outcome for outcome in self.scored if outcome.score is not None and not outcome.score.passed]

    @property
    def skipped(self) -> list[Outcome]:
        return [outcome for outcome in self.outcomes if outcome.skipped]

    @property
    def errored(self) -> list[Outcome]:
        return [outcome for outcome in self.outcomes if outcome.errored]


def expected_of(journey: Journey) -> Expected:
    """The expectation, with every case group in provider-time order: its first label is the one that opened
    it (a late step is listed where it arrives, but its story began at its own time)."""
    labeled = [(step.offset, index, label) for index, step in enumerate(journey.steps) if (label := _label(step))]
    order = {label: (offset, index) for offset, index, label in labeled}
    expect = journey.expect
    return Expected(
        customers=expect.customers,
        cases=[sorted(group, key=order.__getitem__) for group in expect.cases],
        must_not_link=expect.must_not_link,
        anonymous=expect.anonymous,
        no_case=expect.no_case,
        claimed=expect.claimed,
    )


def _label(step: Step) -> str | None:
    return getattr(step, "label", None)


def select(journeys: Sequence[Journey], only: Sequence[str]) -> list[Journey]:
    """The journeys whose id or one of whose tags is in `only` (all of them when it is empty)."""
    wanted = set(only)
    return [j for j in journeys if not wanted or j.id in wanted or wanted & set(j.tags)]


def run_suite(
    url: str,
    paths: Sequence[Path] = (),
    *,
    only: Sequence[str] = (),
    api_key: str | None = None,
    run_tag: int | None = None,
    idle_timeout_s: float = 60,
) -> Report:
    """Replay the suite (or `paths`, or the journeys `only` names) against the stack at `url` and score it."""
    started = time.monotonic()
    journeys = select(load_suite(paths), only)
    key = api_key or topology.local_secret("THREADLINE_API_KEY")
    client = StackClient(url, api_key=key)
    status = client.status()
    public_url = str(status["public_url"])  # what the stack verifies signatures against
    dead_before = int(status["dead_letter_queue"]["visible"])
    tag = new_run_tag() if run_tag is None else run_tag
    now = datetime.now(UTC)
    runs = [JourneyRun(journey, Identities(tag, index), now - journey.span) for index, journey in enumerate(journeys)]
    for run in runs:
        missing = missing_samples(run.journey)
        if missing:
            run.skipped = f"no sample builder yet: {', '.join(missing)}"
    replayer = Replayer(client, public_url, key)
    warnings = replayer.replay(runs, idle_timeout_s=idle_timeout_s)
    with ThreadPoolExecutor(max_workers=8) as readers:
        outcomes = list(readers.map(lambda run: _outcome(run, replayer), runs))
    dead = int(client.status()["dead_letter_queue"]["visible"]) - dead_before
    if dead > 0:
        warnings.append(f"{dead} messages reached the dead-letter queue during the replay (see the stack log)")
    metrics = pool(outcome.score for outcome in outcomes if outcome.score is not None)
    return Report(tuple(outcomes), metrics, tag, time.monotonic() - started, tuple(warnings))


def _outcome(run: JourneyRun, replayer: Replayer) -> Outcome:
    if run.skipped:
        return Outcome(run.journey, skipped=run.skipped)
    if run.errored:
        return Outcome(run.journey, errored=run.errored)
    try:
        predicted = replayer.readback(run)
        extra = tuple(replayer.extra_contacts(run, predicted))
    except StepRefused as error:
        return Outcome(run.journey, errored=f"reading back: {error}")
    return Outcome(run.journey, score=score_journey(run.journey.id, expected_of(run.journey), predicted, extra))


def _pairs(pairs: Sequence[tuple[str, str]]) -> str:
    return ", ".join(f"{a}~{b}" for a, b in pairs)


def _failure_lines(score: JourneyScore) -> list[str]:
    lines = []
    for name, pairs in (
        ("attack linked (must not link)", score.attacks_linked),
        (
            "false merge (different customers joined)",
            tuple(p for p in score.false_merges if p not in score.attacks_linked),
        ),
        ("customers split (one customer expected)", score.customers_split),
        ("cases wrongly joined", score.cases_wrongly_joined),
        ("cases split (one case expected)", score.cases_split),
    ):
        if pairs:
            lines.append(f"{name}: {_pairs(pairs)}")
    if score.repeats:
        lines.append(f"repeats (not on the case their story opened): {', '.join(score.repeats)}")
    lines += score.problems
    return lines


def print_report(report: Report, out: TextIO = sys.stdout) -> None:
    metrics = report.metrics
    print(
        f"Journey suite: {len(report.outcomes)} journey(s), {metrics.journeys} replayed and scored "
        f"({metrics.passed} passed), {len(report.skipped)} not runnable yet, {len(report.errored)} errored "
        f"[run tag {report.run_tag}, {report.seconds:.1f} s]",
        file=out,
    )
    pairs = f"customer pairs {metrics.customers.expected}, case pairs {metrics.cases.expected}"
    print(f"Pooled over the replayed journeys: {pairs}, follow-ups {metrics.follow_ups}\n", file=out)
    for name, value, target, met in metrics.targets():
        print(f"  {name:<20} {value:>8}   target {target:<7} {'ok' if met else 'MISSED'}", file=out)
    print_groups(report.groups, out)
    if report.failed:
        print(f"\nFailed journeys ({len(report.failed)}):", file=out)
        for outcome in report.failed:
            assert outcome.score is not None
            print(f"  {outcome.journey.id}: {outcome.journey.title}", file=out)
            for line in _failure_lines(outcome.score):
                print(f"      {line}", file=out)
    for title, outcomes in (("Not runnable yet", report.skipped), ("Errored (not counted)", report.errored)):
        if outcomes:
            print(f"\n{title} ({len(outcomes)}):", file=out)
            for outcome in outcomes:
                print(f"  {outcome.journey.id}: {outcome.skipped or outcome.errored}", file=out)
    for warning in report.warnings:
        print(f"\nwarning: {warning}", file=out)


_GROUP_COLUMNS = ("journeys", "cust P", "cust R", "case P", "case R", "false merges", "repeat rate", "checks failed")


def print_groups(groups: dict[str, SuiteMetrics], out: TextIO = sys.stdout) -> None:
    """One row per group (journey file), each pooled over its own replayed journeys, and whether it meets
    every target on its own."""
    width = max((len(group) for group in groups), default=5)
    print(f"\nBy group (pooled within each file):\n  {'group':<{width}}  {'  '.join(_GROUP_COLUMNS)}", file=out)
    for group, metrics in groups.items():
        if not metrics.journeys:
            print(f"  {group:<{width}}  {0:>8}  (nothing replayed)", file=out)
            continue
        figures = (
            f"{metrics.customers.precision:.3f}",
            f"{metrics.customers.recall:.3f}",
            f"{metrics.cases.precision:.3f}",
            f"{metrics.cases.recall:.3f}",
            str(metrics.false_merges),
            f"{metrics.repeat_rate:.1%}",
            str(metrics.checks_failed),
        )
        cells = "  ".join(
            f"{value:>{len(name)}}"
            for name, value in zip(_GROUP_COLUMNS, (str(metrics.journeys), *figures), strict=True)
        )
        print(f"  {group:<{width}}  {cells}  {'ok' if metrics.all_targets_met else 'MISSED'}", file=out)


def main(argv: Sequence[str] | None = None) -> int:
    """0 when every target is met, 1 when one is missed, 2 when the suite or the stack is unusable."""
    parser = argparse.ArgumentParser(prog="threadline journeys", description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", type=Path, help="journey files or folders (default: journeys/)")
    parser.add_argument("--url", default=DEFAULT_URL, help=f"a running local stack (default {DEFAULT_URL})")
    parser.add_argument("--only", action="append", default=[], help="a journey id or tag (repeatable)")
    parser.add_argument("--run-tag", type=int, help="fixes the identifiers of this run (default: random)")
    parser.add_argument("--idle-timeout", type=float, default=60, help="seconds to wait for the stack each round")
    arguments = parser.parse_args(argv)
    try:
        report = run_suite(
            arguments.url,
            arguments.paths,
            only=arguments.only,
            run_tag=arguments.run_tag,
            idle_timeout_s=arguments.idle_timeout,
        )
    except SuiteError as error:
        print(f"journeys: the suite does not validate: {error}", file=sys.stderr)
        return 2
    except StackUnavailable as error:
        print(f"journeys: {error}; start one with `threadline serve`", file=sys.stderr)
        return 2
    print_report(report)
    return 0 if report.metrics.all_targets_met and report.metrics.journeys else 1


if __name__ == "__main__":
    sys.exit(main())
