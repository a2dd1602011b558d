"""Pure placement: which hosts get the VMs of which queued jobs, decided in one pass.

``decide`` takes a snapshot of the hosts (capacity, free resources, running VMs and their deadlines)
and the queue in FIFO order, and returns a frozen ``Decision``. It reads no clock, database or process.

Gangs. A job's ``instance_count`` VMs are placed together or not at all: siblings are debited one
host at a time and rolled back if the gang cannot complete. Siblings share a host when it has room.

No overcommit. Every placement debits the host's free vCPUs, memory, GPUs and disk at once, so jobs
placed later in the same decision see it.

Host choice: first fit over a fixed order. Hosts are ordered by capacity, ascending on (gpus, vcpus,
memory, disk, name): CPU-only and small hosts first. Each VM goes to the first host in that order with
room for it, and a gang fills a host before moving on. This packs load onto the small, CPU-only end
of the pool and keeps large and GPU hosts whole for big instances and gangs. Best fit would do that
too, but it needs an ordered search over several resources at once; first fit in this order gets
most of the benefit with one max-tree.

Queue order is FIFO with EASY backfill: the first job that cannot start now gets a reservation, and
later jobs start now only if they cannot delay it (app/scheduler/reservation.py). Finding the first
host that fits uses a segment tree over the ordered hosts (app/scheduler/capacity.py).

The queue scan stays cheap when the pool is full. Free capacity only shrinks during a decision, so a
(shape, instance count) that failed keeps failing; failures are remembered, and no more fits are
attempted once the pool cannot hold even the smallest queued instance. Comparisons are exact, not
within a tolerance: pass integral or binary-exact amounts (the catalog's 7.5 and 10.5 GiB are exact).
"""

import enum
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from app.hosts import instance_types
from app.scheduler import reservation
from app.scheduler.capacity import MaxTree, Vec, fit_count, pool_count

__all__ = [
    "Decision",
    "Demand",
    "HostSnapshot",
    "Planner",
    "Reason",
    "Reservation",
    "Resources",
    "RunningVm",
    "decide",
    "largest_capacity",
    "never_fits",
]

_INF = math.inf


@dataclass(frozen=True, slots=True)
class Resources:
    """An amount of each schedulable resource."""

    vcpus: float = 0.0
    memory_gib: float = 0.0
    gpus: float = 0.0
    disk_gib: float = 0.0

    def as_tuple(self) -> Vec:
        return (self.vcpus, self.memory_gib, self.gpus, self.disk_gib)


@dataclass(frozen=True, slots=True)
class RunningVm:
    """A VM holding `resources` on a host until `deadline` (epoch seconds) at the latest."""

    resources: Resources
    deadline: float


@dataclass(frozen=True, slots=True)
class HostSnapshot:
    """A host as the scheduler sees it: what it has, what is free now, and what frees up when."""

    name: str
    capacity: Resources
    free: Resources
    running: tuple[RunningVm, ...] = ()


@dataclass(frozen=True, slots=True)
class Demand:
    """A queued job: `instance_count` VMs of `shape`, each with `disk_gib` of volume.

    Queue order is the order of the sequence passed to `decide`.
    """

    job_key: str
    shape: instance_types.InstanceShape
    instance_count: int = 1
    disk_gib: float = 0.0
    max_runtime_seconds: float = 86_400.0

    def __post_init__(self) -> None:
        if self.instance_count < 1:
            raise ValueError(f"instance_count must be >= 1, got {self.instance_count}")

    @property
    def per_instance(self) -> Resources:
        s = self.shape
        return Resources(vcpus=s.vcpus, memory_gib=s.memory_gib, gpus=s.gpus, disk_gib=self.disk_gib)


class Reason(enum.StrEnum):
    """Why a queued job was not placed."""

    WAITING_FOR_CAPACITY = "WaitingForCapacity"
    NEVER_FITS = "NeverFits"


@dataclass(frozen=True, slots=True)
class Reservation:
    """The blocked head job starts by `start_by` on `hosts` (host name -> instances); backfill honours it."""

    job_key: str
    start_by: float
    hosts: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class Decision:
    """Placements (job key -> one host name per instance, in queue order) and why the rest wait."""

    placements: Mapping[str, tuple[str, ...]]
    unplaced: Mapping[str, Reason]
    reservation: Reservation | None = None


def decide(
    *, hosts: Sequence[HostSnapshot], queue: Sequence[Demand], now: float, stop_grace_seconds: float = 0.0
) -> Decision:
    """Place what can start now from `queue` (FIFO order, unique job keys) onto `hosts`.

    `stop_grace_seconds` is added to the max runtime of the jobs placed now, as it should be to the
    running VMs' deadlines: a VM holds its capacity until it is killed, not until it is told to stop.
    """
    return Planner(hosts, queue, now=now, grace=stop_grace_seconds).run(queue)


def never_fits(demand: Demand, hosts: Iterable[HostSnapshot]) -> bool:
    """True if `demand`'s whole gang cannot fit in the pool even with every host empty."""
    groups = Counter(h.capacity.as_tuple() for h in hosts)
    return pool_count(groups, demand.per_instance.as_tuple()) < demand.instance_count


def largest_capacity(hosts: Iterable[HostSnapshot]) -> Resources | None:
    """Capacity of the largest host, by (gpus, vcpus, memory, disk), for "largest host is ..." messages."""
    capacities = [h.capacity for h in hosts]
    return max(capacities, key=lambda c: (c.gpus, c.vcpus, c.memory_gib, c.disk_gib), default=None)


# --- internals ---------------------------------------------------------------------------------------


def _host_order(host: HostSnapshot) -> tuple[float, float, float, float, str]:
    c = host.capacity
    return (c.gpus, c.vcpus, c.memory_gib, c.disk_gib, host.name)


class Planner:
    """One decision's working state: free amounts per host, the trees over them, memos, results.

    `decide` runs one over the whole queue. `resume` carries one that placed nothing on to a later pass
    over the same hosts with more jobs at the tail (see app/scheduler/incremental.py).
    """

    def __init__(self, hosts: Sequence[HostSnapshot], queue: Sequence[Demand], *, now: float, grace: float):
        self._hosts = sorted(hosts, key=_host_order)
        self._now, self._grace = now, grace
        self._free = [list(h.free.as_tuple()) for h in self._hosts]
        self._now_tree = MaxTree(self._free)
        # Set once the head is known: the spare capacity at the shadow time, and a tree over
        # min(free now, spare at T) that jobs running past T must fit in.
        self._spare: list[list[float]] | None = None
        self._late_tree: MaxTree | None = None
        self._shadow = _INF
        self._shadow_time: float | None = None  # when the head's gang fits, before clamping to now
        self._head_seen = False
        self._reservation: Reservation | None = None
        self._groups = Counter(h.capacity.as_tuple() for h in self._hosts)
        self._pool_counts: dict[Vec, int] = {}
        self._failed: dict[tuple[Vec, bool], int] = {}  # (need, runs past T) -> smallest failing count
        self._cursor: dict[tuple[Vec, bool], int] = {}  # (need, runs past T) -> first host worth trying
        self._smallest = _smallest_need(queue)
        self._placed_vms: list[reservation.ReleaseEvent] = []  # (deadline, pos, used): for the sweep
        self._placements: dict[str, tuple[str, ...]] = {}
        self._unplaced: dict[str, Reason] = {}

    def run(self, queue: Iterable[Demand]) -> Decision:
        for demand in queue:
            self.consider(demand)
        return self.decision()

    def decision(self) -> Decision:
        return Decision(
            MappingProxyType(self._placements), MappingProxyType(self._unplaced), self._reservation
        )

    def resume(self, tail: Sequence[Demand], *, now: float) -> Decision:
        """Decide a later pass over the same hosts, the same queue and then `tail`, at `now`.

        Exact only for a planner that placed nothing, so that its free amounts and reservation are
        still those of the hosts, and for a `now` no earlier than its own: later, every job already
        considered could only be more restricted (it runs further past the shadow time), so each still
        waits, for the same reason. What changes with `now` is carried over: the start of the
        reservation, and the deadlines of the jobs in `tail`.
        """
        if self._placements or now < self._now:
            raise ValueError("only a planner that placed nothing resumes, and only forward in time")
        self._now = now
        if self._shadow_time is not None and self._reservation is not None:
            self._shadow = max(self._shadow_time, now)
            self._reservation = Reservation(self._reservation.job_key, self._shadow, self._reservation.hosts)
        self._smallest = _smallest_need(tail, self._smallest)
        # Earlier decisions are frozen: they keep their own mappings, this one gets copies.
        self._placements, self._unplaced = {}, dict(self._unplaced)
        return self.run(tail)

    def consider(self, demand: Demand) -> None:
        need, count = demand.per_instance.as_tuple(), demand.instance_count
        if self._pool_count(need) < count:
            self._unplaced[demand.job_key] = Reason.NEVER_FITS
            return
        deadline = self._now + demand.max_runtime_seconds + self._grace
        late = deadline > self._shadow
        chosen = None if self._known_failure(need, count, late) else self._place(need, count, late)
        if chosen is None:
            self._failed[(need, late)] = min(count, self._failed.get((need, late), count))
            self._unplaced[demand.job_key] = Reason.WAITING_FOR_CAPACITY
            if not self._head_seen:
                self._head_seen = True
                self._reserve(demand.job_key, need, count)
            return
        if not self._head_seen:
            self._placed_vms.extend((deadline, pos, need) for pos in chosen)
        self._placements[demand.job_key] = tuple(self._hosts[pos].name for pos in chosen)

    def _pool_count(self, need: Vec) -> int:
        if need not in self._pool_counts:
            self._pool_counts[need] = pool_count(self._groups, need)
        return self._pool_counts[need]

    def _known_failure(self, need: Vec, count: int, late: bool) -> bool:
        if self._smallest is not None and not self._now_tree.covers(self._smallest):
            return True  # the pool is full: nothing queued fits anywhere any more
        if count >= self._failed.get((need, False), count + 1):
            return True  # a failure now is a failure under the reservation too
        return late and count >= self._failed.get((need, True), count + 1)

    def _place(self, need: Vec, count: int, late: bool) -> list[int] | None:
        """Debit `count` instances first-fit, or debit nothing and return None."""
        tree = self._late_tree if late and self._late_tree is not None else self._now_tree
        # Hosts left of the cursor did not fit `need` and, free amounts only shrinking, never will
        # in this decision: searches resume there, so each dead end is explored once per shape.
        cursor = self._cursor.get((need, late), 0)
        chosen: list[int] = []
        undo: list[tuple[int, list[float], list[float] | None]] = []
        while len(chosen) < count:
            pos = tree.first_fit(need, cursor)
            if pos < 0:
                for p, free, spare in reversed(undo):
                    self._write(p, free, spare)
                self._cursor[(need, late)] = undo[0][0] if undo else len(self._hosts)
                return None
            k = fit_count(self._avail(pos, late), need, count - len(chosen))
            spare = self._spare[pos] if self._spare is not None else None
            undo.append((pos, list(self._free[pos]), list(spare) if spare is not None else None))
            self._debit(pos, need, k, late)
            chosen.extend([pos] * k)
            cursor = pos
        self._cursor[(need, late)] = cursor
        return chosen

    def _avail(self, pos: int, late: bool) -> list[float]:
        free = self._free[pos]
        if not late or self._spare is None:
            return free
        return [min(a, b) for a, b in zip(free, self._spare[pos], strict=True)]

    def _debit(self, pos: int, need: Vec, k: int, late: bool) -> None:
        free = [a - n * k for a, n in zip(self._free[pos], need, strict=True)]
        spare = None
        if self._spare is not None:
            spare = self._spare[pos]
            if late:  # a VM still running at T eats into the spare left beside the reservation
                spare = [a - n * k for a, n in zip(spare, need, strict=True)]
        self._write(pos, free, spare)

    def _write(self, pos: int, free: list[float], spare: list[float] | None) -> None:
        self._free[pos] = free
        self._now_tree.set(pos, free)
        if self._spare is not None and self._late_tree is not None and spare is not None:
            self._spare[pos] = spare
            self._late_tree.set(pos, [min(a, b) for a, b in zip(free, spare, strict=True)])

    def _reserve(self, job_key: str, need: Vec, count: int) -> None:
        """Reserve for the head: find the shadow time and its hosts, then restrict later backfill."""
        shadow = reservation.reserve(self._free, self._release_events(), need, count)
        if shadow is None:
            return  # capacity no listed VM will release is missing: no time to promise
        self._shadow_time = shadow.time
        self._shadow = max(shadow.time, self._now)
        self._spare = shadow.spare
        rows = [
            [min(a, b) for a, b in zip(f, s, strict=True)]
            for f, s in zip(self._free, shadow.spare, strict=True)
        ]
        self._late_tree = MaxTree(rows)
        hosts = {self._hosts[pos].name: r for pos, r in shadow.hosts.items()}
        self._reservation = Reservation(job_key, self._shadow, MappingProxyType(hosts))

    def _release_events(self) -> list[reservation.ReleaseEvent]:
        events = [
            (vm.deadline, pos, vm.resources.as_tuple())
            for pos, host in enumerate(self._hosts)
            for vm in host.running
        ]
        events.extend(self._placed_vms)
        events.sort(key=lambda e: e[0])
        return events


def _smallest_need(queue: Sequence[Demand], start: Vec | None = None) -> Vec | None:
    """Per resource, the least any queued instance needs (and `start`): if no host covers it, nothing
    fits. None for an empty queue."""
    needs = [d.per_instance.as_tuple() for d in queue]
    if start is not None:
        needs.append(start)
    if not needs:
        return None
    v, m, g, d = (min(col) for col in zip(*needs, strict=True))
    return (v, m, g, d)
