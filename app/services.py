"""The service objects one server shares, built once at startup from the settings."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.clock import Clock, utcnow
from app.config import Settings
from app.db import session as db
from app.health import HealthCheck
from app.hosts import pool, vms
from app.hosts.service import HostService
from app.jobs.metric_series import MetricSeries
from app.jobs.service import Identity, TrainingJobService
from app.runtime.executor import Executor, LocalExecutor
from app.runtime.supervisor import Supervisor
from app.scheduler import recovery
from app.scheduler.loop import Scheduler
from app.storage.object_store import ObjectStore
from app.tags.service import TagService


@dataclass
class Services:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    jobs: TrainingJobService
    tags: TagService
    metric_series: MetricSeries
    hosts: HostService
    health: HealthCheck
    store: ObjectStore
    supervisor: Supervisor
    scheduler: Scheduler

    def start(self) -> None:
        """Reconcile what a crash left behind, then start placing jobs."""
        recovery.recover(sessions=self.sessions, jobs=self.jobs, clock=self.jobs.clock)
        self.scheduler.start()
        self.scheduler.hint()

    def close(self) -> None:
        self.scheduler.close()
        self.supervisor.shutdown(timeout=self.settings.stop_grace_seconds + 5)
        self.store.close()
        self.engine.dispose()


def build(settings: Settings, *, clock: Clock = utcnow, executor: Executor | None = None) -> Services:
    """Wire the services over one engine. The database must already be migrated."""
    engine = db.make_engine(settings.resolved_database_url)
    sessions = db.make_session_factory(engine)
    with sessions.begin() as session:
        vms.sync_hosts(session, pool.configured_hosts(settings))
    identity = Identity(region=settings.region, account_id=settings.account_id)
    jobs = TrainingJobService(sessions=sessions, identity=identity, clock=clock)
    store = ObjectStore(settings.data_dir / "objects")
    scheduler: Scheduler
    metric_series = MetricSeries(sessions=sessions)
    supervisor = Supervisor(
        jobs=jobs,
        metric_series=metric_series,
        sessions=sessions,
        executor=executor or LocalExecutor(),
        store=store,
        work_dir=settings.data_dir,
        clock=clock,
        stop_grace_seconds=settings.stop_grace_seconds,
        on_finished=lambda: scheduler.hint(),
    )
    scheduler = Scheduler(
        sessions=sessions,
        jobs=jobs,
        supervisor=supervisor,
        clock=clock,
        stop_grace_seconds=settings.stop_grace_seconds,
        interval_seconds=settings.scheduler_interval_seconds,
    )
    jobs.runtime = scheduler
    jobs.admission = scheduler.admit
    tags = TagService(sessions=sessions, resource_exists=jobs.owns)
    return Services(
        settings=settings,
        engine=engine,
        sessions=sessions,
        jobs=jobs,
        tags=tags,
        metric_series=metric_series,
        hosts=HostService(sessions=sessions, vm_control=supervisor),
        health=HealthCheck(sessions=sessions),
        store=store,
        supervisor=supervisor,
        scheduler=scheduler,
    )
