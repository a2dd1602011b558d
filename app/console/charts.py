"""Chart data of one job: each metric's values, downsampled (min/max kept) to at most `THRESHOLD` points,
with the step (its n-th value in the log) and time of each point kept.

Where a long series is downsampled depends on the database, by measurement (bench/console.py, 100,000
points): PostgreSQL's window functions pick the candidates faster than Python reads the whole series
(`repository.bucket_extremes`, about 0.7x the time), while SQLite materializes every window's rows and
takes about twice as long as reading the series into Python and downsampling it there, so on SQLite the
series is still read whole. Both give the same points (tests/integration/test_console_charts.py)."""

from __future__ import annotations

import datetime as dt
from itertools import groupby
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from app.auth.caller import Caller
from app.console import downsample, repository
from app.errors import NotFound


def chart_series(sessions: sessionmaker[Session], job_name: str, *, caller: Caller) -> list[dict[str, Any]]:
    """`[{"name", "count", "step", "time" (epoch seconds), "value"}]` by metric name; NotFound for a job
    the caller's account does not have. On PostgreSQL a long series never leaves the database whole."""
    with sessions() as session:
        job_id = repository.job_id(session, account_id=caller.account_id, job_name=job_name)
        if job_id is None:
            raise NotFound()
        counts = repository.metric_counts(session, job_id=job_id)
        short = [name for name, count in counts if count <= downsample.THRESHOLD]
        points = _whole(session, job_id, short) if short else {}
        long = [(name, count) for name, count in counts if count > downsample.THRESHOLD]
        if long and _windows_pay_off(session):
            points |= {name: _downsampled(session, job_id, name, count) for name, count in long}
        elif long:
            points |= {
                name: _in_memory(series)
                for name, series in _whole(session, job_id, [n for n, _ in long]).items()
            }
    return [_chart(name, count, points[name]) for name, count in counts]


Points = list[tuple[int, float, Any]]  # (step, value, timestamp as stored)


def _whole(session: Session, job_id: int, names: list[str]) -> dict[str, Points]:
    rows = repository.metric_values(session, job_id=job_id, names=names)
    return {
        name: [(step, value, stamp) for step, (_, value, stamp) in enumerate(group)]
        for name, group in groupby(rows, key=lambda row: row[0])
    }


def _downsampled(session: Session, job_id: int, name: str, count: int) -> Points:
    candidates = repository.bucket_extremes(
        session, job_id=job_id, name=name, count=count, buckets=downsample.BUCKETS
    )
    return [(c.step, c.value, c.stamp) for c in downsample.choose(candidates)]


def _in_memory(series: Points) -> Points:
    steps, _ = downsample.downsample(range(len(series)), [value for _, value, _ in series])
    return [series[int(step)] for step in steps]


def _windows_pay_off(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _chart(name: str, count: int, points: Points) -> dict[str, Any]:
    return {
        "name": name,
        "count": count,
        "step": [step for step, _, _ in points],
        "time": [_epoch(stamp) for _, _, stamp in points],
        "value": [value for _, value, _ in points],
    }


def _epoch(stored: Any) -> float:
    """Epoch seconds of a stored naive-UTC timestamp: text on SQLite, a datetime from other drivers."""
    when = stored if isinstance(stored, dt.datetime) else dt.datetime.fromisoformat(str(stored))
    return when.replace(tzinfo=dt.UTC).timestamp()
