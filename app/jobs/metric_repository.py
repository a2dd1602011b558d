"""Queries over metric points: the values a job's MetricDefinitions found in its VMs' logs.

The runtime adds points by job id; a caller reads them for one of its account's jobs only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.models import MetricPoint, TrainingJob


@dataclass(frozen=True, slots=True)
class Series:
    """One metric of one VM of a job, as the account's points name it."""

    job_name: str
    host: str | None
    name: str
    last: dt.datetime  # the time of its latest point


@dataclass(frozen=True, slots=True)
class Point:
    name: str
    value: float
    timestamp: dt.datetime
    host: str | None = None  # the VM whose log held the value (`algo-1`), unknown for older points


def add(session: Session, job_id: int, points: Iterable[Point]) -> None:
    session.add_all(
        MetricPoint(job_id=job_id, name=p.name, value=p.value, timestamp=p.timestamp, host=p.host)
        for p in points
    )


def of_job(session: Session, *, account_id: str, job_id: int) -> list[Point]:
    """The job's points by metric name, then in the order they were found; none if the job is not the
    account's."""
    statement = (
        select(MetricPoint.name, MetricPoint.value, MetricPoint.timestamp)
        .join(TrainingJob, MetricPoint.job_id == TrainingJob.id)
        .where(MetricPoint.job_id == job_id, TrainingJob.account_id == account_id)
        .order_by(MetricPoint.name, MetricPoint.timestamp, MetricPoint.id)
    )
    return [Point(name, value, timestamp) for name, value, timestamp in session.execute(statement)]


def series_of_account(
    session: Session, *, account_id: str, job_name: str | None = None, name: str | None = None
) -> list[Series]:
    """Every (job, host, metric) the account's points name, optionally of one job or metric name."""
    statement = (
        select(TrainingJob.name, MetricPoint.host, MetricPoint.name, func.max(MetricPoint.timestamp))
        .join(TrainingJob, MetricPoint.job_id == TrainingJob.id)
        .where(TrainingJob.account_id == account_id)
        .group_by(TrainingJob.name, MetricPoint.host, MetricPoint.name)
    )
    if job_name is not None:
        statement = statement.where(TrainingJob.name == job_name)
    if name is not None:
        statement = statement.where(MetricPoint.name == name)
    return [Series(job, host, metric, last) for job, host, metric, last in session.execute(statement)]


def values_between(
    session: Session,
    *,
    account_id: str,
    job_name: str,
    name: str,
    start: dt.datetime,
    end: dt.datetime,
    host: str | None = None,
) -> list[tuple[dt.datetime, float]]:
    """(timestamp, value) of one of the account's job metrics in [start, end), of one VM's log if
    `host` names it, else of all of them; in time order."""
    statement = (
        select(MetricPoint.timestamp, MetricPoint.value)
        .join(TrainingJob, MetricPoint.job_id == TrainingJob.id)
        .where(TrainingJob.account_id == account_id, TrainingJob.name == job_name)
        .where(MetricPoint.name == name, MetricPoint.timestamp >= start, MetricPoint.timestamp < end)
        .order_by(MetricPoint.timestamp, MetricPoint.id)
    )
    if host is not None:
        statement = statement.where(MetricPoint.host == host)
    return [(timestamp, value) for timestamp, value in session.execute(statement)]
