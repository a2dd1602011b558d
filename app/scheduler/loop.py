"""The scheduler: load a snapshot → decide placements (pure) → apply them as claims.

A claim is one transaction: the job moves from Pending (or Restarting) to Starting by a compare-and-set,
and its VMs are reserved with it. Only after that commit is the run handed to the supervisor, so a stop
that lands first simply wins the compare-and-set, and one that lands after finds the job Starting and is
carried out by the run (see `TrainingJobService.stop`).

One thread runs `tick()` whenever a create, a stop or a finished run rings the `Wakeup`, and at least
every `interval` seconds. Tests call `tick()` or `run_until_idle()` directly.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from app.clock import Clock
from app.hosts import instance_types, vms
from app.jobs import repository
from app.jobs.lifecycle import JobLifecycle
from app.jobs.repository import QueuedJob, QueueKey
from app.jobs.spec import ResourceSpec
from app.jobs.status import Secondary, Status, capacity_message
from app.runtime.job_plan import JobPlan
from app.scheduler import incremental, placement
from app.scheduler.demand import demand_of, load_hosts
from app.scheduler.wakeup import Wakeup

logger = logging.getLogger(__name__)

COALESCE_SECONDS = 0.01
WAIT_MESSAGES_PER_PASS = 64
IDLE_PASSES_LIMIT = 1000


class RunStarter(Protocol):
    """Whatever drives a claimed job's VMs (the supervisor)."""

    def start(self, plan: JobPlan) -> None: ...


class PassObserver(Protocol):
    """Told how long each pass of the loop took and how long each placed job waited (the metrics)."""

    def scheduler_pass(self, seconds: float) -> None: ...

    def placed(self, wait_seconds: float) -> None: ...


@dataclasses.dataclass(frozen=True, slots=True)
class Liveness:
    """Whether the loop thread runs, and how long ago its last pass ended (None before the first)."""

    running: bool
    seconds_since_pass: float | None


class Scheduler:
    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        lifecycle: JobLifecycle,
        runs: RunStarter,
        wakeup: Wakeup,
        clock: Clock,
        stop_grace_seconds: float,
        interval_seconds: float,
        observer: PassObserver | None = None,
        is_leader: Callable[[], bool] = lambda: True,
    ) -> None:
        self._sessions = sessions
        # Only the leading replica places jobs; the others' loops pass idle (and stay healthy) meanwhile.
        self._is_leader = is_leader
        self._observer = observer
        self._last_pass_ended: float | None = None  # time.monotonic() of the loop's last pass
        self._lifecycle = lifecycle
        self._runs = runs
        self._wakeup = wakeup
        self._clock = clock
        self._grace = stop_grace_seconds
        self._interval = interval_seconds
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None
        # A job's request never changes once created: queued jobs are read (and parsed) once, then kept,
        # and so is each one's Demand: the incremental planner recognises the queue it saw last by these
        # very objects, at no cost per queued job.
        self._queued: dict[QueueKey, QueuedJob] = {}
        self._demands: dict[QueueKey, placement.Demand] = {}
        self._planner = incremental.IncrementalPlanner()
        self._last_pass_seconds = 0.0

    # -- the loop ----------------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="scheduler", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._closing.set()
        self._wakeup.hint()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._closing.is_set():
            if self._wakeup.wait(timeout=self._interval):
                # A burst of creates wakes the loop once per burst, not once per create; with a long
                # queue a pass costs more, so passes space out and stay a small share of the CPU.
                self._closing.wait(max(COALESCE_SECONDS, 4 * self._last_pass_seconds))
            self._wakeup.clear()
            if self._closing.is_set():
                return
            started = time.monotonic()
            try:
                if self._is_leader():
                    self.tick()
            except Exception:
                logger.exception("scheduler pass failed")
            self._last_pass_ended = time.monotonic()
            self._last_pass_seconds = self._last_pass_ended - started
            if self._observer is not None:
                self._observer.scheduler_pass(self._last_pass_seconds)

    def liveness(self) -> Liveness:
        """For the health check: a loop that died, or has not passed for long, places nothing."""
        running = self._thread is not None and self._thread.is_alive()
        ended = self._last_pass_ended
        return Liveness(
            running=running, seconds_since_pass=None if ended is None else time.monotonic() - ended
        )

    def run_until_idle(self) -> int:
        """Pass after pass until one places nothing and leaves nothing to tell; returns jobs started."""
        started = 0
        for _ in range(IDLE_PASSES_LIMIT):
            self._wakeup.clear()
            placed = self.tick()
            started += placed
            if not placed and not self._wakeup.is_set():
                return started
        raise RuntimeError(f"the scheduler was still busy after {IDLE_PASSES_LIMIT} passes")

    def tick(self) -> int:
        """One pass: place what fits now, tell the rest why they wait. Returns how many jobs started."""
        with self._sessions() as session:
            queue = self._load_queue(session)
            if not queue:
                return 0
            hosts = load_hosts(session)
        now = self._clock()
        decision = self._planner.decide(
            hosts=hosts,
            queue=[self._demands[q.key] for q in queue],
            now=now.timestamp(),
            stop_grace_seconds=self._grace,
        )
        # Demands are keyed by ARN: names are only unique within an account, ARNs across all of them.
        by_arn = {q.arn: q for q in queue}
        started = 0
        for arn, host_names in decision.placements.items():
            plan = self._claim(by_arn[arn], host_names, now)
            if plan is not None:
                self._runs.start(plan)
                started += 1
        self._explain_waits([(by_arn[arn], reason) for arn, reason in decision.unplaced.items()])
        return started

    # -- apply -------------------------------------------------------------------------------------

    def _claim(self, job: QueuedJob, host_names: Sequence[str], now: dt.datetime) -> JobPlan | None:
        """Pending → Starting and the VMs reserved, in one transaction; None if a stop got there first."""
        plans = _vm_plans(job.spec.resources, host_names)
        deadline = now + dt.timedelta(seconds=job.spec.max_runtime_seconds + self._grace)
        with self._sessions.begin() as session:
            if not self._lifecycle.claim_in(session, job.id):
                return None
            vms.reserve(session, job_id=job.id, plans=plans, deadline_at=deadline)
        self._queued.pop(job.key, None)
        self._demands.pop(job.key, None)
        waited = _seconds_since(job.key[1], now)
        logger.info("placed", extra={"job": job.arn, "hosts": list(host_names), "waited_seconds": waited})
        if self._observer is not None and waited is not None:
            self._observer.placed(waited)
        return JobPlan(job_id=job.id, job_name=job.name, job_arn=job.arn, spec=job.spec, vms=plans)

    def _explain_waits(self, waiting: Sequence[tuple[QueuedJob, placement.Reason]]) -> None:
        """Tell waiting jobs why. A long queue is told a batch per pass, in one short transaction, so
        creates never wait long for the write lock; the next passes tell the rest."""
        changed = [
            (job, message)
            for job, reason in waiting
            if job.message != (message := _wait_message(job, reason))
        ]
        if not changed:
            return
        with self._sessions.begin() as session:
            for job, message in changed[:WAIT_MESSAGES_PER_PASS]:
                record = repository.get_by_id(session, job.id)
                if record is not None and self._lifecycle.transition_in(
                    session, record, status=Status.IN_PROGRESS, secondary=Secondary.PENDING, message=message
                ):
                    self._queued[job.key] = dataclasses.replace(job, message=message)
        if len(changed) > WAIT_MESSAGES_PER_PASS:
            self._wakeup.hint()

    def _load_queue(self, session: Session) -> list[QueuedJob]:
        """Jobs of every account waiting for VMs, oldest first (FIFO); only jobs not seen before are read
        whole."""
        keys = repository.queued_keys_of_all_accounts(session)
        for stale in self._queued.keys() - set(keys):
            del self._queued[stale]
            del self._demands[stale]
        missing = [job_id for job_id, created in keys if (job_id, created) not in self._queued]
        for job in repository.queued_jobs(session, missing):
            self._queued[job.key] = job
            resources, runtime = job.spec.resources, float(job.spec.max_runtime_seconds)
            self._demands[job.key] = demand_of(resources, key=job.arn, max_runtime_seconds=runtime)
        return [self._queued[k] for k in keys if k in self._queued]


def _vm_plans(resources: ResourceSpec, host_names: Sequence[str]) -> tuple[vms.VmPlan, ...]:
    shape = instance_types.shape_for(resources.instance_type)
    return tuple(
        vms.VmPlan(
            id=f"vm-{uuid.uuid4().hex[:16]}",
            hostname=f"algo-{index}",
            host=host,
            instance_type=resources.instance_type,
            vcpus=float(shape.vcpus),
            memory_gib=float(shape.memory_gib),
            gpus=shape.gpus,
            disk_gib=resources.volume_size_gib,
        )
        for index, host in enumerate(host_names, start=1)
    )


def _seconds_since(created_key: str, now: dt.datetime) -> float | None:
    """Seconds from a job's creation (its queue key's text) to `now`; None if the text is no time."""
    try:
        created = dt.datetime.fromisoformat(created_key)
    except ValueError:
        return None
    if created.tzinfo is None:  # stored in UTC without an offset
        created = created.replace(tzinfo=dt.UTC)
    return round((now - created).total_seconds(), 3)


def _wait_message(job: QueuedJob, reason: placement.Reason) -> str:
    if reason == placement.Reason.NEVER_FITS:
        return "Waiting for compute capacity: the host pool has shrunk below what this job needs"
    resources = job.spec.resources
    return capacity_message(instance_count=resources.instance_count, instance_type=resources.instance_type)
