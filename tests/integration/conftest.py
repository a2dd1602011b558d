"""Fixtures for tests over a real, migrated database: each test runs on a SQLite file and again on a fresh
PostgreSQL database (tests/support/postgres.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from app.auth.caller import Caller
from app.clock import utcnow
from app.db import migrate
from app.db.session import make_engine, make_session_factory
from app.jobs import repository
from tests.conftest import create_request
from tests.support.callers import ROOT, role_arn
from tests.support.collaborators import RecordingRuntime, job_service, lifecycle_of
from tests.support.postgres import Postgres


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database of each backend the service supports."""
    if request.param == "postgresql":
        server: Postgres = request.getfixturevalue("postgres")
        return server.fresh_database()
    url = f"sqlite:///{tmp_path / 'sagelite.db'}"
    migrate.upgrade(url)
    return url


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(database_url)
    yield make_session_factory(engine)
    engine.dispose()


CreateJob = Callable[..., int]


@pytest.fixture
def create_job(sessions: sessionmaker[Session]) -> CreateJob:
    """Creates a job with a minimal request, as the default account's root key unless `caller` says
    otherwise, and returns its row id (what VMs and metric points refer to)."""
    jobs = job_service(sessions, lifecycle_of(sessions, utcnow), RecordingRuntime())

    def create(name: str, caller: Caller = ROOT) -> int:
        jobs.create(create_request(name, RoleArn=role_arn(caller)), caller=caller)
        with sessions() as session:
            job = repository.get(session, account_id=caller.account_id, name=name)
        assert job is not None
        return job.id

    return create
