"""Translations into the pure planner's terms: a job's resources as a `Demand`, hosts as snapshots."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.db.models import Host
from app.hosts import instance_types, vms
from app.jobs.spec import ResourceSpec
from app.scheduler import placement


def demand_of(resources: ResourceSpec, *, key: str, max_runtime_seconds: float) -> placement.Demand:
    return placement.Demand(
        job_key=key,
        shape=instance_types.shape_for(resources.instance_type),
        instance_count=resources.instance_count,
        disk_gib=resources.volume_size_gib,
        max_runtime_seconds=max_runtime_seconds,
    )


def load_hosts(session: Session) -> list[placement.HostSnapshot]:
    """Every host with its capacity, what is free now, and when each live VM's capacity comes back."""
    usage = vms.usage_by_host(session)
    running: dict[str, list[placement.RunningVm]] = {}
    for vm in vms.live_vms(session):
        resources = placement.Resources(vm.vcpus, vm.memory_gib, vm.gpus, vm.disk_gib)
        running.setdefault(vm.host, []).append(placement.RunningVm(resources, vm.deadline_at.timestamp()))
    snapshots = []
    for host in vms.hosts(session):
        used = usage.get(host.name, vms.Usage())
        capacity = _capacity(host)
        free = placement.Resources(
            capacity.vcpus - used.vcpus,
            capacity.memory_gib - used.memory_gib,
            capacity.gpus - used.gpus,
            capacity.disk_gib - used.disk_gib,
        )
        snapshots.append(placement.HostSnapshot(host.name, capacity, free, tuple(running.get(host.name, ()))))
    return snapshots


def empty_host(host: Host) -> placement.HostSnapshot:
    return placement.HostSnapshot(host.name, _capacity(host), _capacity(host))


def _capacity(host: Host) -> placement.Resources:
    return placement.Resources(host.vcpus, host.memory_gib, host.gpus, host.disk_gib)
