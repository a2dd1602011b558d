"""MetricSeries over a real SQLite file: points recorded by runs, read back as one series per metric."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session, sessionmaker

from app.errors import NotFound
from app.jobs.metric_repository import Point
from app.jobs.metric_series import MetricSeries

START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def at(seconds: int) -> dt.datetime:
    return START + dt.timedelta(seconds=seconds)


def test_series_groups_points_by_metric_in_time_order(
    sessions: sessionmaker[Session], create_job: Callable[[str], int]
) -> None:
    series = MetricSeries(sessions=sessions)
    job, other = create_job("job-1"), create_job("job-2")
    series.record(job, [Point("train:loss", 0.5, at(2)), Point("acc", 0.9, at(3))])
    series.record(job, [Point("train:loss", 0.7, at(1))])
    series.record(job, [])
    series.record(other, [Point("acc", 0.1, at(1))])
    assert series.series("JOB-1") == {
        "job": "job-1",
        "metrics": {
            "acc": [{"timestamp": at(3), "value": 0.9}],
            "train:loss": [{"timestamp": at(1), "value": 0.7}, {"timestamp": at(2), "value": 0.5}],
        },
        "final": [],
    }


def test_series_of_an_unknown_job_is_not_found(sessions: sessionmaker[Session]) -> None:
    with pytest.raises(NotFound):
        MetricSeries(sessions=sessions).series("nope")
