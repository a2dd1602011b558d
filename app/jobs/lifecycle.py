"""The one guarded status writer of training jobs, and the named updates a run makes on its way.

Every write stamps the time, appends to `SecondaryStatusTransitions`, refuses what the status machine
forbids, and is a compare-and-set on the (status, secondary status) it read, in the same transaction.
A `False` answer means the job had moved on (a stop landed, or it already ended): the caller decides
again from the job as it now stands, which `finish` does itself. Jobs are named by row id: the writers
(the API after an account-scoped read, the scheduler, the runtime) already hold it, and a name alone is
only unique within an account.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from app.clock import Clock
from app.db.models import TrainingJob
from app.jobs import repository
from app.jobs.status import NEXT, QUEUED, TERMINAL, JobState, Secondary, Status, advance, ending, uploading

logger = logging.getLogger(__name__)

MAX_FAILURE_REASON = 1024
_FINISH_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class RunFacts:
    """What a run learned, written with its terminal status."""

    model_artifacts: str | None = None
    final_metrics: list[dict[str, Any]] | None = None
    billable_seconds: int | None = None


Fence = Callable[[Session], bool]  # inside a write's transaction: may this writer still write?


class JobLifecycle:
    """`fence`, when given, is asked inside every write's transaction: the scheduler's and its runs'
    writes carry the leader's epoch (app/scheduler/leadership.py); the API's writes need none."""

    def __init__(self, *, sessions: sessionmaker[Session], clock: Clock, fence: Fence | None = None) -> None:
        self._sessions = sessions
        self.clock = clock
        self._fence = fence

    def transition(
        self,
        job_id: int,
        *,
        status: Status,
        secondary: Secondary,
        message: str | None = None,
        failure_reason: str | None = None,
    ) -> bool:
        """Move the job to (status, secondary); False if it is gone or the move is not allowed now."""
        with self._sessions.begin() as session:
            job = repository.get_by_id(session, job_id)
            return job is not None and self.transition_in(
                session,
                job,
                status=status,
                secondary=secondary,
                message=message,
                failure_reason=failure_reason,
            )

    def transition_in(
        self,
        session: Session,
        job: TrainingJob,
        *,
        status: Status,
        secondary: Secondary,
        message: str | None = None,
        failure_reason: str | None = None,
        values: dict[str, Any] | None = None,
        via: tuple[Status, Secondary] | None = None,
    ) -> bool:
        """`transition` inside the caller's transaction, writing `values` with it. `via` is a move made
        first, in the same write (a queued job that is stopped goes Stopping → Stopped at once)."""
        current = JobState(Status(job.status), Secondary(job.secondary_status), tuple(job.transitions))
        moves = ([(*via, None)] if via else []) + [(status, secondary, message)]
        now = self.clock()
        state = current
        for next_status, next_secondary, next_message in moves:
            if next_status not in NEXT[state.status]:
                return False
            state = advance(
                state, status=next_status, secondary=next_secondary, now=now, message=next_message
            )
        written: dict[str, Any] = {
            "status": state.status,
            "secondary_status": state.secondary,
            "transitions": list(state.transitions),
            "last_modified_time": now,
            **(values or {}),
        }
        if failure_reason is not None:
            written["failure_reason"] = failure_reason[:MAX_FAILURE_REASON]
        if state.status in TERMINAL:
            written.setdefault("training_end_time", now)
        if self._fence is not None and not self._fence(session):
            logger.warning("write refused: this replica no longer leads", extra={"job_id": job.id})
            return False
        return repository.compare_and_set(
            session, job_id=job.id, expected=(job.status, job.secondary_status), values=written
        )

    # -- the named steps of a run ------------------------------------------------------------------

    def claim_in(self, session: Session, job_id: int) -> bool:
        """Queued (Pending or Restarting) → Starting, in the transaction that reserves the job's VMs."""
        job = repository.get_by_id(session, job_id)
        if job is None or job.status != Status.IN_PROGRESS or job.secondary_status not in QUEUED:
            return False
        return self.transition_in(session, job, status=Status.IN_PROGRESS, secondary=Secondary.STARTING)

    def advance_run(self, job_id: int, secondary: Secondary) -> bool:
        """InProgress → `secondary` (Downloading); False once a stop has landed."""
        return self._write_if_in_progress(job_id, secondary, values={})

    def start_training(self, job_id: int, *, at: dt.datetime) -> bool:
        """InProgress → Training, with TrainingStartTime: billing counts from here."""
        return self._write_if_in_progress(job_id, Secondary.TRAINING, values={"training_start_time": at})

    def begin_upload(self, job_id: int, *, completed: bool) -> bool:
        """→ Uploading: under InProgress for a run that completed, under Stopping for one that was stopped
        (whatever the model directory holds is still packaged). False only if the job has ended; a stop
        landing meanwhile is decided again (the upload then goes on under Stopping)."""
        for _ in range(_FINISH_ATTEMPTS):
            with self._sessions.begin() as session:
                job = repository.get_by_id(session, job_id)
                if job is None:
                    return False
                current = Status(job.status)
                target = uploading(completed=completed, current=current)
                if target is None:
                    return False
                if self.transition_in(
                    session,
                    job,
                    status=target,
                    secondary=Secondary.UPLOADING,
                    via=_via_stopping(current, target),
                ):
                    return True
        return True  # lost every race to other writers, yet the job is open: its artifacts still count

    def finish(
        self,
        job_id: int,
        *,
        status: Status,
        secondary: Secondary,
        failure_reason: str | None,
        facts: RunFacts,
        also: Callable[[Session], None],
        message: str | None = None,
    ) -> None:
        """Write the run's end and, in the same transaction, `also` (the run's VMs end with it). A lost
        race (a stop landing now) is decided again from the job as it then stands. The end may be a
        restart (InProgress / Restarting, with `message`): the job is queued again."""
        for _ in range(_FINISH_ATTEMPTS):
            with self._sessions.begin() as session:
                if self.finish_in(
                    session,
                    job_id,
                    status=status,
                    secondary=secondary,
                    failure_reason=failure_reason,
                    facts=facts,
                    message=message,
                ):
                    also(session)
                    return
        logger.error("could not record the end of a job", extra={"job_id": job_id, "outcome": status})
        with self._sessions.begin() as session:
            also(session)

    def finish_in(
        self,
        session: Session,
        job_id: int,
        *,
        status: Status,
        secondary: Secondary,
        failure_reason: str | None,
        facts: RunFacts,
        message: str | None = None,
    ) -> bool:
        """Write the run's end, settled against the job as it stands (see `status.ending`). True when
        written, or when the job had already ended; False when another writer won the race (retry)."""
        job = repository.get_by_id(session, job_id)
        if job is None:
            return True
        settled = ending(status=status, secondary=secondary, current=Status(job.status))
        if settled is None:
            return True
        values = {
            "model_artifacts": facts.model_artifacts,
            "final_metrics": facts.final_metrics,
            "billable_seconds": facts.billable_seconds,
        }
        return self.transition_in(
            session,
            job,
            status=settled[0],
            secondary=settled[1],
            via=_via_stopping(Status(job.status), settled[0]),
            message=message if settled == (status, secondary) else None,
            failure_reason=failure_reason,
            values={k: v for k, v in values.items() if v is not None},
        )

    def _write_if_in_progress(self, job_id: int, secondary: Secondary, *, values: dict[str, Any]) -> bool:
        with self._sessions.begin() as session:
            job = repository.get_by_id(session, job_id)
            return (
                job is not None
                and job.status == Status.IN_PROGRESS
                and self.transition_in(
                    session, job, status=Status.IN_PROGRESS, secondary=secondary, values=values
                )
            )


def _via_stopping(current: Status, target: Status) -> tuple[Status, Secondary] | None:
    """A running job stopped without StopTrainingJob (the deadline aside: the server shutting down, or a
    run stopped before it trained) still shows Stopping on its way, as every stop does on SageMaker."""
    if current == Status.IN_PROGRESS and target in (Status.STOPPING, Status.STOPPED):
        return Status.STOPPING, Secondary.STOPPING
    return None
