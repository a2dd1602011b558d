"""Runs placed jobs: one thread per job drives its VMs from Downloading to a truthful terminal status.

    Downloading: write each VM's /opt/ml contract and fetch its channels
    Training:    one process per VM; watch exits, stop requests, the deadline and the disk budget
    Stopping:    SIGTERM every VM's process group, wait the grace period, then SIGKILL
    Uploading:   package model.tar.gz / output.tar.gz (also after a stop or the deadline)
    end:         Completed, Failed (with a FailureReason) or Stopped, every VM Terminated

Paused VMs (frozen: SIGSTOP, or the cgroup freezer) keep their reservation and their clock: paused time
counts against MaxRuntimeInSeconds, as billed time does on SageMaker.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from app.clock import Clock
from app.hosts import vms
from app.hosts.vms import VmState
from app.jobs.lifecycle import JobLifecycle
from app.jobs.metric_series import MetricSeries
from app.jobs.status import Secondary, Status
from app.runtime.devices import Devices
from app.runtime.executor import Executor
from app.runtime.job_plan import JobCredentials, JobPlan
from app.runtime.job_run import JobRun
from app.storage.object_store import ObjectStore

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RunsHealth:
    """The executor as the health check sees it: runs in flight, and when one last crashed (monotonic)."""

    executor: str
    runs: int
    crashed_runs: int
    last_crash_at: float | None


class Supervisor:
    """Owns the running jobs: the scheduler hands it claimed jobs; the API stops, pauses and resumes them."""

    def __init__(
        self,
        *,
        lifecycle: JobLifecycle,
        metric_series: MetricSeries,
        sessions: sessionmaker[Session],
        executor: Executor,
        store: ObjectStore,
        work_dir: Path,
        clock: Clock,
        stop_grace_seconds: float,
        max_log_bytes_per_vm: int,
        on_finished: Callable[[str], None],  # given the ended job's ARN
        credentials: JobCredentials,
    ) -> None:
        self._lifecycle = lifecycle
        self._metric_series = metric_series
        self._sessions = sessions
        self._executor = executor
        self._store = store
        self._work_dir = work_dir
        self._clock = clock
        self._grace = stop_grace_seconds
        self._max_log_bytes = max_log_bytes_per_vm
        self._on_finished = on_finished
        self._credentials = credentials
        self._runs: dict[int, JobRun] = {}  # by job id: names are only unique within an account
        self._runs_lock = threading.Lock()  # guards `_runs` only; never held across a call out
        self._devices = Devices.of_this_machine()
        self._crashed_runs = 0
        self._last_crash_at: float | None = None

    def start(self, plan: JobPlan) -> None:
        """Drive a job the scheduler has claimed (its VMs are reserved and committed)."""
        run = JobRun(
            plan=plan,
            lifecycle=self._lifecycle,
            metric_series=self._metric_series,
            sessions=self._sessions,
            executor=self._executor,
            store=self._store,
            work_dir=self._work_dir,
            clock=self._clock,
            grace_seconds=self._grace,
            max_log_bytes=self._max_log_bytes,
            devices=self._devices,
            credentials=self._credentials,
        )
        run.thread = threading.Thread(
            # Named by the job's id (`job-<id>`): names are only unique within an account.
            target=self._drive,
            args=(run,),
            name=f"job-{plan.job_id}",
            daemon=True,
        )
        with self._runs_lock:
            self._runs[plan.job_id] = run
        run.thread.start()

    def stop(self, job_id: int) -> bool:
        """Wake a job's run to stop it; False when no run holds it (a claimed job's run not started yet
        finds the job Stopping at its first step instead)."""
        with self._runs_lock:
            run = self._runs.get(job_id)
        if run is None:
            return False
        run.request_stop()
        return True

    def pause(self, vm_id: str) -> bool:
        return self._move_vm(vm_id, VmState.RUNNING, VmState.PAUSED)

    def resume(self, vm_id: str) -> bool:
        return self._move_vm(vm_id, VmState.PAUSED, VmState.RUNNING)

    def stop_all(self, reason: str) -> list[JobRun]:
        """Stop every run (SIGTERM, grace, SIGKILL) without waiting; the runs stopped."""
        with self._runs_lock:
            runs = list(self._runs.values())
        for run in runs:
            run.request_stop(reason=reason)
        return runs

    def shutdown(self, timeout: float) -> None:
        """Server exit: stop every run (SIGTERM, grace, SIGKILL) and wait for their threads."""
        runs = self.stop_all("The service shut down while the job was running.")
        for run in runs:
            if run.thread is not None:
                run.thread.join(timeout)

    def health(self) -> RunsHealth:
        with self._runs_lock:
            runs = len(self._runs)
        name = type(self._executor).__name__
        return RunsHealth(
            executor=name, runs=runs, crashed_runs=self._crashed_runs, last_crash_at=self._last_crash_at
        )

    def _drive(self, run: JobRun) -> None:
        try:
            run.run()
        except Exception:
            logger.exception("job run crashed", extra={"job": run.plan.job_name})
            self._crashed_runs += 1
            self._last_crash_at = time.monotonic()
            self._lifecycle.transition(
                run.plan.job_id,
                status=Status.FAILED,
                secondary=Secondary.FAILED,
                failure_reason="InternalServerError: the service failed while running the job.",
            )
            run.abandon()
            run.revoke_credentials()  # a run that ended revoked them itself, before its end was written
        finally:
            with self._runs_lock:
                # A job restarted after a lost host may be running again under a new run already.
                if self._runs.get(run.plan.job_id) is run:
                    del self._runs[run.plan.job_id]
            self._on_finished(run.plan.job_arn)

    def _move_vm(self, vm_id: str, expected: VmState, new: VmState) -> bool:
        with self._sessions.begin() as session:
            pid = vms.pid_of(session, vm_id)
            if pid is None:
                return False
            if not vms.set_state(session, vm_id, expected=[expected], values={"state": new}):
                return False
        # After the commit: a runtime's freezer is a process to wait on, not held in a session. A VM this
        # replica does not run is frozen by the replica that does, when its run reads the state written here.
        with self._runs_lock:
            run = next((r for r in self._runs.values() if r.has_vm(vm_id)), None)
        if run is not None:
            run.set_paused(vm_id, paused=new == VmState.PAUSED)
        return True
