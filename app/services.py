"""The service objects one server shares, built once at startup from the settings."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.clock import Clock, utcnow
from app.config import Settings
from app.db import session as db
from app.jobs.service import Identity, TrainingJobService
from app.tagging import TagService


@dataclass
class Services:
    engine: Engine
    sessions: sessionmaker[Session]
    jobs: TrainingJobService
    tags: TagService

    def close(self) -> None:
        self.engine.dispose()


def build(settings: Settings, *, clock: Clock = utcnow) -> Services:
    """Wire the services over one engine. The database must already be migrated."""
    engine = db.make_engine(settings.resolved_database_url)
    sessions = db.make_session_factory(engine)
    identity = Identity(region=settings.region, account_id=settings.account_id)
    jobs = TrainingJobService(sessions=sessions, identity=identity, clock=clock)
    tags = TagService(sessions=sessions, resource_exists=jobs.owns)
    return Services(engine=engine, sessions=sessions, jobs=jobs, tags=tags)
