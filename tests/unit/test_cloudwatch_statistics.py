"""CloudWatch's statistics, periods and GetMetricData pages over plain values (no store, no clock)."""

from __future__ import annotations

import pytest

from app.cloudwatch.metrics import data_pages, identity, periods, statistics
from app.cloudwatch.metrics.identity import Metric


def test_simple_statistics_over_a_period() -> None:
    values = [4.0, 1.0, 3.0, 2.0]
    computed = {stat: statistics.compute(stat, values) for stat in statistics.STATISTICS}
    assert computed == {"SampleCount": 4.0, "Average": 2.5, "Sum": 10.0, "Minimum": 1.0, "Maximum": 4.0}


@pytest.mark.parametrize(
    ("stat", "expected"),
    [("p0", 1.0), ("p10", 1.0), ("p50", 5.0), ("p50.1", 6.0), ("p90", 9.0), ("p99.9", 10.0), ("p100", 10.0)],
)
def test_percentiles_are_the_nearest_rank_value(stat: str, expected: float) -> None:
    assert statistics.compute(stat, [float(v) for v in range(10, 0, -1)]) == expected


def test_a_period_with_a_negative_value_has_no_percentiles() -> None:
    assert statistics.compute("p50", [-1.0, 2.0]) is None
    assert statistics.compute("Average", [-1.0, 2.0]) == 0.5


@pytest.mark.parametrize("stat", ["p", "p101", "p100.5", "P50", "p50.12345678901", "tm90", "Mean"])
def test_what_is_not_a_statistic(stat: str) -> None:
    assert not statistics.is_statistic(stat)
    with pytest.raises(ValueError, match="not a statistic"):
        statistics.compute(stat, [1.0])


def test_minute_periods_start_at_the_minute_before_the_start_and_end_before_the_end() -> None:
    span = periods.time_range(start=1_000_034.5, end=1_000_200, period=60)
    assert (span.start, span.count()) == (1_000_020, 3)
    points = [(1_000_019.9, 1.0), (1_000_020, 2.0), (1_000_079.9, 4.0), (1_000_140, 8.0), (1_000_200, 16.0)]
    assert periods.bucketed(span, points) == {1_000_020: [2.0, 4.0], 1_000_140: [8.0]}


def test_short_periods_start_at_a_multiple_of_the_period() -> None:
    span = periods.time_range(start=107.0, end=121.0, period=5)
    assert span.start == 105
    assert periods.bucketed(span, [(120.5, 3.0), (109.99, 1.0), (110.0, 2.0)]) == {
        105: [1.0],
        110: [2.0],
        120: [3.0],
    }


@pytest.mark.parametrize("period", [2, 45, 61, 90])
def test_periods_cloudwatch_refuses(period: int) -> None:
    with pytest.raises(periods.PeriodError, match="multiple of 60"):
        periods.time_range(start=0, end=60, period=period)


def test_an_empty_range_and_too_many_datapoints_are_refused() -> None:
    with pytest.raises(periods.PeriodError, match="StartTime must be less than"):
        periods.time_range(start=60, end=60, period=60)
    day = periods.time_range(start=0, end=86_400, period=60)
    periods.check_datapoint_limit(day, statistics=1)  # 1440 exactly
    with pytest.raises(periods.TooManyDatapoints, match="requested up to 2880 datapoints"):
        periods.check_datapoint_limit(day, statistics=2)


def test_each_job_metric_is_a_job_metric_and_one_per_host() -> None:
    made = identity.metrics_of([("j", "algo-2", "loss"), ("j", "algo-1", "loss"), ("j", None, "acc")])
    assert made == [
        Metric("acc", "j"),
        Metric("loss", "j"),
        Metric("loss", "j", "algo-1"),
        Metric("loss", "j", "algo-2"),
    ]
    assert made[2].dimensions() == [{"Name": "Host", "Value": "j/algo-1"}]


def test_dimensions_name_a_metric_exactly_and_filter_by_presence() -> None:
    by_host = Metric("loss", "j", "algo-1")
    named = {"namespace": identity.NAMESPACE, "name": "loss"}
    assert identity.named(**named, dimensions=[{"Name": "Host", "Value": "j/algo-1"}]) == by_host
    assert identity.named(**named, dimensions=[{"Name": "TrainingJobName", "Value": "j"}]) == Metric(
        "loss", "j"
    )
    both = [{"Name": "TrainingJobName", "Value": "j"}, {"Name": "Host", "Value": "j/algo-1"}]
    assert identity.named(**named, dimensions=both) is None
    assert identity.named(**named, dimensions=[]) is None
    assert identity.named(namespace="AWS/EC2", name="loss", dimensions=both[:1]) is None
    assert identity.matches(by_host, [{"Name": "Host"}])
    assert not identity.matches(by_host, [{"Name": "Host", "Value": "j/algo-2"}])
    assert not identity.matches(by_host, [{"Name": "TrainingJobName"}])
    assert identity.job_of_filters([{"Name": "Host", "Value": "j/algo-1"}]) == "j"
    assert identity.job_of_filters([{"Name": "TrainingJobName"}]) is None


def test_data_pages_split_the_values_of_all_queries_laid_end_to_end() -> None:
    results = [
        data_pages.QueryResult("a", "A", [(3.0, 30.0), (2.0, 20.0), (1.0, 10.0)]),
        data_pages.QueryResult("b", "B", [(1.0, 1.0), (2.0, 2.0)]),
    ]
    pages, offset = [], 0
    while True:
        page = data_pages.page(results, offset=offset, limit=2)
        pages.append([(r["Id"], r["Values"], r["StatusCode"]) for r in page.results])
        if page.next_offset is None:
            break
        offset = page.next_offset
    assert pages == [
        [("a", [30.0, 20.0], "PartialData"), ("b", [], "PartialData")],
        [("a", [10.0], "Complete"), ("b", [1.0], "PartialData")],
        [("a", [], "Complete"), ("b", [2.0], "Complete")],
    ]
    only = data_pages.page(results, offset=0, limit=10)
    assert only.next_offset is None and only.results[0]["Timestamps"] == [3.0, 2.0, 1.0]
