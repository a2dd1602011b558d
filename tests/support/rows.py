"""Rows written straight into the database, for tests that need VMs without running a scheduler."""

from __future__ import annotations

import datetime as dt

from app.db.models import Vm
from app.hosts.vms import VmState


def vm_row(
    vm_id: str,
    *,
    job_id: int,
    state: VmState,
    started_at: dt.datetime,
    deadline_at: dt.datetime,
    host: str = "h1",
    hostname: str = "algo-1",
    pid: int | None = None,
    exit_code: int | None = None,
) -> Vm:
    """An ml.m5.large VM (2 vCPUs, 8 GiB, 1 GiB disk); a Terminated one has ended when it started."""
    return Vm(
        id=vm_id,
        job_id=job_id,
        host=host,
        hostname=hostname,
        instance_type="ml.m5.large",
        vcpus=2.0,
        memory_gib=8.0,
        gpus=0,
        disk_gib=1.0,
        state=state,
        pid=pid,
        exit_code=exit_code,
        deadline_at=deadline_at,
        started_at=started_at,
        ended_at=started_at if state == VmState.TERMINATED else None,
    )
