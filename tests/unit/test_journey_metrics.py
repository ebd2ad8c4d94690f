"""The journey suite's metrics, on small hand-made groupings: each metric can fail."""

from __future__ import annotations

import io

import pytest

from tools.journeys.metrics import Expected, JourneyScore, PairCounts, Predicted, by_group, pool, score_journey
from tools.journeys.runner import print_groups


def on(customer: str | None, case: str | None, *, claimed: bool = False) -> Predicted:
    return Predicted(customer_id=customer, case_id=case, claimed=claimed)


CLASSIC = Expected(customers=[["m1", "c1", "e1"], ["x1"]], cases=[["m1", "c1"], ["e1"], ["x1"]])


def test_a_perfect_replay_scores_one_everywhere() -> None:
    predicted = {"m1": on("A", "1"), "c1": on("A", "1"), "e1": on("A", "2"), "x1": on("B", "3")}

    score = score_journey("classic", CLASSIC, predicted)

    assert score.passed
    assert (score.customers.precision, score.customers.recall) == (1.0, 1.0)
    assert (score.cases.precision, score.cases.recall) == (1.0, 1.0)
    assert score.false_merges == ()
    assert (score.follow_ups, score.repeats) == (1, ())


def test_two_expected_customers_predicted_as_one_are_false_merges() -> None:
    predicted = {"m1": on("A", "1"), "c1": on("A", "1"), "e1": on("A", "2"), "x1": on("A", "3")}

    score = score_journey("classic", CLASSIC, predicted)

    assert score.false_merges == (("c1", "x1"), ("e1", "x1"), ("m1", "x1"))
    assert score.customers.precision == pytest.approx(3 / 6)
    assert score.customers.recall == 1.0
    assert not score.passed


def test_a_must_not_link_pair_put_together_is_reported_as_an_attack_linked() -> None:
    expected = Expected(customers=[["v1"], ["a1"]], cases=[["v1", "a1"]], must_not_link=[("v1", "a1")])

    score = score_journey("attack", expected, {"v1": on("V", "1"), "a1": on("V", "1")})

    assert score.attacks_linked == (("a1", "v1"),)
    assert score.false_merges == (("a1", "v1"),)


def test_a_customer_split_in_two_lowers_recall_not_precision() -> None:
    predicted = {"m1": on("A", "1"), "c1": on("C", "1"), "e1": on("A", "2"), "x1": on("B", "3")}

    score = score_journey("classic", CLASSIC, predicted)

    assert score.customers_split == (("c1", "e1"), ("c1", "m1"))
    assert score.customers.recall == pytest.approx(1 / 3)
    assert score.customers.precision == 1.0
    assert score.false_merges == ()


def test_a_follow_up_on_another_case_is_a_repeat_and_splits_the_case() -> None:
    predicted = {"m1": on("A", "1"), "c1": on("A", "9"), "e1": on("A", "2"), "x1": on("B", "3")}

    score = score_journey("classic", CLASSIC, predicted)

    assert score.repeats == ("c1",)
    assert score.cases_split == (("c1", "m1"),)
    assert score.cases.recall == 0.0


def test_follow_ups_count_as_repeats_when_the_first_contact_has_no_case() -> None:
    expected = Expected(customers=[["s1", "s2", "s3"]], cases=[["s1", "s2", "s3"]])

    score = score_journey("j", expected, {"s1": on("A", None), "s2": on("A", "2"), "s3": on("A", "2")})

    assert score.repeats == ("s2", "s3")
    assert "s1 is on no case" in score.problems


def test_contacts_without_customer_or_case_are_together_with_nobody() -> None:
    expected = Expected(customers=[], cases=[["k1"], ["k2"]], anonymous=["k1", "k2"])

    score = score_journey("withheld", expected, {"k1": on(None, "1"), "k2": on(None, "2")})

    assert score.customers.predicted == 0
    assert score.passed


def test_cases_wrongly_joined_lower_case_precision() -> None:
    expected = Expected(customers=[["d1", "d2"]], cases=[["d1"], ["d2"]])

    score = score_journey("window", expected, {"d1": on("A", "1"), "d2": on("A", "1")})

    assert score.cases_wrongly_joined == (("d1", "d2"),)
    assert score.cases.precision == 0.0
    assert score.repeats == ()


@pytest.mark.parametrize(
    ("expected", "predicted", "problem"),
    [
        (Expected([["s1"]], [["s1"]]), {"s1": Predicted(stored=False)}, "s1 was not stored"),
        (Expected([], [["k1"]], anonymous=["k1"]), {"k1": on("A", "1")}, "k1 should have no customer"),
        (Expected([["a1"]], [], no_case=["a1"]), {"a1": on("A", "1")}, "a1 should be on no case"),
        (Expected([["s1"]], [["s1"]]), {"s1": on(None, "1")}, "s1 has no customer"),
        (
            Expected([["v1"], ["a1"]], [["v1", "a1"]], claimed=["a1"]),
            {"v1": on("V", "1"), "a1": on("A", "1")},
            "a1 should be linked to its case as claimed",
        ),
    ],
)
def test_label_checks_name_the_label_that_failed(
    expected: Expected, predicted: dict[str, Predicted], problem: str
) -> None:
    score = score_journey("j", expected, predicted)

    assert problem in score.problems
    assert not score.passed


def test_a_claimed_mark_the_journey_does_not_expect_fails_the_check() -> None:
    """The case owner answering on their own thread: the agent would be told to verify their own customer."""
    expected = Expected([["e1", "e2"], ["c1"]], [["e1", "c1", "e2"]], claimed=["c1"])
    predicted = {"e1": on("A", "1"), "c1": on("C", "1", claimed=True), "e2": on("A", "1", claimed=True)}

    score = score_journey("cc", expected, predicted)

    assert score.problems == ("e2 is linked to its case as claimed, which the journey does not expect",)
    assert not score.passed


def test_a_claimed_link_that_is_marked_passes_the_check() -> None:
    expected = Expected([["v1"], ["a1"]], [["v1", "a1"]], claimed=["a1"])

    assert score_journey("j", expected, {"v1": on("V", "1"), "a1": on("A", "1", claimed=True)}).passed


def test_extra_problems_found_by_the_replay_fail_the_journey() -> None:
    expected = Expected([["s1"]], [["s1"]])

    score = score_journey("dup", expected, {"s1": on("A", "1")}, ["the case of s1 holds 2 contacts"])

    assert not score.passed


def test_pooled_precision_weighs_pairs_not_journeys() -> None:
    big = Expected(customers=[["a", "b", "c", "d"]], cases=[["a"], ["b"], ["c"], ["d"]])
    small = Expected(customers=[["x"], ["y"]], cases=[["x"], ["y"]])
    scores = [
        score_journey("big", big, {label: on("A", label) for label in "abcd"}),  # 6 correct pairs
        score_journey("small", small, {"x": on("X", "x"), "y": on("X", "y")}),  # 1 false merge
    ]

    metrics = pool(scores)

    assert metrics.customers.precision == pytest.approx(6 / 7)  # not the mean of 1.0 and 0.0
    assert metrics.false_merges == 1
    assert (metrics.journeys, metrics.passed) == (2, 1)


def test_repeat_rate_is_repeats_over_follow_ups_of_all_journeys() -> None:
    expected = Expected(customers=[["s1", "s2", "s3"]], cases=[["s1", "s2", "s3"]])
    good = score_journey("good", expected, {label: on("A", "1") for label in ("s1", "s2", "s3")})
    bad = score_journey("bad", expected, {"s1": on("A", "1"), "s2": on("A", "1"), "s3": on("A", "2")})

    metrics = pool([good, bad])

    assert (metrics.follow_ups, metrics.repeats) == (4, 1)
    assert metrics.repeat_rate == pytest.approx(0.25)


def test_targets_report_which_metric_is_missed() -> None:
    expected = Expected(customers=[["s1", "s2"]], cases=[["s1", "s2"]])
    metrics = pool([score_journey("j", expected, {"s1": on("A", "1"), "s2": on("A", "2")})])

    missed = {name for name, _, _, met in metrics.targets() if not met}

    assert missed == {"cases recall", "repeat rate"}
    assert not metrics.all_targets_met


def test_nothing_to_pair_counts_as_perfect_precision_and_recall() -> None:
    metrics = pool([])

    assert (metrics.customers.precision, metrics.customers.recall, metrics.repeat_rate) == (1.0, 1.0, 0.0)


def breakdown_scores() -> list[tuple[str, JourneyScore]]:
    """Two groups: `merges` (one journey perfect, one with a repeat) and `shared` (one false merge, one check)."""
    story = Expected(customers=[["s1", "s2", "s3"]], cases=[["s1", "s2", "s3"]])
    family = Expected(customers=[["k1"], ["k2"]], cases=[["k1"], ["k2"]], must_not_link=[("k1", "k2")])
    return [
        ("merges", score_journey("good", story, {label: on("A", "1") for label in ("s1", "s2", "s3")})),
        ("shared", score_journey("leak", family, {"k1": on("K", "1"), "k2": on("K", "2", claimed=True)})),
        ("merges", score_journey("late", story, {"s1": on("A", "1"), "s2": on("A", "2"), "s3": on("A", "2")})),
    ]


def test_the_breakdown_pools_each_group_over_its_own_journeys() -> None:
    groups = by_group(breakdown_scores())

    merges, shared = groups["merges"], groups["shared"]
    assert list(groups) == ["merges", "shared"]
    assert (merges.journeys, merges.passed) == (2, 1)
    assert (merges.customers.expected, merges.customers.correct) == (6, 6)
    assert (merges.cases.expected, merges.cases.predicted, merges.cases.correct) == (6, 4, 4)
    assert merges.cases.recall == pytest.approx(4 / 6)
    assert (merges.follow_ups, merges.repeats, merges.repeat_rate) == (4, 2, 0.5)
    assert (merges.false_merges, merges.checks_failed) == (0, 0)
    assert (shared.journeys, shared.false_merges, shared.checks_failed) == (1, 1, 1)
    assert shared.customers.precision == 0.0
    assert shared.cases.recall == 1.0  # nothing expected together: nothing missed


def test_the_groups_add_up_to_the_pooled_figures() -> None:
    scores = breakdown_scores()
    groups = by_group(scores).values()
    pooled = pool(score for _, score in scores)

    assert sum(group.journeys for group in groups) == pooled.journeys
    assert sum((group.cases for group in groups), start=PairCounts()) == pooled.cases
    assert sum(group.customers.predicted for group in groups) == pooled.customers.predicted
    assert sum(group.repeats for group in groups) == pooled.repeats
    assert sum(group.false_merges for group in groups) == pooled.false_merges
    assert sum(group.checks_failed for group in groups) == pooled.checks_failed


def test_a_group_with_nothing_replayed_is_listed_empty() -> None:
    groups = by_group(breakdown_scores()[:1], ["argentina", "merges"])

    assert list(groups) == ["argentina", "merges"]
    assert groups["argentina"].journeys == 0


def test_the_report_prints_one_row_per_group_and_flags_the_group_that_misses() -> None:
    out = io.StringIO()

    print_groups(by_group(breakdown_scores(), ["argentina"]), out)

    rows = {line.split()[0]: line for line in out.getvalue().splitlines()[3:]}
    assert list(rows) == ["argentina", "merges", "shared"]
    assert "nothing replayed" in rows["argentina"]
    assert rows["merges"].split() == ["merges", "2", "1.000", "1.000", "1.000", "0.667", "0", "50.0%", "0", "MISSED"]
    assert rows["shared"].split()[-4:] == ["1", "0.0%", "1", "MISSED"]
