"""The scheduler: load a snapshot → decide placements (pure) → apply them as compare-and-set claims.

One thread runs `tick()` whenever a create, a stop or a finished job wakes it, and at least every
`interval` seconds. Tests call `tick()` directly.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, sessionmaker

from app.clock import Clock
from app.db.models import Host, TrainingJob, Vm
from app.errors import ResourceLimitExceeded
from app.hosts import instance_types, vms
from app.hosts.vms import VmState
from app.jobs.service import TrainingJobService
from app.jobs.status import Secondary, Status
from app.runtime.job_run import JobPlan, JobRun, VmPlan
from app.runtime.supervisor import Supervisor
from app.scheduler import incremental, placement

logger = logging.getLogger(__name__)

QUEUED = (Secondary.STARTING, Secondary.RESTARTING)
CLAIMED_MESSAGE = "Preparing the instances for training"
COALESCE_SECONDS = 0.01
WAIT_MESSAGES_PER_PASS = 64


@dataclass(frozen=True, slots=True)
class _Queued:
    id: int
    name: str
    arn: str
    request: dict[str, Any]
    message: str
    # Built once, when the job is first read: the incremental planner recognises the queue it saw
    # last by these very objects, at no cost per queued job.
    demand: placement.Demand

    @property
    def resources(self) -> dict[str, Any]:
        config: dict[str, Any] = self.request["ResourceConfig"]
        return config


class Scheduler:
    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        jobs: TrainingJobService,
        supervisor: Supervisor,
        clock: Clock,
        stop_grace_seconds: float,
        interval_seconds: float,
    ) -> None:
        self._sessions = sessions
        self._jobs = jobs
        self._supervisor = supervisor
        self._clock = clock
        self._grace = stop_grace_seconds
        self._interval = interval_seconds
        self._wake = threading.Event()
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None
        self._queued: dict[int, _Queued] = {}
        self._planner = incremental.IncrementalPlanner()
        self._last_pass_seconds = 0.0

    # -- JobRuntime, as the job service sees it ----------------------------------------------------

    def hint(self) -> None:
        self._wake.set()

    def stop_requested(self, job_name: str) -> bool:
        return self._supervisor.stop(job_name)

    def admit(self, request: dict[str, Any]) -> None:
        """Refuse at create time a request that could not fit even in an empty pool."""
        demand = _demand_of(request, key="new")
        with self._sessions() as session:
            snapshot = [_empty_host(h) for h in vms.hosts(session)]
        if placement.never_fits(demand, snapshot):
            largest = placement.largest_capacity(snapshot)
            config = request["ResourceConfig"]
            shape = demand.shape
            described = (
                f"{largest.vcpus:g} vCPUs, {largest.memory_gib:g} GiB, {largest.gpus:g} GPUs"
                if largest
                else "no hosts"
            )
            raise ResourceLimitExceeded(
                f"{config['InstanceCount']} x {config['InstanceType']} ({shape.vcpus} vCPUs, "
                f"{shape.memory_gib:g} GiB, {shape.gpus} GPUs each) can never fit in this pool: "
                f"the largest host has {described}."
            )

    # -- the loop ----------------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="scheduler", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._closing.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._closing.is_set():
            if self._wake.wait(timeout=self._interval):
                # A burst of creates wakes the loop once per burst, not once per create; with a long
                # queue a pass costs more, so passes space out and stay a small share of the CPU.
                self._closing.wait(max(COALESCE_SECONDS, 4 * self._last_pass_seconds))
            self._wake.clear()
            if self._closing.is_set():
                return
            started = time.monotonic()
            try:
                self.tick()
            except Exception:
                logger.exception("scheduler pass failed")
            self._last_pass_seconds = time.monotonic() - started

    def tick(self) -> int:
        """One pass: place what fits now, tell the rest why they wait. Returns how many jobs started."""
        runs: list[JobRun] = []
        with self._supervisor.lock:
            with self._sessions() as session:
                queue = _load_queue(session, self._queued)
                if not queue:
                    return 0
                hosts = _load_hosts(session)
            now = self._clock()
            decision = self._planner.decide(
                hosts=hosts,
                queue=[q.demand for q in queue],
                now=now.timestamp(),
                stop_grace_seconds=self._grace,
            )
            by_name = {q.name: q for q in queue}
            for name, host_names in decision.placements.items():
                run = self._claim(by_name[name], host_names, now)
                if run is not None:
                    runs.append(run)
            self._explain_waits([(by_name[name], reason) for name, reason in decision.unplaced.items()])
        for run in runs:
            self._supervisor.start(run)
        return len(runs)

    def _claim(self, job: _Queued, host_names: Sequence[str], now: dt.datetime) -> JobRun | None:
        """Reserve the VMs and mark the job claimed in one transaction; lose gracefully to a stop."""
        config = job.resources
        shape = instance_types.shape_for(config["InstanceType"])
        max_runtime = job.request["StoppingCondition"]["MaxRuntimeInSeconds"]
        plans = tuple(
            VmPlan(
                id=f"vm-{uuid.uuid4().hex[:16]}",
                hostname=f"algo-{index}",
                host=host,
                instance_type=config["InstanceType"],
                vcpus=float(shape.vcpus),
                memory_gib=float(shape.memory_gib),
                gpus=shape.gpus,
                disk_gib=float(config.get("VolumeSizeInGB", 1)),
            )
            for index, host in enumerate(host_names, start=1)
        )
        run = self._supervisor.register(
            JobPlan(job_id=job.id, job_name=job.name, job_arn=job.arn, request=job.request, vms=plans)
        )
        deadline = now + dt.timedelta(seconds=max_runtime + self._grace)
        with self._sessions.begin() as session:
            record = session.get(TrainingJob, job.id)
            claimed = record is not None and self._jobs.transition_in(
                session,
                record,
                status=Status.IN_PROGRESS,
                secondary=Secondary.STARTING,
                message=CLAIMED_MESSAGE,
            )
            if claimed:
                session.add_all(
                    Vm(
                        id=p.id,
                        job_id=job.id,
                        host=p.host,
                        hostname=p.hostname,
                        instance_type=p.instance_type,
                        vcpus=p.vcpus,
                        memory_gib=p.memory_gib,
                        gpus=p.gpus,
                        disk_gib=p.disk_gib,
                        state=VmState.PROVISIONING,
                        deadline_at=deadline,
                    )
                    for p in plans
                )
        if not claimed:
            self._supervisor.discard(job.name)
            return None
        logger.info("placed", extra={"job": job.name, "hosts": list(host_names)})
        return run

    def _explain_waits(self, waiting: Sequence[tuple[_Queued, placement.Reason]]) -> None:
        """Tell waiting jobs why. A long queue is told a batch per pass, in one short transaction, so
        creates never wait long for the write lock; the next passes tell the rest."""
        changed = []
        for job, reason in waiting:
            message = _wait_message(job, reason)
            if job.message != message:
                changed.append((job, message))
        if not changed:
            return
        with self._sessions.begin() as session:
            for job, message in changed[:WAIT_MESSAGES_PER_PASS]:
                record = session.get(TrainingJob, job.id)
                if record is not None and self._jobs.transition_in(
                    session, record, status=Status.IN_PROGRESS, secondary=Secondary.STARTING, message=message
                ):
                    self._queued[job.id] = dataclasses.replace(job, message=message)
        if len(changed) > WAIT_MESSAGES_PER_PASS:
            self.hint()


def _wait_message(job: _Queued, reason: placement.Reason) -> str:
    if reason == placement.Reason.NEVER_FITS:
        return "Waiting for capacity: the host pool has shrunk below what this job needs"
    config = job.resources
    return (
        f"Waiting for capacity: {config['InstanceCount']} x {config['InstanceType']} "
        "do not fit in the free capacity of the host pool yet"
    )


def _demand_of(request: dict[str, Any], *, key: str) -> placement.Demand:
    config = request["ResourceConfig"]
    return placement.Demand(
        job_key=key,
        shape=instance_types.shape_for(config["InstanceType"]),
        instance_count=config["InstanceCount"],
        disk_gib=float(config.get("VolumeSizeInGB", 1)),
        max_runtime_seconds=float(request["StoppingCondition"]["MaxRuntimeInSeconds"]),
    )


def _load_queue(session: Session, known: dict[int, _Queued]) -> list[_Queued]:
    """Jobs waiting for VMs, oldest first (FIFO). A job's request never changes once created, so only
    jobs not seen before are read whole; `known` is that cache, trimmed to the current queue."""
    has_live_vm = exists().where(Vm.job_id == TrainingJob.id, Vm.state.in_(vms.LIVE))
    ids = list(
        session.scalars(
            select(TrainingJob.id)
            .where(
                TrainingJob.status == Status.IN_PROGRESS,
                TrainingJob.secondary_status.in_(QUEUED),
                ~has_live_vm,
            )
            .order_by(TrainingJob.creation_time, TrainingJob.id)
        )
    )
    missing = [i for i in ids if i not in known]
    for job in session.scalars(select(TrainingJob).where(TrainingJob.id.in_(missing))) if missing else ():
        message = job.transitions[-1]["StatusMessage"]
        known[job.id] = _Queued(
            id=job.id,
            name=job.name,
            arn=job.arn,
            request=job.request,
            message=message,
            demand=_demand_of(job.request, key=job.name),
        )
    for stale in known.keys() - set(ids):
        del known[stale]
    return [known[i] for i in ids if i in known]


def _load_hosts(session: Session) -> list[placement.HostSnapshot]:
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


def _capacity(host: Host) -> placement.Resources:
    return placement.Resources(host.vcpus, host.memory_gib, host.gpus, host.disk_gib)


def _empty_host(host: Host) -> placement.HostSnapshot:
    return placement.HostSnapshot(host.name, _capacity(host), _capacity(host))
