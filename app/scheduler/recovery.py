"""Startup reconciliation after a crash: no job stays InProgress forever, no VM process is orphaned,
and every host's capacity comes back.

VM processes outlive a SIGKILLed server (their own sessions, or containers); the executor reaps each
live VM recorded in the database, then sweeps what is left of any VM (containers, volumes, cgroups).
Jobs that were running are retried when their RetryStrategy allows it (`Restarting`, then queued again),
else they fail with a reason that says the service restarted. The VM and scratch folders the dead runs
left are removed (`workspace.sweep_leftovers`).
"""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from app.clock import Clock
from app.hosts import vms
from app.jobs import repository
from app.jobs.lifecycle import JobLifecycle
from app.jobs.repository import InterruptedJob
from app.jobs.status import Secondary, Status
from app.runtime import workspace
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
    local: bool = True,
) -> None:
    """`local`: the VMs recorded live ran on this machine (this server before a crash, or a replica that
    led from here), so they are reaped here; a leader that ran elsewhere leaves its VMs and folders to its
    own machine, and only its jobs are settled here."""
    with sessions.begin() as session:
        live = [(vm.id, vm.pid) for vm in vms.live_vms(session)]
    if local:
        for vm_id, pid in live:  # outside a session: killing a container waits on runc
            executor.reap(vm_id=vm_id, pid=pid)
        executor.sweep()  # before the folders: a VM folder may be a mounted volume
    with sessions.begin() as session:
        for vm_id, _ in live:
            vms.terminate(session, vm_id, now=clock(), exit_code=None)
        interrupted = repository.interrupted_of_all_accounts(session)
    if local:
        swept = workspace.sweep_leftovers(work_dir)  # no run is alive: every VM and scratch folder is left
        if swept.folders:
            logger.info("removed what dead runs left", extra={"folders": swept.folders, "bytes": swept.bytes})
    for job in interrupted:
        _settle(lifecycle, job)


def _settle(lifecycle: JobLifecycle, job: InterruptedJob) -> None:
    job_id = job.id
    if job.status == Status.STOPPING:
        lifecycle.transition(job_id, status=Status.STOPPED, secondary=Secondary.STOPPED)
    elif job.secondary == Secondary.STARTING:
        # Claimed, but nothing ran yet: queue it again; no retry is used up.
        lifecycle.transition(
            job_id, status=Status.IN_PROGRESS, secondary=Secondary.PENDING, message=REQUEUED_MESSAGE
        )
    elif job.retries_left > 0:
        lifecycle.transition(
            job_id,
            status=Status.IN_PROGRESS,
            secondary=Secondary.RESTARTING,
            message="Restarting the training job after the service restarted",
        )
    else:
        lifecycle.transition(
            job_id, status=Status.FAILED, secondary=Secondary.FAILED, failure_reason=RESTART_REASON
        )
    logger.info("recovered", extra={"job": job.name, "job_id": job_id, "was": job.secondary})
