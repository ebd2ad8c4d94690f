"""Scoring a replayed journey against its expectation, and pooling the scores of the suite.

Pure: `score_journey` takes what the stack answered for each label and what the
journey expects; nothing here talks to the stack. The metrics (docs/journeys.md):

- pairwise precision and recall, for customers and for cases: the pairs of
  labels predicted together against the pairs expected together, pooled over
  journeys;
- false merges: pairs predicted to share a customer that belong to different
  expected customers (every `must_not_link` pair is one of those);
- repeat rate: follow-ups (every contact of an expected case after its first)
  that did not land on the case the first contact of that case landed on;
- label checks: a contact not stored, given a customer or a case where none
  belongs (an anonymous caller, an auto-reply), or whose `claimed` mark is not
  what the journey says (missing, or where the case is the sender's own).

`by_group` pools the same figures per group (a journey file) for the report's
breakdown.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations

Pair = tuple[str, str]

TARGET_PRECISION = 0.99
TARGET_RECALL = 0.97
TARGET_REPEAT_RATE = 0.02
TARGET_FALSE_MERGES = 0


@dataclass(frozen=True)
class Predicted:
    """What the stack holds for one label after the replay."""

    stored: bool = True
    customer_id: str | None = None  # the surviving id, when the customer was merged
    case_id: str | None = None
    claimed: bool = False  # the link to its case is marked `claimed` (rule 5)


@dataclass(frozen=True)
class Expected:
    customers: Sequence[Sequence[str]]
    cases: Sequence[Sequence[str]]  # each group in step order: its first label opened the case
    must_not_link: Sequence[Pair] = ()
    anonymous: Sequence[str] = ()
    no_case: Sequence[str] = ()
    claimed: Sequence[str] = ()


def pair(first: str, second: str) -> Pair:
    return (first, second) if first <= second else (second, first)


def expected_pairs(groups: Iterable[Sequence[str]]) -> set[Pair]:
    return {pair(a, b) for group in groups for a, b in combinations(group, 2)}


def predicted_pairs(assigned: Mapping[str, str | None]) -> set[Pair]:
    """Pairs of labels with the same non-empty id (no customer, no case: together with nobody)."""
    return {pair(a, b) for a, b in combinations(sorted(assigned), 2) if assigned[a] and assigned[a] == assigned[b]}


@dataclass(frozen=True)
class PairCounts:
    expected: int = 0
    predicted: int = 0
    correct: int = 0

    def __add__(self, other: PairCounts) -> PairCounts:
        return PairCounts(
            self.expected + other.expected, self.predicted + other.predicted, self.correct + other.correct
        )

    @property
    def precision(self) -> float:
        """Of the pairs put together, the share that belongs together (1.0 when nothing was put together)."""
        return self.correct / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        """Of the pairs that belong together, the share put together (1.0 when none belongs together)."""
        return self.correct / self.expected if self.expected else 1.0


@dataclass(frozen=True)
class JourneyScore:
    journey_id: str
    customers: PairCounts
    cases: PairCounts
    false_merges: tuple[Pair, ...]  # predicted one customer, expected different ones
    attacks_linked: tuple[Pair, ...]  # the must_not_link pairs among the false merges
    customers_split: tuple[Pair, ...]  # expected one customer, predicted apart
    cases_wrongly_joined: tuple[Pair, ...]
    cases_split: tuple[Pair, ...]
    follow_ups: int
    repeats: tuple[str, ...]  # follow-ups not on the case of their expected case's first contact
    problems: tuple[str, ...] = ()  # per-label checks: not stored, anonymous, no case, claimed either way

    @property
    def passed(self) -> bool:
        return not (
            self.false_merges
            or self.customers_split
            or self.cases_wrongly_joined
            or self.cases_split
            or self.repeats
            or self.problems
        )


def score_journey(
    journey_id: str, expected: Expected, predicted: Mapping[str, Predicted], extra_problems: Sequence[str] = ()
) -> JourneyScore:
    """`extra_problems`: what the replay found besides the labels (a case holding a contact twice)."""
    customers_of = {label: p.customer_id if p.stored else None for label, p in predicted.items()}
    cases_of = {label: p.case_id if p.stored else None for label, p in predicted.items()}
    want_customers, got_customers = expected_pairs(expected.customers), predicted_pairs(customers_of)
    want_cases, got_cases = expected_pairs(expected.cases), predicted_pairs(cases_of)
    false_merges = got_customers - want_customers
    follow_ups = [(group[0], label) for group in expected.cases for label in group[1:]]
    repeats = tuple(
        label for first, label in follow_ups if cases_of.get(first) is None or cases_of.get(label) != cases_of[first]
    )
    return JourneyScore(
        journey_id=journey_id,
        customers=_counts(want_customers, got_customers),
        cases=_counts(want_cases, got_cases),
        false_merges=tuple(sorted(false_merges)),
        attacks_linked=tuple(sorted(false_merges & {pair(*p) for p in expected.must_not_link})),
        customers_split=tuple(sorted(want_customers - got_customers)),
        cases_wrongly_joined=tuple(sorted(got_cases - want_cases)),
        cases_split=tuple(sorted(want_cases - got_cases)),
        follow_ups=len(follow_ups),
        repeats=repeats,
        problems=(*_label_problems(expected, predicted), *extra_problems),
    )


def _counts(want: set[Pair], got: set[Pair]) -> PairCounts:
    return PairCounts(expected=len(want), predicted=len(got), correct=len(want & got))


def _label_problems(expected: Expected, predicted: Mapping[str, Predicted]) -> Iterable[str]:
    for label, found in predicted.items():
        if not found.stored:
            yield f"{label} was not stored"
    anonymous, no_case = set(expected.anonymous), set(expected.no_case)
    for label, found in predicted.items():
        if not found.stored:
            continue
        if label in anonymous and found.customer_id:
            yield f"{label} should have no customer"
        if label not in anonymous and not found.customer_id:
            yield f"{label} has no customer"
        if label in no_case and found.case_id:
            yield f"{label} should be on no case"
        if label not in no_case and not found.case_id:
            yield f"{label} is on no case"
    claimed = set(expected.claimed)
    for label in expected.claimed:
        found = predicted.get(label, Predicted(stored=False))
        if found.stored and not found.claimed:
            yield f"{label} should be linked to its case as claimed"
    for label, found in predicted.items():
        # The other direction: the agent is told to verify a person who is the case's own customer.
        if found.stored and found.claimed and label not in claimed:
            yield f"{label} is linked to its case as claimed, which the journey does not expect"


@dataclass(frozen=True)
class SuiteMetrics:
    journeys: int = 0
    passed: int = 0
    customers: PairCounts = field(default_factory=PairCounts)
    cases: PairCounts = field(default_factory=PairCounts)
    false_merges: int = 0
    follow_ups: int = 0
    repeats: int = 0
    checks_failed: int = 0  # per-label checks: not stored, a case where none belongs, a claimed mark wrong

    @property
    def repeat_rate(self) -> float:
        return self.repeats / self.follow_ups if self.follow_ups else 0.0

    def targets(self) -> list[tuple[str, str, str, bool]]:
        """(metric, value, target, met) for the report."""
        rows = [("false merges", str(self.false_merges), "= 0", self.false_merges <= TARGET_FALSE_MERGES)]
        for name, counts in (("customers", self.customers), ("cases", self.cases)):
            rows.append(
                (
                    f"{name} precision",
                    f"{counts.precision:.3f}",
                    f">= {TARGET_PRECISION}",
                    counts.precision >= TARGET_PRECISION,
                )
            )
            rows.append(
                (f"{name} recall", f"{counts.recall:.3f}", f">= {TARGET_RECALL}", counts.recall >= TARGET_RECALL)
            )
        rows.append(
            (
                "repeat rate",
                f"{self.repeat_rate:.1%}",
                f"<= {TARGET_REPEAT_RATE:.0%}",
                self.repeat_rate <= TARGET_REPEAT_RATE,
            )
        )
        rows.append(("label checks failed", str(self.checks_failed), "= 0", self.checks_failed == 0))
        return rows

    @property
    def all_targets_met(self) -> bool:
        return all(met for *_, met in self.targets())


def pool(scores: Iterable[JourneyScore]) -> SuiteMetrics:
    metrics = SuiteMetrics()
    for score in scores:
        metrics = SuiteMetrics(
            journeys=metrics.journeys + 1,
            passed=metrics.passed + int(score.passed),
            customers=metrics.customers + score.customers,
            cases=metrics.cases + score.cases,
            false_merges=metrics.false_merges + len(score.false_merges),
            follow_ups=metrics.follow_ups + score.follow_ups,
            repeats=metrics.repeats + len(score.repeats),
            checks_failed=metrics.checks_failed + len(score.problems),
        )
    return metrics


def by_group(scores: Iterable[tuple[str, JourneyScore]], groups: Iterable[str] = ()) -> dict[str, SuiteMetrics]:
    """The metrics pooled per group (a journey file), in the order `groups` lists them, then as first met.

    A group of `groups` with no score (every journey skipped or errored) gets empty metrics: zero journeys.
    """
    members: dict[str, list[JourneyScore]] = {group: [] for group in groups}
    for group, score in scores:
        members.setdefault(group, []).append(score)
    return {group: pool(scored) for group, scored in members.items()}
