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

from sqlalchemy.orm import Session, sessionmaker

from app.clock import Clock
from app.hosts import vms
from app.jobs import repository
from app.jobs.lifecycle import JobLifecycle
from app.jobs.repository import InterruptedJob
from app.jobs.status import Secondary, Status
from app.runtime.executor import signal_group

logger = logging.getLogger(__name__)

RESTART_REASON = "InternalServerError: the service restarted while the job was running; its VMs were stopped."
REQUEUED_MESSAGE = "Waiting for compute capacity: the service restarted before the job's instances started"


def recover(*, sessions: sessionmaker[Session], lifecycle: JobLifecycle, clock: Clock) -> None:
    with sessions.begin() as session:
        for vm in vms.live_vms(session):
            if vm.pid is not None and _is_our_vm(vm.pid, vm.id):
                signal_group(vm.pid, signal.SIGKILL)
            vms.terminate(session, vm.id, now=clock(), exit_code=None)
        interrupted = repository.interrupted_of_all_accounts(session)
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


def _is_our_vm(pid: int, vm_id: str) -> bool:
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return False
    return f"SAGELITE_VM_ID={vm_id}".encode() in environ.split(b"\0")
