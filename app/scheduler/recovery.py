"""Startup reconciliation after a crash: no job stays InProgress forever, no VM process is orphaned,
and every host's capacity comes back.

VM processes outlive a SIGKILLed server (their own sessions, or containers); the executor reaps each
live VM recorded in the database, then sweeps what is left of any VM (containers, volumes, cgroups), and
every VM folder is removed: no job runs yet, so none is in use. Jobs that were running are retried when
their RetryStrategy allows it (`Restarting`, then queued again), else they fail with a reason that says
the service restarted.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from app.clock import Clock
from app.hosts import vms
from app.jobs import repository
from app.jobs.lifecycle import JobLifecycle
from app.jobs.repository import InterruptedJob
from app.jobs.status import Secondary, Status
from app.runtime import job_run
from app.runtime.executor import Executor

logger = logging.getLogger(__name__)

RESTART_REASON = "InternalServerError: the service restarted while the job was running; its VMs were stopped."
REQUEUED_MESSAGE = "Waiting for compute capacity: the service restarted before the job's instances started"


def recover(
    *,
    sessions: sessionmaker[Session],
    lifecycle: JobLifecycle,
    clock: Clock,
    executor: Executor,
    work_dir: Path,
) -> None:
    with sessions.begin() as session:
        live = [(vm.id, vm.pid) for vm in vms.live_vms(session)]
    for vm_id, pid in live:  # outside a session: killing a container waits on runc
        executor.reap(vm_id=vm_id, pid=pid)
    executor.sweep()
    for leftover in ("vms", job_run.SCRATCH_DIR):
        shutil.rmtree(work_dir / leftover, ignore_errors=True)
    with sessions.begin() as session:
        for vm_id, _ in live:
            vms.terminate(session, vm_id, now=clock(), exit_code=None)
        interrupted = repository.interrupted(session)
    for job in interrupted:
        _settle(lifecycle, job)


def _settle(lifecycle: JobLifecycle, job: InterruptedJob) -> None:
    name = job.name
    if job.status == Status.STOPPING:
        lifecycle.transition(name, status=Status.STOPPED, secondary=Secondary.STOPPED)
    elif job.secondary == Secondary.STARTING:
        # Claimed, but nothing ran yet: queue it again; no retry is used up.
        lifecycle.transition(
            name, status=Status.IN_PROGRESS, secondary=Secondary.PENDING, message=REQUEUED_MESSAGE
        )
    elif job.retries_left > 0:
        lifecycle.transition(
            name,
            status=Status.IN_PROGRESS,
            secondary=Secondary.RESTARTING,
            message="Restarting the training job after the service restarted",
        )
    else:
        lifecycle.transition(
            name, status=Status.FAILED, secondary=Secondary.FAILED, failure_reason=RESTART_REASON
        )
    logger.info("recovered", extra={"job": name, "was": job.secondary})
