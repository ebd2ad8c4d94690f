"""The bench at a tiny size: its structure and round-trip counts, never its timings."""

from __future__ import annotations

from collections import Counter

import pytest
from moto import mock_aws

from bench import report
from bench.__main__ import FULL, QUICK, Run, parse_run
from bench.bytecode import measure_bytecode
from bench.first_answer import measure_first_answers
from bench.imports import BASELINE, CHANNEL_FUNCTION_TARGET, OTHER_FUNCTION_TARGET, function_targets, measure_imports
from bench.latency import compare_sizes, sample_plan
from bench.roundtrips import measure_round_trips
from bench.traffic import Kind
from infra.topology import FUNCTIONS


def test_round_trips_are_four_for_a_new_customer_three_for_a_known_one_one_for_a_duplicate_seven_late() -> None:
    results = {result.scenario: result for result in measure_round_trips()}

    assert {scenario: result.count for scenario, result in results.items()} == {
        "new customer": 4,
        "known customer, open case": 3,
        "arrived late (older than the customer's last contact)": 7,
        "known customer, after the reopen window": 3,
        "duplicate (a Twilio retry)": 1,
    }
    assert results["new customer"].operations == ("BatchGetItem", "PutItem", "UpdateItem", "BatchWriteItem")
    assert results["known customer, open case"].outcome == "stored"
    assert results["known customer, after the reopen window"].outcome == "stored, case opened"
    assert results["duplicate (a Twilio retry)"].operations == ("BatchGetItem",)
    # The failed condition, then the replay: the profile, the timeline, its cases, the profile again.
    assert results["arrived late (older than the customer's last contact)"].operations[1:-1] == (
        "UpdateItem",
        "GetItem",
        "Query",
        "BatchGetItem",
        "UpdateItem",
    )
    assert all(result.target is None or result.count <= result.target for result in results.values())


def test_sample_plan_follows_the_mix_exactly() -> None:
    assert Counter(sample_plan(300, seed=1)) == {Kind.CONTINUING: 180, Kind.NEW_CUSTOMER: 75, Kind.DUPLICATE: 45}


def test_size_comparison_times_the_same_mix_against_both_tables() -> None:
    messages: list[str] = []
    with mock_aws():
        comparison = compare_sizes(30, 50, 20, seed=3, progress=messages.append)

    small, large = comparison.small, comparison.large
    assert (small.stored, large.stored) == (30, 50)
    assert large.items > small.items > small.stored  # profiles, identifiers, cases and markers beside contacts
    for timing in (small, large):
        assert {kind: len(values) for kind, values in timing.ms.items()} == {
            Kind.CONTINUING: 12,
            Kind.NEW_CUSTOMER: 5,
            Kind.DUPLICATE: 3,
        }
        assert {kind: set(counts) for kind, counts in timing.round_trips.items()} == {
            Kind.CONTINUING: {3},
            Kind.NEW_CUSTOMER: {4},
            Kind.DUPLICATE: {1},
        }
    assert comparison.median_ratio > 0
    assert any("50/50 contacts" in message for message in messages)
    section = report.latency_section(comparison, 20)
    assert "30 stored" in section
    assert "50 stored" in section
    assert "ratio" in section


def test_import_timing_measures_the_baseline_and_reports_a_module_that_fails() -> None:
    targets = {"functions.no_such_function.handler": None, "functions.eum.handler": CHANNEL_FUNCTION_TARGET}
    timings = {timing.module: timing for timing in measure_imports(targets, repeats=1)}

    baseline = timings[BASELINE]
    assert len(baseline.seconds) == len(baseline.process_seconds) == 1
    assert baseline.process_seconds[0] > baseline.seconds[0]  # the whole process holds the import
    assert baseline.loads_boto3
    broken = timings["functions.no_such_function.handler"]
    assert broken.seconds == []
    assert broken.error and "ModuleNotFoundError" in broken.error
    section = report.imports_section(list(timings.values()), 1)
    assert "failed" in section
    eum_row = next(line for line in section.splitlines() if line.startswith("functions.eum.handler"))
    assert "x boto3 only" in section
    assert f"<= {CHANNEL_FUNCTION_TARGET}x" in eum_row


def test_bytecode_timing_measures_each_module_compiled_and_from_source() -> None:
    timings = measure_bytecode(1, modules=["functions.eum.handler"])

    assert [timing.module for timing in timings] == [BASELINE, "functions.eum.handler"]
    for timing in timings:
        assert timing.error is None
        assert len(timing.compiled) == len(timing.from_source) == 1
    assert "from source" in report.bytecode_section(timings, 1)


def test_first_answers_are_real_answers_beside_a_bare_handler() -> None:
    answers = measure_first_answers(1)

    assert answers[0].request.module == "bench.boto3_queue_handler"
    for answer in answers:
        assert answer.error is None, answer.request.name
        assert answer.status == 200  # a signed SMS queued (the queue answered in-process), a CRC answered
        assert len(answer.import_seconds) == len(answer.invoke_seconds) == 1
    assert "x bare" in report.first_answer_section(answers, 1)


def test_import_timing_covers_every_function_of_the_topology_with_its_target() -> None:
    targets = function_targets()

    assert list(targets) == [spec.module for spec in FUNCTIONS]
    assert targets["functions.twilio_sms.handler"] == targets["functions.connect.handler"] == CHANNEL_FUNCTION_TARGET
    assert targets["functions.processor.handler"] == targets["functions.api.handler"] == OTHER_FUNCTION_TARGET


def test_quick_mode_is_smaller_and_flags_override_it() -> None:
    assert parse_run([]) == Run(FULL, 2026)
    sizes = parse_run(["--quick", "--samples", "40"]).sizes
    assert (sizes.small, sizes.large, sizes.samples) == (QUICK.small, QUICK.large, 40)
    assert parse_run(["--imports-only"]).imports_only
    with pytest.raises(SystemExit):
        parse_run(["--small", "500", "--large", "500"])
