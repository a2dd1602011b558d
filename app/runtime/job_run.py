"""One job's run across its VMs (see `supervisor` for the lifecycle). Never holds a DB session while
waiting on a process, a file or the network."""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import signal
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from app.clock import Clock
from app.hosts import vms
from app.hosts.vms import VmState
from app.jobs.metric_series import MetricSeries
from app.jobs.service import TrainingJobService
from app.jobs.status import TERMINAL, Secondary, Status
from app.runtime import artifacts, channels, checkpoints, contract, failures, logs, sm_env, sources, vm_spec
from app.runtime.devices import Devices
from app.runtime.executor import Executor, LaunchSpec
from app.runtime.metric_scanner import MetricScanner
from app.storage.object_store import ObjectStore

logger = logging.getLogger(__name__)

GIB = 1024**3
_END_ATTEMPTS = 5
_WATCH_INTERVAL = 1.0  # seconds between metric and disk checks while VMs run


@dataclass(frozen=True, slots=True)
class VmPlan:
    id: str
    hostname: str
    host: str
    instance_type: str
    vcpus: float
    memory_gib: float
    gpus: int
    disk_gib: float


@dataclass(frozen=True, slots=True)
class JobPlan:
    job_id: int
    job_name: str
    job_arn: str
    request: dict[str, Any]
    vms: tuple[VmPlan, ...]


@dataclass
class Outcome:
    status: Status
    secondary: Secondary
    failure_reason: str | None = None
    package: bool = True


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


@dataclass
class JobRun:
    plan: JobPlan
    jobs: TrainingJobService
    metric_series: MetricSeries
    sessions: sessionmaker[Session]
    executor: Executor
    store: ObjectStore
    work_dir: Path
    clock: Clock
    grace_seconds: float
    devices: Devices
    thread: threading.Thread | None = None
    _wake: threading.Event = field(default_factory=threading.Event)
    _stop: threading.Event = field(default_factory=threading.Event)
    _stop_reason: str | None = None

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
                root=self.work_dir / "vms" / p.id,
                log=logs.stream_path(self.work_dir, name, p.hostname, epoch),
            )
            for p in self.plan.vms
        ]
        self._metrics = MetricScanner(
            self.plan.request.get("AlgorithmSpecification", {}).get("MetricDefinitions", [])
        )
        outcome = self._run()
        self._finish(outcome)

    # -- phases ------------------------------------------------------------------------------------

    def _run(self) -> Outcome:
        if self._stop.is_set() or not self._advance(Secondary.DOWNLOADING):
            return self._stopped_before_start()
        try:
            self._prepare()
        except channels.ChannelError as error:
            return Outcome(Status.FAILED, Secondary.FAILED, f"ClientError: {error}", package=False)
        if self._stop.is_set() or not self._advance(Secondary.TRAINING):
            return self._stopped_before_start()
        self._launch()
        return self._watch()

    def _prepare(self) -> None:
        request = self.plan.request
        hosts = tuple(vm.plan.hostname for vm in self._vms)
        for index, vm in enumerate(self._vms):
            spec = vm_spec.from_request(
                request,
                job_name=self.plan.job_name,
                job_arn=self.plan.job_arn,
                host=vm.plan.hostname,
                hosts=hosts,
                instance_type=vm.plan.instance_type,
                vcpus=vm.plan.vcpus,
                gpus=vm.plan.gpus,
                memory_gib=vm.plan.memory_gib,
            )
            paths = contract.write_config(spec, vm.root)
            sources.fetch_code(request.get("HyperParameters", {}), store=self.store, code_dir=paths.code_dir)
            checkpoints.restore(
                request.get("CheckpointConfig"), store=self.store, local=paths.checkpoints_dir
            )
            channels.fetch_all(
                request,
                store=self.store,
                data_dir=paths.input_data_dir,
                host_index=index,
                host_count=len(hosts),
            )
            vm.env = sm_env.environment(spec, vm.root)

    def _launch(self) -> None:
        now = self.clock()
        max_runtime = self.plan.request["StoppingCondition"]["MaxRuntimeInSeconds"]
        self._deadline = now + dt.timedelta(seconds=max_runtime)
        base_env = {k: v for k, v in os.environ.items() if not k.startswith("SAGELITE_")}
        # User code that runs `python` must find the service's interpreter (and its numpy) first.
        base_env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), base_env.get("PATH", "")])
        for vm in self._vms:
            vm.cores = self.devices.cores.take(int(vm.plan.vcpus))
            vm.gpus = self.devices.gpus.take(vm.plan.gpus)
            gpu_env = self.devices.gpu_environment(vm.gpus, vm.plan.gpus)
            spec = LaunchSpec(
                vm_id=vm.plan.id,
                command=[sys.executable, "-m", "app.training", str(vm.root)],
                cwd=vm.root,
                env={**base_env, **vm.env, **gpu_env, "SAGELITE_VM_ID": vm.plan.id},
                log_path=vm.log,
                memory_bytes=int(vm.plan.memory_gib * GIB),
                cpus=vm.cores,
            )
            vm.pid = self.executor.launch(spec, on_exit=self._wake.set)
            with self.sessions.begin() as session:
                vms.set_state(
                    session,
                    vm.plan.id,
                    expected=[VmState.PROVISIONING],
                    values={
                        "state": VmState.RUNNING,
                        "pid": vm.pid,
                        "started_at": now,
                        "deadline_at": self._deadline + dt.timedelta(seconds=self.grace_seconds),
                    },
                )
        self.jobs.set_fields(self.plan.job_name, training_start_time=now)

    def _watch(self) -> Outcome:
        while True:
            self._collect_exits()
            failed = next((vm for vm in self._vms if vm.exit_code not in (None, 0)), None)
            if failed is not None:
                self._terminate_all()
                return Outcome(
                    Status.FAILED,
                    Secondary.FAILED,
                    failures.reason(
                        failed.root,
                        failed.log,
                        failed.exit_code,
                        instance_type=failed.plan.instance_type,
                        memory_gib=failed.plan.memory_gib,
                    ),
                )
            if all(vm.exit_code == 0 for vm in self._vms):
                return Outcome(Status.COMPLETED, Secondary.COMPLETED)
            if self._stop.is_set():
                self._terminate_all()
                return Outcome(Status.STOPPED, Secondary.STOPPED, self._stop_reason)
            now = self.clock()
            if now >= self._deadline:
                self.jobs.transition(
                    self.plan.job_name, status=Status.STOPPING, secondary=Secondary.MAX_RUNTIME_EXCEEDED
                )
                self._terminate_all()
                return Outcome(Status.STOPPED, Secondary.MAX_RUNTIME_EXCEEDED)
            over = self._over_disk_budget()
            if over is not None:
                self._terminate_all()
                return Outcome(Status.FAILED, Secondary.FAILED, over)
            self._scan_metrics(now)
            remaining = (self._deadline - now).total_seconds()
            self._wake.wait(timeout=max(0.0, min(_WATCH_INTERVAL, remaining)))
            self._wake.clear()

    def _terminate_all(self) -> None:
        """SIGTERM every VM's process group, wait the grace period, then SIGKILL what is left."""
        live = [vm for vm in self._vms if vm.pid is not None and vm.exit_code is None]
        for vm in live:
            assert vm.pid is not None
            self.executor.signal(vm.pid, signal.SIGTERM)
            self.executor.signal(vm.pid, signal.SIGCONT)  # a paused VM must run to see its SIGTERM
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
        name = self.plan.job_name
        self._collect_exits()
        self._scan_metrics(self.clock())
        extra: dict[str, Any] = {}
        if self._metrics.latest:
            extra["final_metrics"] = self._metrics.final_metrics()
        self._save_checkpoints()
        if outcome.status == Status.COMPLETED and self.jobs.status_of(name) == Status.STOPPING:
            outcome = self._stopped_as_it_ended()
        if outcome.package and outcome.status != Status.FAILED:
            # Stops and deadlines go Stopping → Uploading too: whatever the model directory holds is kept.
            uploading = Status.IN_PROGRESS if outcome.status == Status.COMPLETED else Status.STOPPING
            if outcome.status == Status.STOPPED and self.jobs.status_of(name) == Status.IN_PROGRESS:
                self.jobs.transition(name, status=Status.STOPPING, secondary=Secondary.STOPPING)
            self.jobs.transition(name, status=uploading, secondary=Secondary.UPLOADING)
            try:
                extra["model_artifacts"] = self._upload()
            except Exception as error:
                logger.exception("upload failed", extra={"job": name})
                outcome = Outcome(
                    Status.FAILED, Secondary.FAILED, f"ClientError: uploading artifacts failed: {error}"
                )
        now = self.clock()
        started = self.jobs.training_start(name)
        if started is not None:
            seconds = max(1, round((now - started).total_seconds()))
            extra["billable_seconds"] = seconds * len(self._vms)
        self._end(outcome, extra)
        with self.sessions.begin() as session:
            for vm in self._vms:
                vms.terminate(session, vm.plan.id, now=now, exit_code=vm.exit_code)
        for vm in self._vms:
            self._release(vm)
            _remove_tree(vm.root)

    # -- helpers -----------------------------------------------------------------------------------

    def _end(self, outcome: Outcome, extra: dict[str, Any]) -> None:
        """Write the terminal status, re-reading after a lost race: a stop may land at any moment, and a
        Stopping job can still end Failed or Stopped (a clean finish then counts as Stopped)."""
        name = self.plan.job_name
        for _ in range(_END_ATTEMPTS):
            current = self.jobs.status_of(name)
            if current in TERMINAL:
                return
            if outcome.status == Status.COMPLETED and current == Status.STOPPING:
                outcome = self._stopped_as_it_ended()
            if self.jobs.transition(
                name,
                status=outcome.status,
                secondary=outcome.secondary,
                failure_reason=outcome.failure_reason,
                extra=extra,
            ):
                return
        logger.error("could not record the end of a job", extra={"job": name, "outcome": outcome.status})

    def _save_checkpoints(self) -> None:
        config = self.plan.request.get("CheckpointConfig")
        for vm in self._vms:
            try:
                checkpoints.save(config, store=self.store, local=contract.layout(vm.root).checkpoints_dir)
            except Exception:
                logger.exception("saving checkpoints failed", extra={"job": self.plan.job_name})

    def _scan_metrics(self, now: dt.datetime) -> None:
        self.metric_series.record(self.plan.job_id, self._metrics.scan([vm.log for vm in self._vms], now))

    def _advance(self, secondary: Secondary) -> bool:
        return self.jobs.transition(self.plan.job_name, status=Status.IN_PROGRESS, secondary=secondary)

    def _stopped_before_start(self) -> Outcome:
        if self.jobs.status_of(self.plan.job_name) == Status.IN_PROGRESS:
            self.jobs.transition(self.plan.job_name, status=Status.STOPPING, secondary=Secondary.STOPPING)
        return Outcome(Status.STOPPED, Secondary.STOPPED, self._stop_reason, package=False)

    def _stopped_as_it_ended(self) -> Outcome:
        """A stop that lands as every process exits 0: a Stopping job can only end Stopped (model kept)."""
        return Outcome(Status.STOPPED, Secondary.STOPPED, self._stop_reason)

    def abandon(self) -> None:
        """After this run crashed: kill what it launched and give every VM's capacity back."""
        for vm in getattr(self, "_vms", []):
            if vm.pid is not None and vm.exit_code is None:
                self.executor.signal(vm.pid, signal.SIGKILL)
            self._release(vm)
        with self.sessions.begin() as session:
            for plan in self.plan.vms:
                vms.terminate(session, plan.id, now=self.clock(), exit_code=None)

    def _release(self, vm: _Vm) -> None:
        if vm.pid is not None:
            self.executor.release(vm.pid)
        self.devices.cores.release(vm.cores)
        self.devices.gpus.release(vm.gpus)
        vm.cores, vm.gpus = (), ()

    def _collect_exits(self) -> None:
        for vm in self._vms:
            if vm.pid is not None and vm.exit_code is None:
                vm.exit_code = self.executor.exit_code(vm.pid)

    def _over_disk_budget(self) -> str | None:
        for vm in self._vms:
            used = _tree_size(vm.root)
            if used > vm.plan.disk_gib * GIB:
                return (
                    f"ClientError: {vm.plan.hostname} wrote {used / GIB:.2f} GiB, more than its volume of "
                    f"{vm.plan.disk_gib:g} GiB (ResourceConfig.VolumeSizeInGB)"
                )
        return None

    def _upload(self) -> str:
        request = self.plan.request
        output = request["OutputDataConfig"]
        roots = [contract.layout(vm.root) for vm in self._vms]
        uploaded = artifacts.upload(
            store=self.store,
            output_path=output["S3OutputPath"],
            job_name=self.plan.job_name,
            model_dirs=[p.model_dir for p in roots],
            output_dirs=[p.output_data_dir for p in roots],
            compress=output.get("CompressionType", "GZIP") != "NONE",
        )
        return uploaded.model_uri


def _tree_size(root: Path) -> int:
    total = 0
    for dirpath, _, files in os.walk(root):
        for name in files:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                continue
    return total


def _remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
