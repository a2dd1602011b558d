"""The console's queries: its sessions, looked up by the SHA-256 of their token, and the charts' reads of
a job's metric values (short series whole, long ones downsampled in the database)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import String, and_, delete, func, or_, select, type_coerce
from sqlalchemy.orm import Session

from app.console import downsample
from app.db.models import ConsoleSession, MetricPoint, TrainingJob


def add(session: Session, row: ConsoleSession) -> None:
    session.add(row)


def live(session: Session, *, token_sha256: str, now: dt.datetime) -> ConsoleSession | None:
    """The session with this token hash, unless it has expired."""
    statement = select(ConsoleSession).where(
        ConsoleSession.token_sha256 == token_sha256, ConsoleSession.expires_at > now
    )
    return session.scalars(statement).first()


def remove(session: Session, *, token_sha256: str) -> None:
    session.execute(delete(ConsoleSession).where(ConsoleSession.token_sha256 == token_sha256))


def purge_expired(session: Session, *, now: dt.datetime) -> int:
    result = session.execute(delete(ConsoleSession).where(ConsoleSession.expires_at <= now))
    return int(result.rowcount)  # type: ignore[attr-defined]


def job_id(session: Session, *, account_id: str, job_name: str) -> int | None:
    """The row id of the account's job of that name; None if the account has none."""
    return session.scalar(
        select(TrainingJob.id).where(TrainingJob.account_id == account_id, TrainingJob.name == job_name)
    )


def metric_counts(session: Session, *, job_id: int) -> list[tuple[str, int]]:
    """How many values each metric of the job has, by name (the index answers it alone)."""
    statement = (
        select(MetricPoint.name, func.count())
        .where(MetricPoint.job_id == job_id)
        .group_by(MetricPoint.name)
        .order_by(MetricPoint.name)
    )
    return [(name, int(count)) for name, count in session.execute(statement)]


def metric_values(session: Session, *, job_id: int, names: Sequence[str]) -> list[tuple[str, float, Any]]:
    """Every `(metric, value, stored timestamp)` of these metrics of the job, by metric then time: the
    short series, sent whole. The timestamp comes back as stored (text on SQLite), parsed by the caller."""
    statement = (
        select(MetricPoint.name, MetricPoint.value, _raw_time())
        .where(MetricPoint.job_id == job_id, MetricPoint.name.in_(names))
        .order_by(MetricPoint.name, MetricPoint.timestamp, MetricPoint.id)
    )
    # Core rows rather than the ORM's: no per-row entity processing.
    return [(name, value, stamp) for name, value, stamp in session.connection().execute(statement)]


def bucket_extremes(
    session: Session, *, job_id: int, name: str, count: int, buckets: int
) -> list[downsample.Candidate]:
    """The candidates of a min/max downsample of one long series, chosen in the database so the series
    never travels whole: the points numbered 0..count-1 in time order, point i in bucket
    `i * buckets // count`, and of each bucket its points at the bucket's minimum or maximum (ties
    included) and its first and last (`downsample.choose` keeps two of them). Window functions and integer
    division, in SQLite and PostgreSQL alike (`charts` says which one uses it)."""
    number = func.row_number().over(order_by=(MetricPoint.timestamp, MetricPoint.id)) - 1
    numbered = (
        select(MetricPoint.value.label("value"), _raw_time().label("stamp"), number.label("step"))
        .where(MetricPoint.job_id == job_id, MetricPoint.name == name)
        .subquery()
    )
    bucketed = select(numbered, (numbered.c.step * buckets // count).label("bucket")).subquery()
    bucket = bucketed.c.bucket
    ranged = select(
        bucketed,
        func.min(bucketed.c.value).over(partition_by=bucket).label("low"),
        func.max(bucketed.c.value).over(partition_by=bucket).label("high"),
        func.min(bucketed.c.step).over(partition_by=bucket).label("earliest"),
        func.max(bucketed.c.step).over(partition_by=bucket).label("latest"),
    ).subquery()
    r = ranged.c
    # One sort by bucket serves the four windows; a flat bucket sends only its first and last point.
    extreme = and_(r.low < r.high, or_(r.value == r.low, r.value == r.high))
    statement = (
        select(r.bucket, r.step, r.value, r.stamp, r.value == r.low, r.value == r.high)
        .where(or_(extreme, r.step == r.earliest, r.step == r.latest))
        .order_by(r.step)
    )
    return [
        downsample.Candidate(
            bucket=int(bucket), step=int(step), value=value, stamp=stamp, lowest=bool(low), highest=bool(high)
        )
        for bucket, step, value, stamp, low, high in session.connection().execute(statement)
    ]


def _raw_time() -> Any:
    """The timestamp as stored: the console parses only the few it sends, most of the time saved."""
    return type_coerce(MetricPoint.timestamp, String)
