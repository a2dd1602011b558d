"""Training-job use cases: create, describe, list, stop, delete, and the one guarded status writer."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.clock import Clock, utcnow
from app.db.models import TrainingJob
from app.errors import NotFound, ResourceInUse, ValidationError
from app.jobs import repository, schemas
from app.jobs.status import NEXT, TERMINAL, JobState, Secondary, Status, advance, initial
from app.storage import uris
from app.tags import repository as tag_repository
from app.tags import service as tag_service
from app.wire import tokens
from app.wire.validate import parse_timestamp

MAX_FAILURE_REASON = 1024
STOP_ATTEMPTS = 5


class JobRuntime(Protocol):
    """What runs jobs. The service tells it about new work and stop requests."""

    def hint(self) -> None:
        """New work may be waiting: wake the scheduler."""

    def stop_requested(self, job_name: str) -> bool:
        """True if the runtime has live VMs for the job and will finish the stop itself."""


class NoRuntime:
    """Nothing runs jobs: stops complete at once, since no VM holds any work."""

    def hint(self) -> None:
        return None

    def stop_requested(self, job_name: str) -> bool:
        return False


Admission = Callable[[dict[str, Any]], None]


@dataclass(frozen=True, slots=True)
class Identity:
    region: str
    account_id: str

    def training_job_arn(self, name: str) -> str:
        return f"arn:aws:sagemaker:{self.region}:{self.account_id}:training-job/{name.lower()}"


class TrainingJobService:
    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        identity: Identity,
        clock: Clock = utcnow,
        runtime: JobRuntime | None = None,
        admission: Admission | None = None,
    ) -> None:
        self._sessions = sessions
        # Hot reads skip the ORM session (about half of a Describe's cost) and use a pooled connection.
        self._engine: Engine = sessions.kw["bind"]
        self._identity = identity
        self.clock = clock
        self.runtime: JobRuntime = runtime or NoRuntime()
        # Checks a request against what the service can ever provide (the scheduler plugs in here).
        self.admission = admission

    def create(self, request: dict[str, Any]) -> dict[str, Any]:
        """Record a new job in InProgress / Starting and wake the scheduler."""
        _check_semantics(request)
        stored = schemas.with_defaults(request)
        if self.admission is not None:
            self.admission(stored)
        name = request["TrainingJobName"]
        now = self.clock()
        state = initial(now=now)
        job = TrainingJob(
            name=name,
            name_key=repository.name_key(name),
            arn=self._identity.training_job_arn(name),
            status=state.status,
            secondary_status=state.secondary,
            request=stored,
            transitions=list(state.transitions),
            creation_time=now,
            last_modified_time=now,
        )
        with self._sessions.begin() as session:
            try:
                repository.insert(session, job)
            except repository.DuplicateName:
                raise ResourceInUse(
                    f"Training job names must be unique within an AWS account and region, "
                    f"and a training job with this name already exists ({job.arn})"
                ) from None
            tag_repository.insert(session, job.arn, tag_service.by_key(request.get("Tags", [])))
        self.runtime.hint()
        return {"TrainingJobArn": job.arn}

    def describe(self, name: str) -> dict[str, Any]:
        """DescribeTrainingJob: every field SageMaker returns for the job's current state."""
        with self._engine.connect() as connection:
            row = repository.get_row(connection, name)
        if row is None:
            raise NotFound()
        return schemas.describe(row)

    def list(self, params: dict[str, Any]) -> dict[str, Any]:
        """ListTrainingJobs with every filter, keyset-paginated so walking pages never skips or repeats."""
        filters = {k: v for k, v in params.items() if k not in ("NextToken", "MaxResults")}
        query = _list_query(params, filters)
        with self._sessions() as session:
            rows = repository.page(session, query)
        out: dict[str, Any] = {"TrainingJobSummaries": [schemas.summary(r) for r in rows[: query.limit]]}
        if len(rows) > query.limit:
            last = rows[query.limit - 1]
            value = getattr(last, repository.SORT_COLUMNS[query.sort_by].key)
            out["NextToken"] = tokens.encode([_cursor_value(value), last.id], filters)
        return out

    def stop(self, name: str) -> None:
        """StopTrainingJob: InProgress → Stopping; → Stopped once no VM holds work for the job."""
        # The runtime moves a running job on (Starting → Downloading → ...) between our read and our
        # compare-and-set; losing that race is no reason to refuse the stop: read again and retry.
        for _ in range(STOP_ATTEMPTS):
            with self._sessions() as session:
                job = self._get(session, name)
            if job.status in TERMINAL or job.status == Status.STOPPING:
                raise ValidationError(
                    f"The training job {job.name} cannot be stopped: its status is {job.status}."
                )
            if self.transition(job.name, status=Status.STOPPING, secondary=Secondary.STOPPING):
                break
        else:
            raise ValidationError(
                f"The training job {job.name} changed status while being stopped; try again."
            )
        if not self.runtime.stop_requested(job.name):
            self.transition(job.name, status=Status.STOPPED, secondary=Secondary.STOPPED, end=True)

    def delete(self, name: str) -> None:
        """DeleteTrainingJob: only jobs that have finished (Completed, Failed, Stopped)."""
        with self._sessions.begin() as session:
            job = self._get(session, name)
            if job.status not in TERMINAL:
                raise ResourceInUse(
                    f"The training job {job.name} is {job.status}; only Completed, Failed or "
                    "Stopped jobs can be deleted. Stop it first."
                )
            repository.remove(session, job)

    def transition(
        self,
        name: str,
        *,
        status: Status,
        secondary: Secondary,
        message: str | None = None,
        failure_reason: str | None = None,
        end: bool = False,
        extra: dict[str, Any] | None = None,
    ) -> bool:
        """The one guarded status writer: stamps times, appends the transition, refuses illegal moves.

        Returns False when the move is not allowed from the job's current status (or lost a race).
        """
        with self._sessions.begin() as session:
            job = self._get(session, name)
            return self.transition_in(
                session,
                job,
                status=status,
                secondary=secondary,
                message=message,
                failure_reason=failure_reason,
                end=end,
                extra=extra,
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
        end: bool = False,
        extra: dict[str, Any] | None = None,
    ) -> bool:
        """`transition` inside the caller's transaction (the scheduler claims a job and its VMs at once)."""
        current = JobState(Status(job.status), Secondary(job.secondary_status), tuple(job.transitions))
        if status not in NEXT[current.status]:
            return False
        now = self.clock()
        state = advance(current, status=status, secondary=secondary, now=now, message=message)
        values: dict[str, Any] = {
            "status": state.status,
            "secondary_status": state.secondary,
            "transitions": list(state.transitions),
            "last_modified_time": now,
            **(extra or {}),
        }
        if failure_reason is not None:
            values["failure_reason"] = failure_reason[:MAX_FAILURE_REASON]
        if end or state.status in TERMINAL:
            values.setdefault("training_end_time", now)
        return repository.compare_and_set(
            session, job_id=job.id, expected=(job.status, job.secondary_status), values=values
        )

    def status_of(self, name: str) -> Status:
        with self._sessions() as session:
            return Status(self._get(session, name).status)

    def training_start(self, name: str) -> dt.datetime | None:
        with self._sessions() as session:
            return self._get(session, name).training_start_time

    def set_fields(self, name: str, **values: Any) -> None:
        """Record facts about a run (start time, metrics) that do not change the job's status."""
        with self._sessions.begin() as session:
            job = self._get(session, name)
            for column, value in values.items():
                setattr(job, column, value)

    def owns(self, arn: str) -> bool:
        """Whether `arn` names a training job that exists (the tagging API asks)."""
        with self._sessions() as session:
            return repository.get_by_arn(session, arn) is not None

    def _get(self, session: Session, name: str) -> TrainingJob:
        job = repository.get(session, name)
        if job is None:
            raise NotFound()
        return job


def _check_semantics(request: dict[str, Any]) -> None:
    """Rules SageMaker enforces beyond what the model's shapes say."""
    resources = request.get("ResourceConfig")
    if resources is None:
        raise ValidationError(
            "ResourceConfig is required: give InstanceType, InstanceCount and VolumeSizeInGB."
        )
    if resources.get("InstanceGroups"):
        raise ValidationError(
            "ResourceConfig.InstanceGroups (heterogeneous clusters) is not supported yet; "
            "give InstanceType and InstanceCount instead."
        )
    for member in ("InstanceType", "InstanceCount"):
        if member not in resources:
            raise ValidationError(f"ResourceConfig.{member} is required.")
    if resources["InstanceCount"] < 1:
        raise ValidationError("ResourceConfig.InstanceCount must be at least 1.")
    algorithm = request.get("AlgorithmSpecification")
    if algorithm is None:
        raise ValidationError("AlgorithmSpecification is required.")
    if bool(algorithm.get("TrainingImage")) == bool(algorithm.get("AlgorithmName")):
        raise ValidationError("AlgorithmSpecification needs exactly one of TrainingImage or AlgorithmName.")
    output = request["OutputDataConfig"]["S3OutputPath"]
    try:
        uris.parse_s3_uri(output)
    except uris.UriError as error:
        raise ValidationError(
            f"OutputDataConfig.S3OutputPath {output!r} is not a usable s3:// URI: {error}"
        ) from None
    channels = [c["ChannelName"] for c in request.get("InputDataConfig", [])]
    if len(channels) != len(set(channels)):
        raise ValidationError("InputDataConfig channel names must be unique.")
    tag_service.check_unique_keys(request.get("Tags", []))


def _list_query(params: dict[str, Any], filters: dict[str, Any]) -> repository.ListQuery:
    sort_by = params.get("SortBy", "CreationTime")
    after = None
    if params.get("NextToken"):
        # Every sort value travels as text: names and statuses as they are, creation times as ISO 8601.
        text, last_id = tokens.decode(params["NextToken"], filters, kinds=(str, int))
        value = parse_timestamp(text) if sort_by == "CreationTime" else text
        if value is None:
            raise ValidationError("Invalid pagination token")
        after = (value, last_id)
    return repository.ListQuery(
        name_contains=params.get("NameContains"),
        status_equals=params.get("StatusEquals"),
        created_after=parse_timestamp(params.get("CreationTimeAfter")),
        created_before=parse_timestamp(params.get("CreationTimeBefore")),
        modified_after=parse_timestamp(params.get("LastModifiedTimeAfter")),
        modified_before=parse_timestamp(params.get("LastModifiedTimeBefore")),
        sort_by=sort_by,
        descending=params.get("SortOrder") == "Descending",
        limit=params.get("MaxResults", 10),
        after=after,
    )


def _cursor_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.datetime) else value
