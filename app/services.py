"""The service objects one server shares, built once at startup from the settings."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from app.audit.log import AuditLog
from app.auth import bootstrap
from app.auth.identities import IdentityService
from app.auth.job_credentials import JobCredentialBroker
from app.clock import Clock, utcnow
from app.config import Settings
from app.console.sessions import ConsoleSessions
from app.crypto import keyring as keyrings
from app.db import lease
from app.db import session as db
from app.health import HealthCheck, HealthLimits
from app.hosts import pool, vms
from app.hosts.service import HostService
from app.jobs.lifecycle import JobLifecycle
from app.jobs.metric_series import MetricSeries
from app.jobs.service import Identity, TrainingJobService
from app.runtime import isolation
from app.runtime.executor import Executor
from app.runtime.ray import executor as ray_executor
from app.runtime.ray.cluster import RayCluster
from app.runtime.supervisor import Supervisor
from app.scheduler import leadership as leaderships
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
from app.tuning.doorbell import TunerDoorbell
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
    console_sessions: ConsoleSessions
    leadership: leaderships.Leadership
    run_lifecycle: JobLifecycle  # the scheduler's and the runs' writes: fenced by the leader's epoch
    cluster: RayCluster | None = None  # with --ray-address: the cluster whose nodes are the hosts

    def start(self) -> None:
        """Serve at once; place jobs once this replica leads (at once with SQLite, which has one), after
        reconciling what the previous leader (or this server, before a crash) left behind."""
        self.leadership.start(on_elected=self._take_over, on_deposed=self._step_down)
        if self.cluster is not None:
            self.cluster.start_sync(self._sync_hosts)
        self.scheduler.start()
        self.tuner.start()
        self.audit.start()
        self.upload_expiry.start()

    def _take_over(self, election: lease.Election) -> None:
        recovery.recover(
            sessions=self.sessions,
            lifecycle=self.run_lifecycle,
            clock=self.lifecycle.clock,
            executor=self.executor,
            work_dir=self.settings.data_dir,
            local=election.previous_machine in (None, leaderships.this_machine()),
        )
        # No job runs yet: any temporary key a previous leader issued belongs to a run that is over.
        self.identities.revoke_all_job_credentials()

    def _step_down(self) -> None:
        # Another replica leads now (or soon) and settles these jobs; their writes are refused already.
        self.supervisor.stop_all("InternalServerError: the replica running the job lost the scheduler lease.")

    def close(self) -> None:
        self.scheduler.close()
        self.tuner.close()
        self.audit.close()
        self.upload_expiry.close()
        self.supervisor.shutdown(timeout=self.settings.stop_grace_seconds + 5)
        if self.cluster is not None:
            self.cluster.close()
        self.leadership.close()  # after the runs: their last writes carry this replica's epoch
        self.store.close()
        self.engine.dispose()

    def _sync_hosts(self, hosts: list[pool.HostSpec]) -> None:
        with self.sessions.begin() as session:
            vms.sync_vanishing_hosts(session, hosts)


def build(settings: Settings, *, clock: Clock = utcnow, executor: Executor | None = None) -> Services:
    """Wire the services over one engine, each given its collaborators. The database must be migrated."""
    bootstrap.check(settings)  # before anything opens: settings without a usable root key stop here
    engine = db.make_engine(settings.resolved_database_url)
    sessions = db.make_session_factory(engine)
    cluster = RayCluster.connect(settings) if settings.ray_address and executor is None else None
    keyring = keyrings.load_or_create(settings.resolved_master_key_file)
    identities = IdentityService(sessions=sessions, keyring=keyring, clock=clock)
    bootstrap.ensure_root_key(settings=settings, identities=identities)
    if cluster is not None:
        executor = ray_executor.RayExecutor(cluster=cluster, grace_seconds=settings.stop_grace_seconds)
    executor = executor or isolation.build_executor(settings)
    hosts = (
        cluster.hosts()
        if cluster
        else pool.configured_hosts(settings, real_volumes=executor.enforces_volumes)
    )
    with sessions.begin() as session:
        vms.sync_hosts(session, hosts)
    job_credentials = JobCredentialBroker(
        issuer=identities,
        endpoint_url=executor.server_url(settings.vm_url),  # as the VMs reach it
        region=settings.region,
        clock=clock,
    )
    # Creates, stops and finished runs ring it; the scheduler waits on it. Nobody holds the scheduler.
    wakeup = Wakeup()
    wakeup.hint()  # the first pass places whatever was queued before a restart
    # Creates and stops of tuning jobs ring it for all of them; an ended training job for its tuning job only.
    tuner_doorbell = TunerDoorbell()
    lifecycle = JobLifecycle(sessions=sessions, clock=clock)
    leadership = _leadership(settings, sessions=sessions, clock=clock)
    run_lifecycle = JobLifecycle(sessions=sessions, clock=clock, fence=leadership.fencing())
    store = ObjectStore(settings.data_dir / "objects", keyring=keyring, legacy_owner=settings.account_id)
    metric_series = MetricSeries(sessions=sessions)
    telemetry = Telemetry()
    telemetry.register(StateGauges(lambda: snapshot.read_snapshot(sessions=sessions, store=store)))
    supervisor = Supervisor(
        lifecycle=run_lifecycle,
        metric_series=metric_series,
        sessions=sessions,
        executor=executor,
        store=store,
        work_dir=settings.data_dir,
        clock=clock,
        stop_grace_seconds=settings.stop_grace_seconds,
        max_log_bytes_per_vm=settings.max_log_bytes_per_vm,
        on_finished=lambda arn: _ring(wakeup, tuner_doorbell, ended=arn),
        credentials=job_credentials,
    )
    scheduler = Scheduler(
        sessions=sessions,
        lifecycle=run_lifecycle,
        runs=supervisor,
        wakeup=wakeup,
        clock=clock,
        stop_grace_seconds=settings.stop_grace_seconds,
        interval_seconds=settings.scheduler_interval_seconds,
        observer=telemetry,
        is_leader=leadership.is_leader,
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
        sessions=sessions, region=settings.region, trials=jobs, hint=tuner_doorbell.ring_all, clock=clock
    )
    tuner = Tuner(
        sessions=sessions,
        jobs=jobs,
        identity=Identity(region=settings.region),
        doorbell=tuner_doorbell,
        clock=clock,
        interval_seconds=settings.scheduler_interval_seconds,
        is_leader=leadership.is_leader,
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
        console_sessions=ConsoleSessions(
            sessions=sessions,
            keys=identities,
            clock=clock,
            ttl=dt.timedelta(hours=settings.console_session_hours),
        ),
        cluster=cluster,
        audit=AuditLog(
            sessions=sessions, clock=clock, retention=dt.timedelta(days=settings.audit_retention_days)
        ),
        leadership=leadership,
        run_lifecycle=run_lifecycle,
    )


def _leadership(
    settings: Settings, *, sessions: sessionmaker[Session], clock: Clock
) -> leaderships.Leadership:
    """PostgreSQL may have several replicas, of which one leads; SQLite has one, which always does."""
    url = settings.resolved_database_url
    if make_url(url).get_backend_name() != "postgresql":
        return leaderships.SoleLeader()
    return leaderships.AdvisoryLeader(
        url=url, sessions=sessions, clock=clock, lease_seconds=settings.scheduler_lease_seconds
    )


def _ring(wakeup: Wakeup, tuner_doorbell: TunerDoorbell, *, ended: str) -> None:
    wakeup.hint()
    tuner_doorbell.training_job_ended(ended)


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
