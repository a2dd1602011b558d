"""Tuning-job use cases: create, describe, list, stop, delete, and list a tuning job's training jobs.

Every use case acts for a `Caller` and sees only its account's tuning jobs; the tuner (`tuner.Tuner`)
does the work in the background.
"""

from __future__ import annotations

import builtins
import secrets
from collections.abc import Callable
from typing import Any, Protocol

from sqlalchemy.orm import Session, sessionmaker

from app.auth.caller import Caller
from app.clock import Clock
from app.db.models import TuningJob
from app.errors import NotFound, ResourceInUse, ValidationError
from app.tags import repository as tag_repository
from app.tags import service as tag_service
from app.tuning import listing, ranges, repository, schemas, spec
from app.tuning.tuner import child_name
from app.wire import validate as wire

MAX_WARM_START_PARENTS = 5
ENDED = ("Completed", "Failed", "Stopped")


class TrialCheck(Protocol):
    """The training-job service's checks of a CreateTrainingJob request, run on each definition."""

    def check(self, request: dict[str, Any], *, caller: Caller) -> None: ...


class TuningJobService:
    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        region: str,
        trials: TrialCheck,
        hint: Callable[[], None],
        clock: Clock,
    ) -> None:
        self._sessions = sessions
        self._region = region
        self._trials = trials
        self._hint = hint
        self._clock = clock

    def create(self, request: dict[str, Any], *, caller: Caller) -> dict[str, Any]:
        """Record a tuning job of the caller's account, InProgress; the tuner launches its trials."""
        name = request["HyperParameterTuningJobName"]
        tuning = spec.from_request(request)
        self._check_definitions(tuning, name=name, caller=caller)
        tag_service.check_unique_keys(request.get("Tags", []))
        arn = (
            f"arn:aws:sagemaker:{self._region}:{caller.account_id}:hyper-parameter-tuning-job/{name.lower()}"
        )
        now = self._clock()
        stored = {k: v for k, v in request.items() if k != "Tags"}
        seed = tuning.seed if tuning.seed is not None else secrets.randbelow(2**31)
        with self._sessions.begin() as session:
            warm = self._warm_start(session, request.get("WarmStartConfig"), caller=caller)
            job = TuningJob(
                account_id=caller.account_id,
                name=name,
                name_key=repository.name_key(name),
                arn=arn,
                status="InProgress",
                request=stored,
                seed=seed,
                by_admin=caller.is_admin,
                warm_start=warm,
                creation_time=now,
                last_modified_time=now,
            )
            try:
                repository.insert(session, job)
            except repository.DuplicateName:
                raise ResourceInUse(f"Hyperparameter tuning job {name} already exists ({arn}).") from None
            tags = tag_service.by_key(request.get("Tags", []))
            tag_repository.insert(session, account_id=caller.account_id, arn=arn, tags=tags)
        self._hint()
        return {"HyperParameterTuningJobArn": arn}

    def describe(self, name: str, *, caller: Caller) -> dict[str, Any]:
        """DescribeHyperParameterTuningJob."""
        with self._sessions() as session:
            job = self._get(session, name, caller)
            trials = repository.trials(session, job.id)
            return schemas.describe(job, trials, spec.from_request(job.request), now=self._clock())

    def list(self, params: dict[str, Any], *, caller: Caller) -> dict[str, Any]:
        """ListHyperParameterTuningJobs with its filters and sort, paginated."""
        with self._sessions() as session:
            jobs = list(repository.of_account(session, account_id=caller.account_id))
            trials = repository.trials_of_jobs(session, [j.id for j in jobs])
            summaries = [schemas.summary(j, [t for t in trials if t.tuning_job_id == j.id]) for j in jobs]
        items, token = listing.tuning_jobs(summaries, params)
        out: dict[str, Any] = {"HyperParameterTuningJobSummaries": items}
        if token:
            out["NextToken"] = token
        return out

    def list_training_jobs(self, params: dict[str, Any], *, caller: Caller) -> dict[str, Any]:
        """ListTrainingJobsForHyperParameterTuningJob."""
        with self._sessions() as session:
            job = self._get(session, params["HyperParameterTuningJobName"], caller)
            tuning = spec.from_request(job.request)
            summaries = [schemas.trial_summary(job, t, tuning) for t in repository.trials(session, job.id)]
        items, token = listing.training_jobs(summaries, params)
        out: dict[str, Any] = {"TrainingJobSummaries": items}
        if token:
            out["NextToken"] = token
        return out

    def stop(self, name: str, *, caller: Caller) -> None:
        """StopHyperParameterTuningJob: InProgress → Stopping; the tuner stops the running trials."""
        with self._sessions.begin() as session:
            job = self._get(session, name, caller)
            if job.status != "InProgress" or not repository.set_status(
                session,
                job_id=job.id,
                expected="InProgress",
                values={"status": "Stopping", "last_modified_time": self._clock()},
            ):
                raise ValidationError(
                    f"The hyperparameter tuning job {job.name} is {job.status}; it cannot be stopped."
                )
        self._hint()

    def delete(self, name: str, *, caller: Caller) -> None:
        """DeleteHyperParameterTuningJob: only ended ones; their training jobs stay."""
        with self._sessions.begin() as session:
            job = self._get(session, name, caller)
            if job.status not in ENDED:
                raise ResourceInUse(
                    f"The hyperparameter tuning job {job.name} is {job.status}; stop it first."
                )
            tag_repository.remove_all(session, account_id=caller.account_id, arn=job.arn)
            repository.remove(session, job)

    def owns(self, arn: str, *, account_id: str) -> bool:
        with self._sessions() as session:
            return repository.get_by_arn(session, account_id=account_id, arn=arn) is not None

    def _get(self, session: Session, name: str, caller: Caller) -> TuningJob:
        job = repository.get(session, account_id=caller.account_id, name=name)
        if job is None:
            raise NotFound()
        return job

    def _check_definitions(self, tuning: spec.TuningSpec, *, name: str, caller: Caller) -> None:
        """Each definition's first trial must be a training job the service would accept."""
        for definition in tuning.definitions:
            tuned = {
                r.name: r.values[0]
                if isinstance(r, ranges.CategoricalRange)
                else ranges.format_value(r.value_at(0.5))
                for r in definition.ranges
            }
            request = definition.training_request(job_name=child_name(name, "", 1), tuned=tuned)
            self._trials.check(wire.validate("CreateTrainingJob", request), caller=caller)

    def _warm_start(
        self, session: Session, config: dict[str, Any] | None, *, caller: Caller
    ) -> builtins.list[dict[str, Any]]:
        """The parents' trials that reported an objective, to seed the optimizer with."""
        if config is None:
            return []
        parents = config["ParentHyperParameterTuningJobs"]
        if not 1 <= len(parents) <= MAX_WARM_START_PARENTS:
            raise ValidationError(f"WarmStartConfig takes 1 to {MAX_WARM_START_PARENTS} parent tuning jobs.")
        seeds: builtins.list[dict[str, Any]] = []
        for parent_ref in parents:
            parent = repository.get(
                session, account_id=caller.account_id, name=parent_ref["HyperParameterTuningJobName"]
            )
            if parent is None or parent.status not in ENDED:
                missing = parent_ref["HyperParameterTuningJobName"]
                raise ValidationError(f"Parent tuning job {missing} must exist and have ended.")
            seeds += [
                {
                    "definition": t.definition,
                    "tuned": t.tuned,
                    "value": t.objective,
                    "name": t.training_job_name,
                    "arn": t.training_job_arn,
                    "tuning_job": parent.name,
                    "status": t.status,
                    "created": t.creation_time.timestamp(),
                }
                for t in repository.trials(session, parent.id)
                if t.objective_status == "Succeeded" and t.objective is not None
            ]
        return seeds
