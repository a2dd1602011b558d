"""MetricSeries over a real SQLite file: points recorded by runs, read back as one series per metric."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session, sessionmaker

from app.errors import NotFound
from app.jobs import metric_repository
from app.jobs.metric_repository import Point
from app.jobs.metric_series import MetricSeries
from tests.support.callers import OTHER, ROOT, USER

START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def at(seconds: int) -> dt.datetime:
    return START + dt.timedelta(seconds=seconds)


def test_series_groups_points_by_metric_in_time_order(
    sessions: sessionmaker[Session], create_job: Callable[..., int]
) -> None:
    series = MetricSeries(sessions=sessions)
    job, other = create_job("job-1"), create_job("job-2")
    series.record(job, [Point("train:loss", 0.5, at(2)), Point("acc", 0.9, at(3))])
    series.record(job, [Point("train:loss", 0.7, at(1))])
    series.record(job, [])
    series.record(other, [Point("acc", 0.1, at(1))])
    assert series.series("JOB-1", caller=ROOT) == {
        "job": "job-1",
        "metrics": {
            "acc": [{"timestamp": at(3), "value": 0.9}],
            "train:loss": [{"timestamp": at(1), "value": 0.7}, {"timestamp": at(2), "value": 0.5}],
        },
        "final": [],
    }


def test_series_of_an_unknown_job_is_not_found(sessions: sessionmaker[Session]) -> None:
    with pytest.raises(NotFound):
        MetricSeries(sessions=sessions).series("nope", caller=ROOT)


def test_series_of_another_accounts_job_is_not_found(
    sessions: sessionmaker[Session], create_job: Callable[..., int]
) -> None:
    series = MetricSeries(sessions=sessions)
    mine, theirs = create_job("job-1"), create_job("job-1", OTHER)
    series.record(mine, [Point("acc", 0.5, at(1))])
    series.record(theirs, [Point("acc", 0.1, at(1)), Point("loss", 2.0, at(1))])
    assert series.series("job-1", caller=USER)["metrics"] == {"acc": [{"timestamp": at(1), "value": 0.5}]}
    assert set(series.series("job-1", caller=OTHER)["metrics"]) == {"acc", "loss"}
    with sessions() as session:
        # The repository itself finds nothing of a job in another account's name.
        assert metric_repository.of_job(session, account_id=ROOT.account_id, job_id=theirs) == []
