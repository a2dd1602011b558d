"""The service objects one server shares, built once at startup from the settings."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.audit.log import AuditLog
from app.auth import bootstrap
from app.auth.identities import IdentityService
from app.auth.job_credentials import JobCredentialBroker
from app.clock import Clock, utcnow
from app.config import Settings
from app.crypto import keyring as keyrings
from app.db import session as db
from app.health import HealthCheck, HealthLimits
from app.hosts import pool, vms
from app.hosts.service import HostService
from app.jobs.lifecycle import JobLifecycle
from app.jobs.metric_series import MetricSeries
from app.jobs.service import Identity, TrainingJobService
from app.runtime import isolation
from app.runtime.executor import Executor
from app.runtime.supervisor import Supervisor
from app.scheduler import recovery
from app.scheduler.admission import CapacityCheck
from app.scheduler.loop import Scheduler
from app.scheduler.wakeup import Wakeup
from app.storage.object_store import ObjectStore
from app.storage.upload_expiry import UploadExpiry
from app.tags.service import TagService
from app.telemetry import snapshot
from app.telemetry.gauges import StateGauges
from app.telemetry.metrics import Telemetry
from app.tuning.service import TuningJobService
from app.tuning.tuner import Tuner

# The scheduler passes at least every `scheduler_interval_seconds`; a pass this much older means it is stuck.
STALE_PASS_INTERVALS = 10
STALE_PASS_MIN_SECONDS = 60.0


@dataclass
class Services:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    lifecycle: JobLifecycle
    jobs: TrainingJobService
    tags: TagService
    metric_series: MetricSeries
    hosts: HostService
    health: HealthCheck
    store: ObjectStore
    supervisor: Supervisor
    executor: Executor
    scheduler: Scheduler
    keyring: keyrings.Keyring
    identities: IdentityService
    audit: AuditLog
    job_credentials: JobCredentialBroker
    upload_expiry: UploadExpiry
    telemetry: Telemetry
    tuning: TuningJobService
    tuner: Tuner

    def start(self) -> None:
        """Reconcile what a crash left behind, then start placing jobs."""
        recovery.recover(
            sessions=self.sessions,
            lifecycle=self.lifecycle,
            clock=self.lifecycle.clock,
            executor=self.executor,
            work_dir=self.settings.data_dir,
        )
        # No job runs yet: any temporary key a previous process issued belongs to a run that is over.
        self.identities.revoke_all_job_credentials()
        self.scheduler.start()
        self.tuner.start()
        self.audit.start()
        self.upload_expiry.start()

    def close(self) -> None:
        self.scheduler.close()
        self.tuner.close()
        self.audit.close()
        self.upload_expiry.close()
        self.supervisor.shutdown(timeout=self.settings.stop_grace_seconds + 5)
        self.store.close()
        self.engine.dispose()


def build(settings: Settings, *, clock: Clock = utcnow, executor: Executor | None = None) -> Services:
    """Wire the services over one engine, each given its collaborators. The database must be migrated."""
    bootstrap.check(settings)  # before anything opens: settings without a usable root key stop here
    engine = db.make_engine(settings.resolved_database_url)
    sessions = db.make_session_factory(engine)
    with sessions.begin() as session:
        vms.sync_hosts(session, pool.configured_hosts(settings))
    keyring = keyrings.load_or_create(settings.resolved_master_key_file)
    identities = IdentityService(sessions=sessions, keyring=keyring, clock=clock)
    bootstrap.ensure_root_key(settings=settings, identities=identities)
    job_credentials = JobCredentialBroker(
        issuer=identities, endpoint_url=settings.local_url, region=settings.region, clock=clock
    )
    # Creates, stops and finished runs ring it; the scheduler waits on it. Nobody holds the scheduler.
    wakeup = Wakeup()
    wakeup.hint()  # the first pass places whatever was queued before a restart
    tuner_wakeup = Wakeup()  # creates and stops of tuning jobs, and every finished training job, ring it
    tuner_wakeup.hint()  # the first pass resumes the tuning jobs a restart interrupted
    lifecycle = JobLifecycle(sessions=sessions, clock=clock)
    store = ObjectStore(settings.data_dir / "objects", keyring=keyring, legacy_owner=settings.account_id)
    metric_series = MetricSeries(sessions=sessions)
    telemetry = Telemetry()
    telemetry.register(StateGauges(lambda: snapshot.read_snapshot(sessions=sessions, store=store)))
    executor = executor or isolation.build_executor(settings)
    supervisor = Supervisor(
        lifecycle=lifecycle,
        metric_series=metric_series,
        sessions=sessions,
        executor=executor,
        store=store,
        work_dir=settings.data_dir,
        clock=clock,
        stop_grace_seconds=settings.stop_grace_seconds,
        max_log_bytes_per_vm=settings.max_log_bytes_per_vm,
        on_finished=lambda: _ring(wakeup, tuner_wakeup),
        credentials=job_credentials,
    )
    scheduler = Scheduler(
        sessions=sessions,
        lifecycle=lifecycle,
        runs=supervisor,
        wakeup=wakeup,
        clock=clock,
        stop_grace_seconds=settings.stop_grace_seconds,
        interval_seconds=settings.scheduler_interval_seconds,
        observer=telemetry,
    )
    jobs = TrainingJobService(
        sessions=sessions,
        identity=Identity(region=settings.region),
        lifecycle=lifecycle,
        hinter=wakeup,
        stopper=supervisor,
        admission=CapacityCheck(sessions=sessions),
    )
    tuning = TuningJobService(
        sessions=sessions, region=settings.region, trials=jobs, hint=tuner_wakeup.hint, clock=clock
    )
    tuner = Tuner(
        sessions=sessions,
        jobs=jobs,
        identity=Identity(region=settings.region),
        wakeup=tuner_wakeup,
        clock=clock,
        interval_seconds=settings.scheduler_interval_seconds,
    )
    return Services(
        settings=settings,
        engine=engine,
        sessions=sessions,
        lifecycle=lifecycle,
        jobs=jobs,
        tags=TagService(sessions=sessions, resource_exists=_AnyOwner(jobs, tuning)),
        metric_series=metric_series,
        hosts=HostService(sessions=sessions, vm_control=supervisor, isolation=executor.isolation),
        health=_health_check(settings, sessions=sessions, scheduler=scheduler, supervisor=supervisor),
        store=store,
        supervisor=supervisor,
        executor=executor,
        scheduler=scheduler,
        keyring=keyring,
        identities=identities,
        job_credentials=job_credentials,
        upload_expiry=UploadExpiry(
            uploads=store.uploads,
            clock=clock,
            max_age=dt.timedelta(days=settings.incomplete_upload_expiry_days),
        ),
        telemetry=telemetry,
        tuning=tuning,
        tuner=tuner,
        audit=AuditLog(
            sessions=sessions, clock=clock, retention=dt.timedelta(days=settings.audit_retention_days)
        ),
    )


def _ring(*wakeups: Wakeup) -> None:
    for wakeup in wakeups:
        wakeup.hint()


@dataclass(frozen=True)
class _AnyOwner:
    """Tags go on training jobs and tuning jobs alike."""

    jobs: TrainingJobService
    tuning: TuningJobService

    def __call__(self, arn: str, *, account_id: str) -> bool:
        return self.jobs.owns(arn, account_id=account_id) or self.tuning.owns(arn, account_id=account_id)


def _health_check(
    settings: Settings, *, sessions: sessionmaker[Session], scheduler: Scheduler, supervisor: Supervisor
) -> HealthCheck:
    stale = max(STALE_PASS_MIN_SECONDS, STALE_PASS_INTERVALS * settings.scheduler_interval_seconds)
    limits = HealthLimits(
        stale_pass_seconds=stale, min_free_disk_bytes=settings.health_min_free_disk_mib << 20
    )
    return HealthCheck(
        sessions=sessions,
        scheduler=scheduler.liveness,
        executor=supervisor.health,
        data_dir=settings.data_dir,
        limits=limits,
    )
