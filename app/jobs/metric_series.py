"""Metric time series per job: what MetricDefinitions found in the VMs' logs, in order."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from app.auth.caller import Caller
from app.db.models import TrainingJob
from app.errors import NotFound
from app.jobs import metric_repository, repository
from app.jobs.metric_repository import Point, Series


class MetricSeries:
    def __init__(self, *, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def record(self, job_id: int, points: Sequence[Point]) -> None:
        if not points:
            return
        with self._sessions.begin() as session:
            metric_repository.add(session, job_id, points)

    def series(self, job_name: str, *, caller: Caller) -> dict[str, Any]:
        """{"metrics": {name: [{"timestamp", "value"}...]}, "final": FinalMetricDataList} of one of the
        caller's jobs; NotFound for an unknown job and for another account's alike."""
        account_id = caller.account_id
        with self._sessions() as session:
            job = repository.get(session, account_id=account_id, name=job_name)
            if job is None:
                raise NotFound()
            points = metric_repository.of_job(session, account_id=account_id, job_id=job.id)
        metrics: dict[str, list[dict[str, Any]]] = {}
        for point in points:
            metrics.setdefault(point.name, []).append({"timestamp": point.timestamp, "value": point.value})
        return {"job": job.name, "metrics": metrics, "final": _final(job)}

    def of_account(
        self, *, caller: Caller, job_name: str | None = None, name: str | None = None
    ) -> list[Series]:
        """Every (job, host, metric) of the caller's account, optionally of one job or metric name."""
        with self._sessions() as session:
            return metric_repository.series_of_account(
                session, account_id=caller.account_id, job_name=job_name, name=name
            )

    def values(
        self,
        *,
        caller: Caller,
        job_name: str,
        name: str,
        start: dt.datetime,
        end: dt.datetime,
        host: str | None = None,
    ) -> list[tuple[dt.datetime, float]]:
        """(timestamp, value) of one metric of one of the caller's jobs in [start, end), of one VM's log
        when `host` names it; none for another account's job."""
        with self._sessions() as session:
            return metric_repository.values_between(
                session,
                account_id=caller.account_id,
                job_name=job_name,
                name=name,
                start=start,
                end=end,
                host=host,
            )


def _final(job: TrainingJob) -> list[dict[str, Any]]:
    return [
        {**m, "Timestamp": dt.datetime.fromtimestamp(m["Timestamp"], tz=dt.UTC)}
        for m in job.final_metrics or []
    ]
