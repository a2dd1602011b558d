"""Training-job use cases: create, describe, list, stop and delete (status writes go through `lifecycle`).

Every use case acts for a `Caller` and sees only the jobs of the caller's account: another account's job
is `NotFound` exactly as an unknown one is, and job names are unique within an account.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any, Protocol

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.auth.caller import Caller
from app.db.models import TrainingJob
from app.errors import AccessDenied, NotFound, ResourceInUse, ValidationError
from app.jobs import metric_regex, repository, schemas, spec
from app.jobs.lifecycle import JobLifecycle
from app.jobs.status import QUEUED, TERMINAL, Secondary, Status, capacity_message, initial
from app.storage import uris
from app.tags import repository as tag_repository
from app.tags import service as tag_service
from app.wire import tokens
from app.wire.validate import parse_timestamp

STOP_ATTEMPTS = 5


class Hinter(Protocol):
    """Wakes whatever places queued jobs (the scheduler)."""

    def hint(self) -> None: ...


class RunStopper(Protocol):
    """Whatever drives claimed jobs (the supervisor): asked to stop one; False if it holds no run."""

    def stop(self, job_id: int) -> bool: ...


class AdmissionCheck(Protocol):
    """Refuses at create time what the service can never provide (ResourceLimitExceeded)."""

    def admit(self, resources: spec.ResourceSpec) -> None: ...


@dataclass(frozen=True, slots=True)
class Identity:
    """Where the service runs: the region every ARN names (the account is the caller's)."""

    region: str

    def training_job_arn(self, *, account_id: str, name: str) -> str:
        return f"arn:aws:sagemaker:{self.region}:{account_id}:training-job/{name.lower()}"


class TrainingJobService:
    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        identity: Identity,
        lifecycle: JobLifecycle,
        hinter: Hinter,
        stopper: RunStopper,
        admission: AdmissionCheck,
    ) -> None:
        self._sessions = sessions
        # Hot reads skip the ORM session (about half of a Describe's cost) and use a pooled connection.
        self._engine: Engine = sessions.kw["bind"]
        self._identity = identity
        self._lifecycle = lifecycle
        self._hinter = hinter
        self._stopper = stopper
        self._admission = admission

    def create(
        self, request: dict[str, Any], *, caller: Caller, tuning_job_arn: str | None = None
    ) -> dict[str, Any]:
        """Record a new job of the caller's account, queued as InProgress / Pending; wake the scheduler.
        A tuning job's trials name it (`TuningJobArn`, which Describe shows)."""
        job_spec, stored = self._checked(request, caller=caller)
        if tuning_job_arn is not None:
            stored["TuningJobArn"] = tuning_job_arn
        account_id = caller.account_id
        name = request["TrainingJobName"]
        now = self._lifecycle.clock()
        resources = job_spec.resources
        state = initial(
            now=now,
            message=capacity_message(
                instance_count=resources.instance_count, instance_type=resources.instance_type
            ),
        )
        job = TrainingJob(
            account_id=account_id,
            name=name,
            name_key=repository.name_key(name),
            arn=self._identity.training_job_arn(account_id=account_id, name=name),
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
            tags = tag_service.by_key(request.get("Tags", []))
            tag_repository.insert(session, account_id=account_id, arn=job.arn, tags=tags)
        self._hinter.hint()
        return {"TrainingJobArn": job.arn}

    def check(self, request: dict[str, Any], *, caller: Caller) -> None:
        """Every check `create` makes, without creating (a tuning job checks its trials' requests)."""
        self._checked(request, caller=caller)

    def _checked(
        self, request: dict[str, Any], *, caller: Caller
    ) -> tuple[spec.TrainingJobSpec, dict[str, Any]]:
        _check_semantics(request)
        _check_role(request["RoleArn"], caller)
        _check_local_sources(request, caller)
        stored = schemas.with_defaults(request)
        job_spec = spec.from_request(stored, account_id=caller.account_id)
        self._admission.admit(job_spec.resources)
        return job_spec, stored

    def describe(self, name: str, *, caller: Caller) -> dict[str, Any]:
        """DescribeTrainingJob: every field SageMaker returns for the job's current state."""
        with self._engine.connect() as connection:
            row = repository.get_row(connection, account_id=caller.account_id, name=name)
        if row is None:
            raise NotFound()
        return schemas.describe(row)

    def list(self, params: dict[str, Any], *, caller: Caller) -> dict[str, Any]:
        """ListTrainingJobs over the caller's jobs with every filter, keyset-paginated so walking pages
        never skips or repeats."""
        filters = {k: v for k, v in params.items() if k not in ("NextToken", "MaxResults")}
        query = _list_query(params, filters)
        with self._sessions() as session:
            rows = repository.page(session, account_id=caller.account_id, query=query)
        out: dict[str, Any] = {"TrainingJobSummaries": [schemas.summary(r) for r in rows[: query.limit]]}
        if len(rows) > query.limit:
            last = rows[query.limit - 1]
            value = getattr(last, repository.SORT_COLUMNS[query.sort_by].key)
            out["NextToken"] = tokens.encode([_cursor_value(value), last.id], filters)
        return out

    def previous_token(self, params: dict[str, Any], *, caller: Caller) -> str | None:
        """The NextToken of the page before the one `params` asks for ("" when that is the first page,
        None when `params` asks for the first page itself): walking back is as stable as walking on, as
        both are anchored on rows, not on positions."""
        if not params.get("NextToken"):
            return None
        filters = {k: v for k, v in params.items() if k not in ("NextToken", "MaxResults")}
        query = _list_query(params, filters)
        # From the row the page follows, backwards: the page before ends at that row, and starts after
        # the row `limit` places back, whose key is that page's token.
        back = replace(query, descending=not query.descending, limit=query.limit - 1)
        with self._sessions() as session:
            rows = repository.page(session, account_id=caller.account_id, query=back)
        if len(rows) < query.limit:
            return ""
        before = rows[query.limit - 1]
        value = getattr(before, repository.SORT_COLUMNS[query.sort_by].key)
        return tokens.encode([_cursor_value(value), before.id], filters)

    def stop(self, name: str, *, caller: Caller) -> None:
        """StopTrainingJob: InProgress → Stopping. A queued job holds no VM, so it is Stopped at once; a
        claimed one is stopped by its run, which sees Stopping at its next step or is woken now."""
        # The runtime moves a running job on (Starting → Downloading → ...) between our read and our
        # compare-and-set; losing that race is no reason to refuse the stop: read again and retry.
        for _ in range(STOP_ATTEMPTS):
            with self._sessions.begin() as session:
                job = self._get(session, name, caller)
                if job.status in TERMINAL or job.status == Status.STOPPING:
                    raise ValidationError(
                        f"The training job {job.name} cannot be stopped: its status is {job.status}."
                    )
                queued = job.secondary_status in QUEUED
                if self._stop_in(session, job, queued=queued):
                    break
        else:
            raise ValidationError(
                f"The training job {job.name} changed status while being stopped; try again."
            )
        if not queued:
            self._stopper.stop(job.id)

    def _stop_in(self, session: Session, job: TrainingJob, *, queued: bool) -> bool:
        if queued:
            return self._lifecycle.transition_in(
                session,
                job,
                status=Status.STOPPED,
                secondary=Secondary.STOPPED,
                via=(Status.STOPPING, Secondary.STOPPING),
            )
        return self._lifecycle.transition_in(
            session, job, status=Status.STOPPING, secondary=Secondary.STOPPING
        )

    def delete(self, name: str, *, caller: Caller) -> None:
        """DeleteTrainingJob: only jobs that have finished (Completed, Failed, Stopped)."""
        with self._sessions.begin() as session:
            job = self._get(session, name, caller)
            if job.status not in TERMINAL:
                raise ResourceInUse(
                    f"The training job {job.name} is {job.status}; only Completed, Failed or "
                    "Stopped jobs can be deleted. Stop it first."
                )
            repository.remove(session, job)

    def status_of(self, name: str, *, caller: Caller) -> Status:
        with self._sessions() as session:
            return Status(self._get(session, name, caller).status)

    def owns(self, arn: str, *, account_id: str) -> bool:
        """Whether `arn` names an existing training job of the account (the tagging API asks)."""
        with self._sessions() as session:
            return repository.get_by_arn(session, account_id=account_id, arn=arn) is not None

    def _get(self, session: Session, name: str, caller: Caller) -> TrainingJob:
        job = repository.get(session, account_id=caller.account_id, name=name)
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
    _check_metric_regexes(algorithm.get("MetricDefinitions", []))
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


def _check_role(role_arn: str, caller: Caller) -> None:
    """A job acts through a role of the caller's own account (`arn:aws:iam::<account>:role/...`): passing
    another account's role is refused as IAM refuses `iam:PassRole` on it."""
    parts = role_arn.split(":")
    if len(parts) < 6 or parts[4] != caller.account_id:
        raise AccessDenied(
            f"Account {caller.account_id} is not authorized to perform: iam:PassRole on resource: {role_arn}"
        )


def _check_local_sources(request: dict[str, Any], caller: Caller) -> None:
    """`file://` channels and code (a local extension) read the server's own disk, where every account's
    data and the master key live: only operators (admin keys) may name them."""
    if caller.is_admin:
        return
    channels = [
        c["DataSource"].get("S3DataSource", {}).get("S3Uri", "") for c in request.get("InputDataConfig", [])
    ]
    code = request.get("HyperParameters", {}).get("sagemaker_submit_directory", "")
    local = [uri for uri in [*channels, code] if "file://" in uri]
    if local:
        raise AccessDenied(f"Only an administrator may read the server's files; {local[0]} is not allowed.")


def _check_metric_regexes(definitions: list[dict[str, Any]]) -> None:
    for definition in definitions:
        reason = metric_regex.invalid_reason(definition["Regex"])
        if reason is not None:
            raise ValidationError(
                f"MetricDefinitions: the Regex of metric {definition['Name']!r} is not a valid regular "
                f"expression: {reason}."
            )


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
