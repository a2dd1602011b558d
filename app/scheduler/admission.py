"""Admission at create time: a request that could not fit even in an empty pool is refused at once
(ResourceLimitExceeded), as SageMaker refuses what exceeds an account's limits, rather than queued forever."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from app.errors import ResourceLimitExceeded
from app.hosts import vms
from app.jobs.spec import ResourceSpec
from app.scheduler import placement
from app.scheduler.demand import demand_of, empty_host


class CapacityCheck:
    def __init__(self, *, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def admit(self, resources: ResourceSpec) -> None:
        demand = demand_of(resources, key="new", max_runtime_seconds=0.0)
        with self._sessions() as session:
            snapshot = [empty_host(h) for h in vms.hosts(session)]
        if not placement.never_fits(demand, snapshot):
            return
        largest = placement.largest_capacity(snapshot)
        shape = demand.shape
        described = (
            f"{largest.vcpus:g} vCPUs, {largest.memory_gib:g} GiB, {largest.gpus:g} GPUs, "
            f"{largest.disk_gib:g} GiB of disk for volumes"
            if largest
            else "no hosts"
        )
        raise ResourceLimitExceeded(
            f"{resources.instance_count} x {resources.instance_type} ({shape.vcpus} vCPUs, "
            f"{shape.memory_gib:g} GiB, {shape.gpus} GPUs, a {demand.disk_gib:g} GiB volume each) "
            "can never fit in this pool: "
            f"the largest host has {described}."
        )
