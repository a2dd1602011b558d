"""MetricSeries over a real SQLite file: points recorded by runs, read back as one series per metric."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session, sessionmaker

from app.errors import NotFound
from app.jobs import repository
from app.jobs.metric_repository import Point
from app.jobs.metric_series import MetricSeries
from app.jobs.service import Identity, TrainingJobService
from tests.conftest import create_request

START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def at(seconds: int) -> dt.datetime:
    return START + dt.timedelta(seconds=seconds)


def job_id(sessions: sessionmaker[Session], name: str) -> int:
    jobs = TrainingJobService(sessions=sessions, identity=Identity(region="us-east-1", account_id="1" * 12))
    jobs.create(create_request(name))
    with sessions() as session:
        job = repository.get(session, name)
    assert job is not None
    return job.id


def test_series_groups_points_by_metric_in_time_order(sessions: sessionmaker[Session]) -> None:
    series = MetricSeries(sessions=sessions)
    job = job_id(sessions, "job-1")
    other = job_id(sessions, "job-2")
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
