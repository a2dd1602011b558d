"""Chart data of one job: each metric's values downsampled (min/max kept) to at most `THRESHOLD` points,
with the step (its n-th value in the log) and time of each point kept."""

from __future__ import annotations

import datetime as dt
from itertools import groupby
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from app.auth.caller import Caller
from app.console import repository
from app.console.downsample import THRESHOLD, downsample
from app.errors import NotFound


def chart_series(sessions: sessionmaker[Session], job_name: str, *, caller: Caller) -> list[dict[str, Any]]:
    """`[{"name", "count", "step", "time" (epoch seconds), "value"}]` by metric name; NotFound for a job
    the caller's account does not have."""
    with sessions() as session:
        rows = repository.metric_values(session, account_id=caller.account_id, job_name=job_name)
    if rows is None:
        raise NotFound()
    charts = []
    for name, group in groupby(rows, key=lambda row: row[0]):
        points = list(group)
        steps, values = downsample(range(len(points)), [p[1] for p in points], threshold=THRESHOLD)
        times = [_epoch(points[int(i)][2]) for i in steps]
        charts.append({"name": name, "count": len(points), "step": steps, "time": times, "value": values})
    return charts


def _epoch(stored: Any) -> float:
    """Epoch seconds of a stored naive-UTC timestamp: text on SQLite, a datetime from other drivers."""
    when = stored if isinstance(stored, dt.datetime) else dt.datetime.fromisoformat(str(stored))
    return when.replace(tzinfo=dt.UTC).timestamp()
