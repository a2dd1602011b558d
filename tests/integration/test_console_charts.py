"""The console's chart series on SQLite and PostgreSQL: a short series whole, a long one downsampled to
exactly what the in-memory rule (`downsample.downsample`) keeps, ties and flat buckets included, with each
kept point's step and time; the database's window-function candidates choose the same points."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session, sessionmaker

from app.console import charts, repository
from app.console.downsample import BUCKETS, THRESHOLD, choose, downsample
from app.errors import NotFound
from app.jobs import metric_repository
from app.jobs.metric_repository import Point
from tests.support.callers import OTHER, ROOT

START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
LONG = 2 * THRESHOLD + 37  # buckets of two and of three points


def _values(n: int) -> list[float]:
    """A decaying curve rounded to few values (ties inside buckets), a flat stretch, a spike and a dip."""
    values = [round(3.0 * math.exp(-i / 700) + 0.1 * math.sin(i), 1) for i in range(n)]
    values[500:700] = [1.0] * 200
    values[1234], values[1900] = 42.0, -7.0
    return values


def test_a_long_series_is_downsampled_in_the_database_as_in_memory(
    sessions: sessionmaker[Session], create_job: Callable[..., int]
) -> None:
    job = create_job("curves")
    values = _values(LONG)
    when = [START + dt.timedelta(milliseconds=10 * i) for i in range(LONG)]
    short = [Point("acc", float(i) / 10, START + dt.timedelta(seconds=i)) for i in range(THRESHOLD)]
    with sessions.begin() as session:
        # Stored out of order: the series is numbered by time, not by insertion.
        points = [Point("loss", v, t) for v, t in zip(values, when, strict=True)]
        metric_repository.add(session, job, reversed(points))
        metric_repository.add(session, job, short)

    loss, acc = sorted(
        charts.chart_series(sessions, "curves", caller=ROOT), key=lambda c: c["name"] != "loss"
    )
    steps, kept = downsample(range(LONG), values)
    assert loss["count"] == LONG and len(loss["value"]) == THRESHOLD
    assert loss["step"] == steps and loss["value"] == kept
    assert loss["time"] == [when[step].timestamp() for step in steps]
    assert max(loss["value"]) == 42.0 and min(loss["value"]) == -7.0
    assert acc["count"] == THRESHOLD and acc["value"] == [p.value for p in short]  # whole
    assert acc["step"] == list(range(THRESHOLD))
    # The window-function path too, whichever of the two `charts` takes on this database.
    with sessions() as session:
        candidates = repository.bucket_extremes(session, job_id=job, name="loss", count=LONG, buckets=BUCKETS)
    assert [c.step for c in choose(candidates)] == steps
    assert [c.value for c in choose(candidates)] == kept


def test_another_accounts_job_has_no_charts(
    sessions: sessionmaker[Session], create_job: Callable[..., int]
) -> None:
    create_job("mine")
    with pytest.raises(NotFound):
        charts.chart_series(sessions, "mine", caller=OTHER)
