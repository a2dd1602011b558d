"""Metric regexes: linear time on RE2 where the pattern allows, a time budget on `regex` where it does not."""

from __future__ import annotations

import time

import pytest

from app.jobs import metric_regex
from app.training import metric_lines

PATHOLOGICAL_LINE = "loss=" + "a" * 25 + "!"  # 30 characters; exponential for a backtracking engine


def test_a_plain_pattern_runs_on_re2_and_reads_its_first_group() -> None:
    pattern = metric_regex.compile_pattern(r"loss=([0-9.]+)")
    assert pattern.linear
    assert pattern.first_group("epoch 3 loss=0.25 acc=0.9") == "0.25"
    assert pattern.first_group("no metric here") is None


def test_catastrophic_backtracking_pattern_takes_linear_time_on_re2() -> None:
    pattern = metric_regex.compile_pattern(r"loss=((a+)+)$")
    assert pattern.linear
    started = time.perf_counter()
    assert pattern.first_group(PATHOLOGICAL_LINE) is None
    assert pattern.first_group("loss=aaa") == "aaa"
    # Python's `re` needs seconds for this line (doubling per character); RE2 microseconds.
    assert time.perf_counter() - started < 0.5


def test_the_builtin_algorithms_patterns_run_on_re2() -> None:
    pattern = metric_regex.compile_pattern(metric_lines.regex("validation:accuracy"))
    assert pattern.linear
    assert pattern.first_group("#metric epoch=2 validation:accuracy=0.875") == "0.875"


def test_lookarounds_fall_back_to_the_budgeted_engine_and_still_match() -> None:
    pattern = metric_regex.compile_pattern(r"(?<=epoch \d )loss=([0-9.]+)(?= )")
    assert not pattern.linear
    assert pattern.first_group("epoch 3 loss=0.25 done") == "0.25"


def test_a_slow_pattern_on_the_budgeted_engine_runs_out_of_time_instead_of_running_on() -> None:
    pattern = metric_regex.compile_pattern(r"(?=l)loss=((a|a)+)$", timeout=0.05)
    assert not pattern.linear
    started = time.perf_counter()
    with pytest.raises(metric_regex.MatchTimeout):
        pattern.first_group(PATHOLOGICAL_LINE + "a" * 10)
    assert time.perf_counter() - started < 1.0  # the budget is 50 ms; unbounded would be minutes


def test_a_group_that_took_no_part_and_a_pattern_without_groups_give_nothing() -> None:
    assert metric_regex.compile_pattern(r"(a)|(b)").first_group("b") is None
    assert metric_regex.compile_pattern(r"loss=[0-9]+").first_group("loss=3") is None


@pytest.mark.parametrize("expression", [r"loss=([0-9.]+", r"*", r"[z-a](1)", r"(?<x)(1)"])
def test_a_pattern_neither_engine_compiles_is_invalid(expression: str) -> None:
    with pytest.raises(metric_regex.InvalidMetricRegex):
        metric_regex.compile_pattern(expression)
    assert metric_regex.invalid_reason(expression)


def test_valid_patterns_have_no_invalid_reason() -> None:
    assert metric_regex.invalid_reason(r"loss=([0-9.]+)") is None
    assert metric_regex.invalid_reason(r"(?<=x)loss=([0-9.]+)") is None
