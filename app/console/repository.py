"""The console's queries: its sessions, looked up by the SHA-256 of their token, and a lean read of a
job's metric values for the charts."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import String, delete, select, type_coerce
from sqlalchemy.orm import Session

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


def metric_values(session: Session, *, account_id: str, job_name: str) -> list[tuple[str, float, Any]] | None:
    """Every `(metric, value, stored timestamp)` of the account's job, by metric then time; None if the
    account has no such job. The timestamp comes back as stored (text on SQLite): the console parses only
    the few it keeps after downsampling, which is most of the time saved on a 100,000-point series."""
    job_id = session.scalar(
        select(TrainingJob.id).where(TrainingJob.account_id == account_id, TrainingJob.name == job_name)
    )
    if job_id is None:
        return None
    raw_time = type_coerce(MetricPoint.timestamp, String)
    statement = (
        select(MetricPoint.name, MetricPoint.value, raw_time)
        .where(MetricPoint.job_id == job_id)
        .order_by(MetricPoint.name, MetricPoint.timestamp, MetricPoint.id)
    )
    # Core rows rather than the ORM's: no per-row entity processing for what may be 100,000 tuples.
    return [(name, value, stamp) for name, value, stamp in session.connection().execute(statement)]
