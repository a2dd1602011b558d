"""Queries over metric points: the values a job's MetricDefinitions found in its VMs' logs.

The runtime adds points by job id; a caller reads them for one of its account's jobs only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import MetricPoint, TrainingJob


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
