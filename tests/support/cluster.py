"""A fake host pool for placement tests: hosts, jobs, and a cluster driven by successive decisions."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from hypothesis import strategies as st

from app.hosts.instance_types import InstanceShape
from app.scheduler import placement as pl
from app.scheduler.placement import Decision, Demand, HostSnapshot, Resources, RunningVm

# Small hosts (vcpus, memory, gpus, disk) for jobs of comparable sizes: queues form, heads block and
# backfill happens.
HOST_SPECS = st.tuples(
    st.sampled_from([4, 8]),
    st.sampled_from([16, 32]),
    st.sampled_from([0, 0, 1]),
    st.sampled_from([100, 200]),
)


def host(
    name: str,
    vcpus: float,
    memory: float,
    gpus: float = 0,
    disk: float = 500,
    *,
    running: Sequence[tuple[float, float, float]] = (),
) -> HostSnapshot:
    """A host with `running` VMs given as (vcpus, memory, deadline); free is what they leave."""
    capacity = Resources(vcpus, memory, gpus, disk)
    vms = tuple(RunningVm(Resources(v, m), deadline) for v, m, deadline in running)
    used_v, used_m = sum(v for v, _, _ in running), sum(m for _, m, _ in running)
    return HostSnapshot(name, capacity, Resources(vcpus - used_v, memory - used_m, gpus, disk), vms)


def job(
    key: str,
    vcpus: int,
    memory: float,
    gpus: int = 0,
    *,
    count: int = 1,
    disk: float = 0,
    runtime: float = 3600,
) -> Demand:
    shape = InstanceShape(vcpus=vcpus, memory_gib=memory, gpus=gpus)
    return Demand(key, shape, instance_count=count, disk_gib=disk, max_runtime_seconds=runtime)


@dataclass
class Vm:
    job: str
    host: str
    resources: Resources
    deadline: float


@dataclass
class Cluster:
    """A fake pool driven by decisions: VMs end at their deadline at the latest, or earlier on finish().

    `decide` is what each step asks (placement.decide unless a test passes another planner); a VM's
    deadline is its start + max runtime + `grace`, as the scheduler's are. Without `expire`, VMs may
    outlive their deadline (as one being stopped does) until `expire_overdue()`.
    """

    capacity: dict[str, Resources]
    now: float = 0
    grace: float = 0
    decide: Callable[..., Decision] = pl.decide
    expire: bool = True
    queue: list[Demand] = field(default_factory=list)
    vms: list[Vm] = field(default_factory=list)
    started: dict[str, float] = field(default_factory=dict)
    last: Decision | None = None

    def submit(self, demand: Demand) -> None:
        self.queue.append(demand)

    def finish(self, job_key: str) -> None:
        self.vms = [vm for vm in self.vms if vm.job != job_key]

    def snapshot(self) -> list[HostSnapshot]:
        return [
            HostSnapshot(
                name,
                cap,
                minus(cap, [vm.resources for vm in self.vms if vm.host == name]),
                self._running(name),
            )
            for name, cap in self.capacity.items()
        ]

    def expire_overdue(self) -> None:
        self.vms = [vm for vm in self.vms if vm.deadline > self.now]

    def step(self) -> Decision:
        if self.expire:
            self.expire_overdue()
        self.last = self.decide(
            hosts=self.snapshot(), queue=self.queue, now=self.now, stop_grace_seconds=self.grace
        )
        by_key = {d.job_key: d for d in self.queue}
        for key, hosts in self.last.placements.items():
            demand = by_key[key]
            deadline = self.now + demand.max_runtime_seconds + self.grace
            self.vms += [Vm(key, h, demand.per_instance, deadline) for h in hosts]
            self.started[key] = self.now
        self.queue = [d for d in self.queue if d.job_key not in self.last.placements]
        return self.last

    def _running(self, name: str) -> tuple[RunningVm, ...]:
        return tuple(RunningVm(vm.resources, vm.deadline) for vm in self.vms if vm.host == name)


def minus(capacity: Resources, used: Sequence[Resources]) -> Resources:
    return Resources(
        capacity.vcpus - sum(u.vcpus for u in used),
        capacity.memory_gib - sum(u.memory_gib for u in used),
        capacity.gpus - sum(u.gpus for u in used),
        capacity.disk_gib - sum(u.disk_gib for u in used),
    )
