"""The health report `/healthz` answers: the database, the scheduler loop, the executor and free disk.

Each check says whether it is healthy and what it saw; the report is unhealthy when any check is. Who may
read the details is the API's concern (`app.api.rest.health`).
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from app.db import session as db
from app.runtime.supervisor import RunsHealth
from app.scheduler.loop import Liveness

logger = logging.getLogger(__name__)

# A crashed run (the service itself failed while driving a job) keeps the executor unhealthy this long.
CRASH_WINDOW_SECONDS = 300.0


@dataclass(frozen=True, slots=True)
class Check:
    healthy: bool
    details: dict[str, Any]


@dataclass(frozen=True, slots=True)
class HealthReport:
    checks: dict[str, Check]

    @property
    def healthy(self) -> bool:
        return all(check.healthy for check in self.checks.values())

    @property
    def status(self) -> str:
        return "ok" if self.healthy else "unhealthy"


@dataclass(frozen=True, slots=True)
class HealthLimits:
    """Unhealthy: a scheduler pass older than `stale_pass_seconds`, free disk under `min_free_disk_bytes`."""

    stale_pass_seconds: float
    min_free_disk_bytes: int


class HealthCheck:
    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        scheduler: Callable[[], Liveness],
        executor: Callable[[], RunsHealth],
        data_dir: Path,
        limits: HealthLimits,
    ) -> None:
        self._sessions = sessions
        self._scheduler = scheduler
        self._executor = executor
        self._data_dir = data_dir
        self._limits = limits

    def report(self) -> HealthReport:
        """Run every check; none raises (a failing one is reported unhealthy)."""
        return HealthReport(
            {
                "database": self._database(),
                "scheduler": self._scheduler_check(),
                "executor": self._executor_check(),
                "disk": self._disk(),
            }
        )

    def _database(self) -> Check:
        started = time.perf_counter()
        try:
            db.ping(self._sessions)
        except Exception as error:
            # The error's type only: a database URL in its message may hold a password.
            logger.warning("health: database unreachable", extra={"error": type(error).__name__})
            return Check(False, {"reachable": False, "error": type(error).__name__})
        return Check(
            True, {"reachable": True, "latency_ms": round((time.perf_counter() - started) * 1000, 2)}
        )

    def _scheduler_check(self) -> Check:
        liveness = self._scheduler()
        since = liveness.seconds_since_pass
        stale = since is None or since > self._limits.stale_pass_seconds
        details = {
            "running": liveness.running,
            "seconds_since_last_pass": None if since is None else round(since, 3),
        }
        return Check(liveness.running and not stale, details)

    def _executor_check(self) -> Check:
        health = self._executor()
        ago = None if health.last_crash_at is None else time.monotonic() - health.last_crash_at
        details = {
            "executor": health.executor,
            "runs": health.runs,
            "crashed_runs": health.crashed_runs,
            "seconds_since_last_crash": None if ago is None else round(ago, 3),
        }
        return Check(ago is None or ago > CRASH_WINDOW_SECONDS, details)

    def _disk(self) -> Check:
        try:
            usage = shutil.disk_usage(self._data_dir)
        except OSError as error:
            return Check(False, {"error": type(error).__name__})
        details = {
            "free_bytes": usage.free,
            "total_bytes": usage.total,
            "min_free_bytes": self._limits.min_free_disk_bytes,
        }
        return Check(usage.free >= self._limits.min_free_disk_bytes, details)
