"""One job's run across its VMs (see `supervisor` for the lifecycle). Never holds a DB session while
waiting on a process, a file or the network."""

from __future__ import annotations

import datetime as dt
import errno
import logging
import os
import signal
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from app.clock import Clock
from app.hosts import vms
from app.hosts.vms import VmPlan
from app.jobs import billing, repository
from app.jobs.lifecycle import JobLifecycle, RunFacts
from app.jobs.metric_series import MetricSeries
from app.jobs.status import Secondary, Status
from app.runtime import (
    artifacts,
    bucket_access,
    channels,
    checkpoints,
    contract,
    failures,
    logs,
    sm_env,
    sources,
    vm_env,
    vm_spec,
    workspace,
)
from app.runtime.bucket_access import BucketAccess
from app.runtime.devices import Devices
from app.runtime.executor import Executor, LaunchSpec
from app.runtime.job_plan import JobCredentials, JobPlan
from app.runtime.metric_scanner import MetricScanner
from app.storage import uris
from app.storage.object_store import ObjectStore

logger = logging.getLogger(__name__)

GIB = 1024**3
_WATCH_INTERVAL = 1.0  # seconds between metric and disk checks while VMs run
# At the deadline a job goes Stopping → Uploading → MaxRuntimeExceeded, each once, as a stopped job does.
DEADLINE_MESSAGE = "Stopping the training job: MaxRuntimeInSeconds was exceeded"


@dataclass(frozen=True, slots=True)
class Outcome:
    """How the run ended, before it is settled against the job's status (`JobLifecycle.finish`)."""

    status: Status
    secondary: Secondary
    failure_reason: str | None = None
    package: bool = True  # upload whatever the model directory holds (not after a failure to start)
    message: str | None = None  # the status message (a restart's: why, and which retry)


@dataclass
class _Vm:
    plan: VmPlan
    root: Path
    log: Path
    env: dict[str, str] = field(default_factory=dict)
    cores: tuple[int, ...] = ()
    gpus: tuple[int, ...] = ()
    pid: int | None = None
    exit_code: int | None = None
    paused: bool = False
    fetches: tuple[channels.Fetch, ...] = ()  # a remote VM's channel objects, which it downloads itself
    checkpoint_fetches: tuple[channels.Fetch, ...] = ()  # and its saved checkpoints


@dataclass
class JobRun:
    plan: JobPlan
    lifecycle: JobLifecycle
    metric_series: MetricSeries
    sessions: sessionmaker[Session]
    executor: Executor
    store: ObjectStore
    work_dir: Path
    clock: Clock
    grace_seconds: float
    max_log_bytes: int
    devices: Devices
    credentials: JobCredentials
    thread: threading.Thread | None = None
    _wake: threading.Event = field(default_factory=threading.Event)
    _stop: threading.Event = field(default_factory=threading.Event)
    _stop_reason: str | None = None
    _pause_lock: threading.Lock = field(default_factory=threading.Lock)

    def request_stop(self, reason: str | None = None) -> None:
        self._stop_reason = reason
        self._stop.set()
        self._wake.set()

    def run(self) -> None:
        name = self.plan.job_name
        started = self.clock()
        epoch = int(started.timestamp())
        self._vms = [
            _Vm(
                plan=p,
                root=workspace.vm_root(self.work_dir, p.id),
                log=logs.stream_path(
                    self.work_dir,
                    account_id=self.plan.account_id,
                    job_name=name,
                    host=p.hostname,
                    epoch=epoch,
                ),
            )
            for p in self.plan.vms
        ]
        self._metrics = MetricScanner(self.plan.spec.algorithm.metric_definitions, job_name=name)
        self._training_started: dt.datetime | None = None
        outcome = self._run()
        self._finish(outcome)

    # -- phases ------------------------------------------------------------------------------------

    def _run(self) -> Outcome:
        # A stop that landed before a step makes that step's compare-and-set fail: the run ends there.
        if self._stop.is_set() or not self.lifecycle.advance_run(self.plan.job_id, Secondary.DOWNLOADING):
            return self._stopped_before_start()
        try:
            self._prepare()
        except (channels.ChannelError, bucket_access.AccessDenied) as error:
            return Outcome(Status.FAILED, Secondary.FAILED, f"ClientError: {error}", package=False)
        except OSError as error:
            if error.errno != errno.ENOSPC:
                raise
            return Outcome(Status.FAILED, Secondary.FAILED, self._volume_full_reason(), package=False)
        now = self.clock()
        if self._stop.is_set() or not self.lifecycle.start_training(self.plan.job_id, at=now):
            return self._stopped_before_start()
        self._training_started = now
        self._launch(now)
        return self._watch()

    def _prepare(self) -> None:
        job = self.plan.spec
        access = BucketAccess(store=self.store, account_id=self.plan.account_id)
        self._check_buckets(access)
        hosts = tuple(vm.plan.hostname for vm in self._vms)
        for index, vm in enumerate(self._vms):
            spec = vm_spec.for_vm(
                job,
                job_arn=self.plan.job_arn,
                host=vm.plan.hostname,
                hosts=hosts,
                instance_type=vm.plan.instance_type,
                vcpus=vm.plan.vcpus,
                gpus=vm.plan.gpus,
                memory_gib=vm.plan.memory_gib,
            )
            self.executor.provision(vm_id=vm.plan.id, root=vm.root, disk_gib=vm.plan.disk_gib)
            paths = contract.write_config(spec, vm.root)
            sources.fetch_code(
                job.hyperparameters,
                store=self.store,
                code_dir=paths.code_dir,
                scratch_dir=workspace.scratch_root(self.work_dir),
            )
            shard = {"host_index": index, "host_count": len(hosts)}
            if self.executor.remote:
                vm.fetches = tuple(channels.plan(job.channels, store=self.store, access=access, **shard))
                vm.checkpoint_fetches = tuple(checkpoints.plan(job.checkpoint, store=self.store))
            else:
                checkpoints.restore(job.checkpoint, store=self.store, local=paths.checkpoints_dir)
                channels.fetch_all(
                    job.channels, store=self.store, access=access, data_dir=paths.input_data_dir, **shard
                )
            vm.env = sm_env.environment(spec, self.executor.view_of(vm.root))

    def _check_buckets(self, access: BucketAccess) -> None:
        """Before anything is fetched or trained: every bucket the job names must be its account's."""
        job = self.plan.spec
        reads = [c.s3.uri for c in job.channels if c.s3 is not None]
        reads.append(sources.submit_directory(job.hyperparameters))
        if job.checkpoint is not None:
            reads.append(job.checkpoint.s3_uri)
        for uri in reads:
            access.require_uri(uri, operation=bucket_access.READ)
        access.require_uri(job.output.s3_output_path, operation=bucket_access.WRITE)

    def _launch(self, now: dt.datetime) -> None:
        self._deadline = now + dt.timedelta(seconds=self.plan.spec.max_runtime_seconds)
        credentials_env = self._credentials_env()
        hosts = tuple(vm.plan.hostname for vm in self._vms)
        placed_on = tuple(vm.plan.host for vm in self._vms)
        meeting = self.executor.rendezvous(hosts=hosts, placed_on=placed_on).environment()
        for vm in self._vms:
            seen_root = self.executor.view_of(vm.root)
            base_env = vm_env.base_environment(os.environ, interpreter=Path(sys.executable), home=seen_root)
            base_env |= credentials_env
            vm.cores = self.devices.cores.take(int(vm.plan.vcpus))
            vm.gpus = self.devices.gpus.take(vm.plan.gpus)
            gpu_env = self.devices.gpu_environment(vm.gpus, vm.plan.gpus)
            spec = LaunchSpec(
                vm_id=vm.plan.id,
                command=[sys.executable, "-m", "app.training", str(seen_root)],
                cwd=vm.root,
                env={**base_env, **vm.env, **gpu_env, **meeting, "SAGELITE_VM_ID": vm.plan.id},
                log_path=vm.log,
                memory_bytes=int(vm.plan.memory_gib * GIB),
                cpus=vm.cores,
                hostname=vm.plan.hostname,
                job_key=f"{self.plan.job_id}",
                hosts=hosts,
                vcpus=vm.plan.vcpus,
                gpus=vm.gpus,
                network_isolated=self.plan.spec.network_isolation,
                max_log_bytes=self.max_log_bytes,
                host=vm.plan.host,
                fetches=vm.fetches,
                checkpoint_fetches=vm.checkpoint_fetches,
                deadline_at=self._deadline.timestamp(),
                results_uri=self._results_uri(vm) if self.executor.remote else "",
            )
            vm.pid = self.executor.launch(spec, on_exit=self._wake.set)
            # Recorded at once, VM by VM: recovery after a crash finds (and kills) what has a pid.
            with self.sessions.begin() as session:
                vms.mark_running(
                    session,
                    vm.plan.id,
                    pid=vm.pid,
                    started_at=now,
                    deadline_at=self._deadline + dt.timedelta(seconds=self.grace_seconds),
                )

    def _results_uri(self, vm: _Vm) -> str:
        """Where a remote VM's node leaves its results for this server: beside the job's artifacts, in
        the output bucket the job may write (and the run would create), removed once taken."""
        staged = uris.join(self.plan.spec.output.s3_output_path, self.plan.job_name, "node-results")
        return str(staged.join(f"{vm.plan.hostname}.tar"))

    def _credentials_env(self) -> dict[str, str]:
        """Valid a little past the deadline (uploads of checkpoints by user code at SIGTERM), and revoked
        the moment the run ends, whichever comes first. A network-isolated job gets none, as on AWS:
        it may not call any service, so a token would only be a secret to leak."""
        if self.plan.spec.network_isolation:
            return {}
        return self.credentials.grant(
            account_id=self.plan.account_id,
            job_name=self.plan.job_name,
            ttl=dt.timedelta(seconds=self.plan.spec.max_runtime_seconds + self.grace_seconds + 300),
        )

    def _watch(self) -> Outcome:
        while True:
            self._collect_exits()
            failed = next((vm for vm in self._vms if vm.exit_code not in (None, 0)), None)
            if failed is not None:
                self._terminate_all()
                return self._failed(failed)
            if all(vm.exit_code == 0 for vm in self._vms):
                return Outcome(Status.COMPLETED, Secondary.COMPLETED)
            if self._stop.is_set():
                self._terminate_all()
                return Outcome(Status.STOPPED, Secondary.STOPPED, self._stop_reason)
            now = self.clock()
            if now >= self._deadline:
                self.lifecycle.transition(
                    self.plan.job_id,
                    status=Status.STOPPING,
                    secondary=Secondary.STOPPING,
                    message=DEADLINE_MESSAGE,
                )
                self._terminate_all()
                return Outcome(Status.STOPPED, Secondary.MAX_RUNTIME_EXCEEDED)
            over = self._over_disk_budget()
            if over is not None:
                self._terminate_all()
                return Outcome(Status.FAILED, Secondary.FAILED, over)
            self._scan_metrics(now)
            self._follow_requests()
            remaining = (self._deadline - now).total_seconds()
            self._wake.wait(timeout=max(0.0, min(_WATCH_INTERVAL, remaining)))
            self._wake.clear()

    def _failed(self, vm: _Vm) -> Outcome:
        """A VM failed: the job fails with its reason, or, when its host was lost and the job's
        RetryStrategy allows another attempt, is queued again (Restarting), as SageMaker restarts a job
        after an instance failure; the attempt counts."""
        reason = failures.reason(
            vm.root,
            vm.log,
            vm.exit_code,
            instance_type=vm.plan.instance_type,
            memory_gib=vm.plan.memory_gib,
            volume_gib=vm.plan.disk_gib,
            oom_killed=vm.pid is not None and self.executor.out_of_memory(vm.pid),
        )
        if not failures.host_lost(reason):
            return Outcome(Status.FAILED, Secondary.FAILED, reason)
        with self.sessions() as session:
            left = repository.retries_left(session, self.plan.job_id)
        if left <= 0:
            return Outcome(Status.FAILED, Secondary.FAILED, reason)
        allowed = self.plan.spec.max_retry_attempts
        detail = reason.removeprefix("InternalServerError: ")
        message = f"Restarting the training job: {detail}; retry {allowed - left + 1} of {allowed}"
        return Outcome(Status.IN_PROGRESS, Secondary.RESTARTING, package=False, message=message)

    def has_vm(self, vm_id: str) -> bool:
        return any(vm.id == vm_id for vm in self.plan.vms)

    def set_paused(self, vm_id: str, *, paused: bool) -> None:
        """Freeze or thaw one VM of this run (its recorded state is the caller's to write)."""
        with self._pause_lock:
            vm = next((v for v in getattr(self, "_vms", []) if v.plan.id == vm_id), None)
            if vm is None or vm.pid is None or vm.exit_code is not None or vm.paused == paused:
                return
            (self.executor.pause if paused else self.executor.resume)(vm.pid)
            vm.paused = paused

    def _follow_requests(self) -> None:
        """Stops and pauses asked of another API replica reach the replica running the job through the
        database: the job's status and its VMs' recorded states, read once per watch pass."""
        with self.sessions() as session:
            status = repository.status_of(session, self.plan.job_id)
            states = vms.states_of(session, [vm.plan.id for vm in self._vms])
        if status == Status.STOPPING and not self._stop.is_set():
            self.request_stop()
        for vm in self._vms:
            state = states.get(vm.plan.id)
            if state in (vms.VmState.PAUSED, vms.VmState.RUNNING):
                self.set_paused(vm.plan.id, paused=state == vms.VmState.PAUSED)

    def _terminate_all(self) -> None:
        """SIGTERM every VM's process group, wait the grace period, then SIGKILL what is left."""
        live = [vm for vm in self._vms if vm.pid is not None and vm.exit_code is None]
        for vm in live:
            assert vm.pid is not None
            self.executor.signal(vm.pid, signal.SIGTERM)
            self.executor.resume(vm.pid)  # a paused VM must run to see its SIGTERM
        give_up = self.clock() + dt.timedelta(seconds=self.grace_seconds)
        while any(vm.exit_code is None for vm in live) and self.clock() < give_up:
            self._wake.wait(timeout=0.1)
            self._wake.clear()
            self._collect_exits()
        for vm in live:
            if vm.exit_code is None and vm.pid is not None:
                self.executor.signal(vm.pid, signal.SIGKILL)
        while any(vm.exit_code is None for vm in live):
            self._wake.wait(timeout=0.1)
            self._wake.clear()
            self._collect_exits()

    def _finish(self, outcome: Outcome) -> None:
        """Package what the VMs left, then write the end and end the VMs in one transaction."""
        self._collect_exits()
        # Every VM has ended: the credentials end before the job says it has (removing a VM's volume and
        # network after that takes a while, and a client that sees the end may test them at once).
        self.revoke_credentials()
        self._scan_metrics(self.clock(), final=True)
        self._save_checkpoints()
        model_artifacts = None
        packaged = outcome.package and outcome.status != Status.FAILED
        if packaged and self.lifecycle.begin_upload(
            self.plan.job_id, completed=outcome.status == Status.COMPLETED
        ):
            try:
                model_artifacts = self._upload()
            except Exception as error:
                logger.exception("upload failed", extra={"job": self.plan.job_name})
                outcome = Outcome(
                    Status.FAILED, Secondary.FAILED, f"ClientError: uploading artifacts failed: {error}"
                )
        now = self.clock()
        facts = RunFacts(
            model_artifacts=model_artifacts,
            final_metrics=self._metrics.final_metrics() if self._metrics.latest else None,
            billable_seconds=self._billable_seconds(now),
        )
        exit_codes = {vm.plan.id: vm.exit_code for vm in self._vms}
        self.lifecycle.finish(
            self.plan.job_id,
            status=outcome.status,
            secondary=outcome.secondary,
            failure_reason=outcome.failure_reason,
            facts=facts,
            also=lambda session: vms.terminate_all(session, exit_codes, now=now),
            message=outcome.message,
        )
        for vm in self._vms:
            self._release(vm)
            self._discard(vm)

    # -- helpers -----------------------------------------------------------------------------------

    def _billable_seconds(self, now: dt.datetime) -> int | None:
        if self._training_started is None:
            return None
        return billing.billed_seconds(training_started=self._training_started, now=now)

    def _save_checkpoints(self) -> None:
        for vm in self._vms:
            try:
                checkpoints.save(
                    self.plan.spec.checkpoint,
                    store=self.store,
                    local=contract.layout(vm.root).checkpoints_dir,
                    owner=self.plan.account_id,
                )
            except Exception:
                logger.exception("saving checkpoints failed", extra={"job": self.plan.job_name})

    def _scan_metrics(self, now: dt.datetime, *, final: bool = False) -> None:
        found = self._metrics.scan({vm.plan.hostname: vm.log for vm in self._vms}, now, final=final)
        self.metric_series.record(self.plan.job_id, found)

    def _stopped_before_start(self) -> Outcome:
        return Outcome(Status.STOPPED, Secondary.STOPPED, self._stop_reason, package=False)

    def revoke_credentials(self) -> None:
        """End the job's credentials; idempotent, and a failure here must not lose the run's end."""
        try:
            self.credentials.revoke(account_id=self.plan.account_id, job_name=self.plan.job_name)
        except Exception:
            logger.exception("revoking the job's credentials failed", extra={"job": self.plan.job_name})

    def abandon(self) -> None:
        """After this run crashed: kill what it launched and give every VM's capacity back."""
        for vm in getattr(self, "_vms", []):
            if vm.pid is not None and vm.exit_code is None:
                self.executor.signal(vm.pid, signal.SIGKILL)
            self._release(vm)
            self._discard(vm)
        with self.sessions.begin() as session:
            vms.terminate_all(session, {plan.id: None for plan in self.plan.vms}, now=self.clock())

    def _release(self, vm: _Vm) -> None:
        if vm.pid is not None:
            self.executor.release(vm.pid)
        self.devices.cores.release(vm.cores)
        self.devices.gpus.release(vm.gpus)
        vm.cores, vm.gpus = (), ()

    def _discard(self, vm: _Vm) -> None:
        try:
            self.executor.discard(vm_id=vm.plan.id, root=vm.root)
        except Exception:
            logger.exception("removing a VM's disk failed", extra={"vm": vm.plan.id})

    def _volume_full_reason(self) -> str:
        sizes = sorted({vm.plan.disk_gib for vm in self._vms})
        return (
            f"ClientError: the input data does not fit the instance's volume of {sizes[-1]:g} GiB "
            f"(ResourceConfig.VolumeSizeInGB): {failures.NO_SPACE}"
        )

    def _collect_exits(self) -> None:
        for vm in self._vms:
            if vm.pid is not None and vm.exit_code is None:
                vm.exit_code = self.executor.exit_code(vm.pid)

    def _over_disk_budget(self) -> str | None:
        if self.executor.enforces_volumes:
            return None  # a real volume refuses the write itself (ENOSPC)
        for vm in self._vms:
            used = workspace.tree_size(vm.root)
            if used > vm.plan.disk_gib * GIB:
                return (
                    f"ClientError: {vm.plan.hostname} wrote {used / GIB:.2f} GiB, more than its volume of "
                    f"{vm.plan.disk_gib:g} GiB (ResourceConfig.VolumeSizeInGB)"
                )
        return None

    def _upload(self) -> str:
        output = self.plan.spec.output
        roots = [contract.layout(vm.root) for vm in self._vms]
        uploaded = artifacts.upload(
            store=self.store,
            output_path=output.s3_output_path,
            job_name=self.plan.job_name,
            model_dirs=[p.model_dir for p in roots],
            output_dirs=[p.output_data_dir for p in roots],
            compress=output.compress,
            owner=self.plan.account_id,
            scratch_dir=workspace.scratch_root(self.work_dir),
        )
        return uploaded.model_uri
