"""The job service's collaborators, recorded, for tests that drive the service without a scheduler."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from app.clock import Clock
from app.errors import ResourceLimitExceeded
from app.jobs.lifecycle import JobLifecycle
from app.jobs.service import Identity, TrainingJobService
from app.jobs.spec import ResourceSpec

IDENTITY = Identity(region="us-east-1")


class RecordingRuntime:
    """Scheduler hints, stop requests to runs and admission checks, recorded; `refuse_over` instances
    are refused at admission."""

    def __init__(self) -> None:
        self.hints = 0
        self.stops: list[int] = []  # job ids
        self.admitted: list[ResourceSpec] = []
        self.refuse_over: int | None = None

    def hint(self) -> None:
        self.hints += 1

    def stop(self, job_id: int) -> bool:
        self.stops.append(job_id)
        return True

    def admit(self, resources: ResourceSpec) -> None:
        self.admitted.append(resources)
        if self.refuse_over is not None and resources.instance_count > self.refuse_over:
            raise ResourceLimitExceeded("too big")


def job_service(
    sessions: sessionmaker[Session],
    lifecycle: JobLifecycle,
    runtime: RecordingRuntime,
    identity: Identity = IDENTITY,
) -> TrainingJobService:
    return TrainingJobService(
        sessions=sessions,
        identity=identity,
        lifecycle=lifecycle,
        hinter=runtime,
        stopper=runtime,
        admission=runtime,
    )


def lifecycle_of(sessions: sessionmaker[Session], clock: Clock) -> JobLifecycle:
    return JobLifecycle(sessions=sessions, clock=clock)
