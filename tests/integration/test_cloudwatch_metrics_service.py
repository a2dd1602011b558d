"""CloudWatch metrics over the metric series of a real SQLite file: the metrics listed, statistics per
period, GetMetricData pages, CloudWatch's refusals, and one account blind to another's jobs."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from app.clock import FakeClock
from app.cloudwatch.errors import InvalidNextToken, InvalidParameterCombination, InvalidParameterValue
from app.cloudwatch.metrics.identity import NAMESPACE
from app.cloudwatch.metrics.service import MetricsService
from app.jobs.metric_repository import Point
from app.jobs.metric_series import MetricSeries
from tests.integration.conftest import CreateJob
from tests.support.callers import OTHER, ROOT

START = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)
JOB = [{"Name": "TrainingJobName", "Value": "job-1"}]


def at(seconds: float) -> dt.datetime:
    return START + dt.timedelta(seconds=seconds)


@pytest.fixture
def metrics(sessions: sessionmaker[Session], create_job: CreateJob) -> MetricsService:
    """job-1 on two VMs: loss 4, 2 (algo-1) and 6 (algo-2) in its first minute, 1 in its third; acc once.
    job-2 has one point; another account's job-1 has its own."""
    series = MetricSeries(sessions=sessions)
    job, other, theirs = create_job("job-1"), create_job("job-2"), create_job("job-1", OTHER)
    series.record(
        job,
        [
            Point("loss", 4.0, at(5), host="algo-1"),
            Point("loss", 2.0, at(30), host="algo-1"),
            Point("loss", 6.0, at(59.999), host="algo-2"),
            Point("loss", 1.0, at(150), host="algo-1"),
            Point("acc", 0.5, at(10), host="algo-2"),
        ],
    )
    series.record(other, [Point("loss", 9.0, at(5), host="algo-1")])
    series.record(theirs, [Point("secret", 42.0, at(5), host="algo-1")])
    return MetricsService(series=series, clock=FakeClock(at(3600)))


def _stats(metrics: MetricsService, **params: Any) -> dict[str, Any]:
    request = {"Namespace": NAMESPACE, "MetricName": "loss", "Dimensions": JOB, "Period": 60}
    request |= {"StartTime": at(0).timestamp(), "EndTime": at(180).timestamp(), "Statistics": ["Average"]}
    return metrics.get_metric_statistics(request | params, caller=ROOT)


def test_each_job_metric_is_listed_for_the_job_and_for_each_host(metrics: MetricsService) -> None:
    listed = metrics.list_metrics({}, caller=ROOT)["Metrics"]
    assert [(m["MetricName"], m["Dimensions"][0]["Value"]) for m in listed] == [
        ("acc", "job-1"),
        ("acc", "job-1/algo-2"),
        ("loss", "job-1"),
        ("loss", "job-1/algo-1"),
        ("loss", "job-1/algo-2"),
        ("loss", "job-2"),
        ("loss", "job-2/algo-1"),
    ]
    assert {m["Namespace"] for m in listed} == {NAMESPACE}
    by_host = metrics.list_metrics({"Dimensions": [{"Name": "Host", "Value": "job-1/algo-2"}]}, caller=ROOT)
    assert [m["MetricName"] for m in by_host["Metrics"]] == ["acc", "loss"]
    named = metrics.list_metrics(
        {"MetricName": "loss", "Dimensions": [{"Name": "TrainingJobName"}]}, caller=ROOT
    )
    assert [m["Dimensions"] for m in named["Metrics"]] == [
        JOB,
        [{"Name": "TrainingJobName", "Value": "job-2"}],
    ]
    assert metrics.list_metrics({"Namespace": "AWS/EC2"}, caller=ROOT) == {"Metrics": []}
    assert metrics.list_metrics({"RecentlyActive": "PT3H"}, caller=ROOT)["Metrics"] == listed
    metrics.clock.advance(3 * 3600)  # type: ignore[attr-defined]
    assert metrics.list_metrics({"RecentlyActive": "PT3H"}, caller=ROOT) == {"Metrics": []}


def test_another_account_sees_only_its_own_metrics(metrics: MetricsService) -> None:
    listed = metrics.list_metrics({}, caller=OTHER)["Metrics"]
    assert [(m["MetricName"], m["Dimensions"][0]["Value"]) for m in listed] == [
        ("secret", "job-1"),
        ("secret", "job-1/algo-1"),
    ]
    assert metrics.get_metric_statistics(
        {"Namespace": NAMESPACE, "MetricName": "loss", "Dimensions": JOB, "Period": 60}
        | {"StartTime": at(0).timestamp(), "EndTime": at(180).timestamp(), "Statistics": ["Average"]},
        caller=OTHER,
    ) == {"Label": "loss", "Datapoints": []}


def test_statistics_per_period_over_all_hosts_or_one(metrics: MetricsService) -> None:
    all_stats = ["SampleCount", "Average", "Sum", "Minimum", "Maximum"]
    job = _stats(metrics, Statistics=all_stats, ExtendedStatistics=["p50", "p100"])
    assert job == {
        "Label": "loss",
        "Datapoints": [
            {
                "Timestamp": at(0),
                "Unit": "None",
                **{"SampleCount": 3.0, "Average": 4.0, "Sum": 12.0, "Minimum": 2.0, "Maximum": 6.0},
                "ExtendedStatistics": {"p50": 4.0, "p100": 6.0},
            },
            {
                "Timestamp": at(120),
                "Unit": "None",
                **{"SampleCount": 1.0, "Average": 1.0, "Sum": 1.0, "Minimum": 1.0, "Maximum": 1.0},
                "ExtendedStatistics": {"p50": 1.0, "p100": 1.0},
            },
        ],
    }
    host = _stats(metrics, Dimensions=[{"Name": "Host", "Value": "job-1/algo-1"}], Period=300)
    assert host["Datapoints"] == [{"Timestamp": at(0), "Unit": "None", "Average": 7 / 3}]
    # The start rounds down to its minute; the end is exclusive.
    late = _stats(metrics, StartTime=at(59).timestamp(), EndTime=at(150).timestamp())
    assert [(p["Timestamp"], p["Average"]) for p in late["Datapoints"]] == [(at(0), 4.0)]


def test_metrics_not_made_here_have_no_datapoints(metrics: MetricsService) -> None:
    both = [*JOB, {"Name": "Host", "Value": "job-1/algo-1"}]
    for params in ({"Dimensions": both}, {"Dimensions": []}, {"Namespace": "AWS/EC2"}, {"Unit": "Seconds"}):
        assert _stats(metrics, **params)["Datapoints"] == [], params
    assert len(_stats(metrics, Unit="None")["Datapoints"]) == 2


@pytest.mark.parametrize(
    ("params", "error", "message"),
    [
        (
            {"Statistics": []},
            InvalidParameterCombination,
            "Must specify either Statistics or ExtendedStatistics",
        ),
        (
            {"ExtendedStatistics": ["p101"]},
            InvalidParameterValue,
            "The value p101 for parameter ExtendedStatistics",
        ),
        ({"Period": 45}, InvalidParameterValue, "multiple of 60"),
        ({"EndTime": START.timestamp()}, InvalidParameterValue, "StartTime must be less than"),
        (
            {"Period": 1, "EndTime": at(1441).timestamp()},
            InvalidParameterCombination,
            "exceeds the limit of 1440",
        ),
    ],
)
def test_statistics_requests_cloudwatch_refuses(
    metrics: MetricsService, params: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        _stats(metrics, **params)


def _query(
    query_id: str, stat: str, dimensions: list[dict[str, str]] = JOB, period: int = 60
) -> dict[str, Any]:
    metric = {"Namespace": NAMESPACE, "MetricName": "loss", "Dimensions": dimensions}
    return {"Id": query_id, "MetricStat": {"Metric": metric, "Period": period, "Stat": stat}}


def _data(metrics: MetricsService, queries: list[dict[str, Any]], **params: Any) -> dict[str, Any]:
    request = {"MetricDataQueries": queries, "StartTime": at(0).timestamp(), "EndTime": at(180).timestamp()}
    return metrics.get_metric_data(request | params, caller=ROOT)


def test_metric_data_per_query_in_scan_order_and_pages(metrics: MetricsService) -> None:
    queries = [
        _query("avg", "Average"),
        {**_query("hidden", "Sum"), "ReturnData": False},
        _query("top", "p90"),
    ]
    queries[2]["Label"] = "loss p90"
    whole = _data(metrics, queries)
    assert "NextToken" not in whole and whole["Messages"] == []
    assert whole["MetricDataResults"] == [
        {
            "Id": "avg",
            "Label": "loss",
            "Timestamps": [at(120), at(0)],
            "Values": [1.0, 4.0],
            "StatusCode": "Complete",
        },
        {
            "Id": "top",
            "Label": "loss p90",
            "Timestamps": [at(120), at(0)],
            "Values": [1.0, 6.0],
            "StatusCode": "Complete",
        },
    ]
    ascending = _data(metrics, queries, ScanBy="TimestampAscending")
    assert [r["Values"] for r in ascending["MetricDataResults"]] == [[4.0, 1.0], [6.0, 1.0]]
    pages, token = [], None
    while True:
        page = _data(
            metrics,
            queries,
            MaxDatapoints=3,
            ScanBy="TimestampAscending",
            **({"NextToken": token} if token else {}),
        )
        pages.append([(r["Id"], r["Values"], r["StatusCode"]) for r in page["MetricDataResults"]])
        if (token := page.get("NextToken")) is None:
            break
    assert pages == [
        [("avg", [4.0, 1.0], "Complete"), ("top", [6.0], "PartialData")],
        [("avg", [], "Complete"), ("top", [1.0], "Complete")],
    ]
    first = _data(metrics, queries, MaxDatapoints=3)["NextToken"]
    with pytest.raises(InvalidNextToken):  # a token is good for the request it was issued for only
        _data(metrics, queries[:1], MaxDatapoints=3, NextToken=first)


@pytest.mark.parametrize(
    ("queries", "message"),
    [
        ([_query("Avg", "Average")], "MetricDataQueries.member.1.Id is not valid"),
        ([_query("a", "Average"), _query("a", "Sum")], "MetricDataQueries.member.2.Id is not unique"),
        (
            [_query("a", "Median")],
            "The value Median for parameter MetricDataQueries.member.1.MetricStat.Stat",
        ),
        ([_query("a", "Average", period=7)], "multiple of 60"),
        ([{"Id": "e", "Expression": "SUM(METRICS())"}], "metric math is not supported"),
    ],
)
def test_metric_data_requests_cloudwatch_refuses(
    metrics: MetricsService, queries: list[dict[str, Any]], message: str
) -> None:
    with pytest.raises(InvalidParameterValue, match=message):
        _data(metrics, queries)
