"""Fixtures for tests over a real, migrated SQLite file."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from app.clock import utcnow
from app.db import migrate
from app.db.session import make_engine, make_session_factory
from app.jobs import repository
from app.jobs.service import Identity
from tests.conftest import create_request
from tests.support.collaborators import RecordingRuntime, job_service, lifecycle_of


@pytest.fixture
def sessions(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    url = f"sqlite:///{tmp_path / 'sagelite.db'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def create_job(sessions: sessionmaker[Session]) -> Callable[[str], int]:
    """Creates a job with a minimal request and returns its row id (what VMs and metric points refer to)."""
    identity = Identity(region="us-east-1", account_id="1" * 12)
    jobs = job_service(sessions, lifecycle_of(sessions, utcnow), RecordingRuntime(), identity)

    def create(name: str) -> int:
        jobs.create(create_request(name))
        with sessions() as session:
            job = repository.get(session, name)
        assert job is not None
        return job.id

    return create
