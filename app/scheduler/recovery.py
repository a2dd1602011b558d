"""Startup reconciliation after a crash: no job stays InProgress forever, no VM process is orphaned,
and every host's capacity comes back.

VM processes live in their own sessions, so they survive a SIGKILLed server; they are found by the
process group recorded on their VM and checked by the `SAGELITE_VM_ID` in their environment (a pid may
have been reused), then killed. Jobs that were running are retried when their RetryStrategy allows it
(`Restarting`, then queued again), else they fail with a reason that says the service restarted.
"""

from __future__ import annotations

import logging
import signal
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.clock import Clock
from app.db.models import TrainingJob
from app.hosts import vms
from app.jobs.service import TrainingJobService
from app.jobs.status import Secondary, Status
from app.runtime.executor import signal_group

logger = logging.getLogger(__name__)

RESTART_REASON = "InternalServerError: the service restarted while the job was running; its VMs were stopped."


def recover(*, sessions: sessionmaker[Session], jobs: TrainingJobService, clock: Clock) -> None:
    with sessions.begin() as session:
        for vm in vms.live_vms(session):
            if vm.pid is not None and _is_our_vm(vm.pid, vm.id):
                signal_group(vm.pid, signal.SIGKILL)
            vms.terminate(session, vm.id, now=clock(), exit_code=None)
        interrupted = list(
            session.scalars(
                select(TrainingJob).where(
                    (TrainingJob.status == Status.STOPPING)
                    | (
                        (TrainingJob.status == Status.IN_PROGRESS)
                        & TrainingJob.secondary_status.not_in([Secondary.STARTING, Secondary.RESTARTING])
                    )
                )
            )
        )
    for job in interrupted:
        _settle(jobs, job)


def _settle(jobs: TrainingJobService, job: TrainingJob) -> None:
    name = job.name
    if job.status == Status.STOPPING:
        jobs.transition(name, status=Status.STOPPED, secondary=Secondary.STOPPED)
    elif _retries_left(job) > 0:
        jobs.transition(
            name,
            status=Status.IN_PROGRESS,
            secondary=Secondary.RESTARTING,
            message="Restarting the training job after the service restarted",
        )
    else:
        jobs.transition(name, status=Status.FAILED, secondary=Secondary.FAILED, failure_reason=RESTART_REASON)
    logger.info("recovered", extra={"job": name, "was": job.secondary_status})


def _retries_left(job: TrainingJob) -> int:
    allowed: int = job.request.get("RetryStrategy", {}).get("MaximumRetryAttempts", 0)
    used = sum(1 for row in job.transitions if row["Status"] == Secondary.RESTARTING)
    return allowed - used


def _is_our_vm(pid: int, vm_id: str) -> bool:
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return False
    return f"SAGELITE_VM_ID={vm_id}".encode() in environ.split(b"\0")
