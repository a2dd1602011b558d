"""The health report over a real database: each check healthy, and unhealthy for what it watches."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.db import migrate
from app.health import CRASH_WINDOW_SECONDS, HealthCheck, HealthLimits
from app.main import create_app
from app.runtime.supervisor import RunsHealth
from app.scheduler.loop import Liveness
from app.services import Services, build
from tests.support.polling import wait_until

LIMITS = HealthLimits(stale_pass_seconds=60, min_free_disk_bytes=0)
PASSING = Liveness(running=True, seconds_since_pass=0.5)
IDLE_EXECUTOR = RunsHealth(executor="LocalExecutor", runs=0, crashed_runs=0, last_crash_at=None)


def _check(
    sessions: sessionmaker[Session],
    tmp_path: Path,
    *,
    liveness: Liveness = PASSING,
    executor: RunsHealth = IDLE_EXECUTOR,
    limits: HealthLimits = LIMITS,
) -> HealthCheck:
    return HealthCheck(
        sessions=sessions,
        scheduler=lambda: liveness,
        executor=lambda: executor,
        data_dir=tmp_path,
        limits=limits,
    )


def test_everything_healthy(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    report = _check(sessions, tmp_path).report()
    assert (report.healthy, report.status) == (True, "ok")
    assert list(report.checks) == ["database", "scheduler", "executor", "disk"]
    assert report.checks["database"].details["reachable"] is True
    assert report.checks["disk"].details["free_bytes"] > 0


@pytest.mark.parametrize(
    ("liveness", "healthy"),
    [
        (Liveness(running=False, seconds_since_pass=0.5), False),  # the loop thread died
        (Liveness(running=True, seconds_since_pass=None), False),  # no pass yet
        (Liveness(running=True, seconds_since_pass=61), False),  # stuck in a pass
        (Liveness(running=True, seconds_since_pass=59), True),
    ],
)
def test_the_scheduler_loop_must_run_and_pass(
    sessions: sessionmaker[Session], tmp_path: Path, liveness: Liveness, healthy: bool
) -> None:
    report = _check(sessions, tmp_path, liveness=liveness).report()
    assert (report.checks["scheduler"].healthy, report.healthy) == (healthy, healthy)


def test_a_recently_crashed_run_marks_the_executor_unhealthy(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    crashed = RunsHealth(executor="LocalExecutor", runs=1, crashed_runs=1, last_crash_at=time.monotonic())
    assert not _check(sessions, tmp_path, executor=crashed).report().checks["executor"].healthy
    long_ago = RunsHealth("LocalExecutor", 1, 1, time.monotonic() - CRASH_WINDOW_SECONDS - 1)
    assert _check(sessions, tmp_path, executor=long_ago).report().checks["executor"].healthy


def test_too_little_free_disk_is_unhealthy(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    limits = HealthLimits(stale_pass_seconds=60, min_free_disk_bytes=2**62)
    report = _check(sessions, tmp_path, limits=limits).report()
    assert not report.checks["disk"].healthy and report.status == "unhealthy"


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    settings.data_dir.mkdir(parents=True)
    migrate.upgrade(settings.resolved_database_url)
    built = build(settings)
    try:
        yield built
    finally:
        built.close()


def test_healthz_answers_503_when_the_database_is_unreachable(services: Services, settings: Settings) -> None:
    services.scheduler.start()  # the real loop (closed with the services): the database alone will fail
    with TestClient(create_app(settings, services=services)) as client:
        wait_until(
            lambda: client.get("/healthz").json(), until=lambda b: b == {"status": "ok"}, what="health"
        )
        # The database file is gone and a directory took its name: no new connection can open it.
        services.engine.dispose()
        database = settings.data_dir / "sagelite.db"
        os.rename(database, settings.data_dir / "moved.db")
        database.mkdir()
        anonymous = client.get("/healthz")
        assert (anonymous.status_code, anonymous.json()) == (503, {"status": "unhealthy"})
        # (An admin cannot be authenticated without the database: the report itself says why.)
        report = services.health.report()
        assert report.checks["database"].details == {"reachable": False, "error": "OperationalError"}
        assert report.checks["scheduler"].healthy
