"""Metric time series per job: what MetricDefinitions found in the VMs' logs, in order."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import MetricPoint, TrainingJob
from app.errors import NotFound
from app.jobs import repository


@dataclass(frozen=True, slots=True)
class Point:
    name: str
    value: float
    timestamp: dt.datetime


class MetricSeries:
    def __init__(self, *, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def record(self, job_id: int, points: Sequence[Point]) -> None:
        if not points:
            return
        with self._sessions.begin() as session:
            session.add_all(
                MetricPoint(job_id=job_id, name=p.name, value=p.value, timestamp=p.timestamp) for p in points
            )

    def series(self, job_name: str) -> dict[str, Any]:
        """{"metrics": {name: [{"timestamp", "value"}...]}, "final": FinalMetricDataList}."""
        with self._sessions() as session:
            job = repository.get(session, job_name)
            if job is None:
                raise NotFound()
            rows = session.scalars(
                select(MetricPoint)
                .where(MetricPoint.job_id == job.id)
                .order_by(MetricPoint.name, MetricPoint.timestamp, MetricPoint.id)
            )
            metrics: dict[str, list[dict[str, Any]]] = {}
            for row in rows:
                metrics.setdefault(row.name, []).append({"timestamp": row.timestamp, "value": row.value})
            return {"job": job.name, "metrics": metrics, "final": _final(job)}


def _final(job: TrainingJob) -> list[dict[str, Any]]:
    return [
        {**m, "Timestamp": dt.datetime.fromtimestamp(m["Timestamp"], tz=dt.UTC)}
        for m in job.final_metrics or []
    ]
