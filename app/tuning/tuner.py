"""The tuner: load each active tuning job → decide (optimizer, stopping rules, completion) → apply.

Every trial is an ordinary training job created through the jobs service for the tuning job's account,
placed by the normal scheduler; the tuner holds no capacity itself and never has more than
MaxParallelTrainingJobs children unfinished. A trial's row is written before its training job is
created, under a name derived from the tuning job and the trial number, so a restart between the two
creates the same job, once. All state is in the database: a restarted server resumes every tuning job.

One thread waits on the `TunerDoorbell`. A create or a stop runs `tick()` over every active tuning job,
and so does every `interval` seconds without a ring (to read running trials' metrics for early stopping).
A training job that ends advances only the tuning job it is a trial of (recording the end and launching
the next trial in the same pass), found in memory by the ending job's ARN: a training job of no tuning job
wakes none. Tests call `tick()`, `advance_trials_of()` or `run_until_idle()`.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy.orm import Session, sessionmaker

from app.auth.caller import Caller
from app.clock import Clock
from app.db.models import TrainingJob, TuningJob, TuningTrial
from app.errors import ServiceError
from app.jobs import metric_repository
from app.jobs import repository as job_repository
from app.jobs.service import Identity
from app.jobs.status import TERMINAL
from app.tuning import completion, median_stopping, outcomes, repository, spec
from app.tuning.doorbell import TunerDoorbell

if TYPE_CHECKING:
    from app.tuning.optimizer import PastTrial

logger = logging.getLogger(__name__)

IDLE_PASSES_LIMIT = 1000
# A tuning job whose first trials all fail would only fail again: it fails after this many.
FAIL_FAST_TRIALS = 3
TUNER_ACCESS_KEY = "sagelite-tuner"


class ChildJobs(Protocol):
    """The training-job service, as far as the tuner uses it."""

    def create(
        self, request: dict[str, Any], *, caller: Caller, tuning_job_arn: str | None = None
    ) -> dict[str, Any]: ...

    def stop(self, name: str, *, caller: Caller) -> None: ...


class Tuner:
    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        jobs: ChildJobs,
        identity: Identity,
        doorbell: TunerDoorbell,
        clock: Clock,
        interval_seconds: float,
        is_leader: Callable[[], bool] = lambda: True,
    ) -> None:
        # Only the replica that leads (and runs the scheduler) tunes: one tuner per database.
        self._is_leader = is_leader
        self._sessions = sessions
        self._jobs = jobs
        self._identity = identity
        self._doorbell = doorbell
        # The running trials' training-job ARNs → their tuning job's id, as the last passes read them.
        self._owners: dict[str, int] = {}
        self._clock = clock
        self._interval = interval_seconds
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="tuner", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._closing.set()
        self._doorbell.ring_all()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._closing.is_set():
            rings = self._doorbell.wait(timeout=self._interval)
            if self._closing.is_set():
                return
            try:
                if self._is_leader() and rings.everything:
                    self.tick()
                elif self._is_leader():
                    self.advance_trials_of(rings.ended)
            except Exception:
                logger.exception("tuner pass failed")

    def run_until_idle(self) -> int:
        """Pass after pass until one changes nothing; returns how many passes changed something."""
        for busy in range(IDLE_PASSES_LIMIT):
            if not self.tick():
                return busy
        raise RuntimeError(f"the tuner was still busy after {IDLE_PASSES_LIMIT} passes")

    def tick(self) -> bool:
        """One pass over every active tuning job; True if any of them changed."""
        with self._sessions() as session:
            ids = repository.active_ids_of_all_accounts(session)
        changed = False
        for job_id in ids:
            try:
                changed |= self._advance(job_id)
            except Exception:
                logger.exception("tuning job pass failed", extra={"tuning_job_id": job_id})
        return changed

    def advance_trials_of(self, training_job_arns: Iterable[str]) -> bool:
        """A pass over only the tuning jobs these (ended) training jobs are trials of; True if any changed.
        A training job no pass has seen running as a trial (of no tuning job) advances none."""
        changed = False
        for job_id in {self._owners[arn] for arn in training_job_arns if arn in self._owners}:
            try:
                changed |= self._advance(job_id)
            except Exception:
                logger.exception("tuning job pass failed", extra={"tuning_job_id": job_id})
        return changed

    # -- one tuning job ----------------------------------------------------------------------------

    def _advance(self, job_id: int) -> bool:
        with self._sessions.begin() as session:
            job = repository.get_by_id(session, job_id)
            if job is None:
                return False
            tuning = spec.from_request(job.request)
            caller = Caller(job.account_id, TUNER_ACCESS_KEY, is_admin=job.by_admin)
            trials = repository.trials(session, job_id)
            changed, to_stop, to_create = self._sync(session, job, tuning, trials)
            self._remember_owners(trials)
        for name in to_stop:
            self._stop_child(name, caller)
        for trial_name, request in to_create:
            changed |= self._create_child(job_id, trial_name, request, caller)
        return self._decide(job_id) or changed

    def _sync(
        self, session: Session, job: TuningJob, tuning: spec.TuningSpec, trials: list[TuningTrial]
    ) -> tuple[bool, list[str], list[tuple[str, dict[str, Any]]]]:
        """Bring running trials up to date with their training jobs; which children to stop, and which
        trials still lack their training job (a restart came between the two writes)."""
        changed, to_stop, to_create = False, [], []
        for trial in trials:
            if trial.status != "InProgress":
                continue
            child = job_repository.get(session, account_id=job.account_id, name=trial.training_job_name)
            definition = tuning.definitions[trial.definition]
            if child is None:
                request = definition.training_request(job_name=trial.training_job_name, tuned=trial.tuned)
                to_create.append((trial.training_job_name, request))
                continue
            if child.status in TERMINAL:
                _record_end(trial, child, metric=definition.objective.metric)
                # The whole series, for the median rule of later trials (this one may have ended unseen).
                trial.intermediate = _series(session, job, child, definition.objective.metric)
                changed = True
                continue
            trial.training_start_time = child.training_start_time
            if job.status == "InProgress" and self._should_stop_early(
                session, job, tuning, trials, trial, child
            ):
                to_stop.append(child.name)
                changed = True
        return changed, to_stop, to_create

    def _remember_owners(self, trials: list[TuningTrial]) -> None:
        for trial in trials:
            if trial.status == "InProgress":
                self._owners[trial.training_job_arn] = trial.tuning_job_id
            else:
                self._owners.pop(trial.training_job_arn, None)

    def _should_stop_early(
        self,
        session: Session,
        job: TuningJob,
        tuning: spec.TuningSpec,
        trials: list[TuningTrial],
        trial: TuningTrial,
        child: TrainingJob,
    ) -> bool:
        if trial.early_stopped or not (tuning.early_stopping or tuning.hyperband):
            return False
        metric = tuning.definitions[trial.definition].objective.metric
        series = _series(session, job, child, metric)
        if len(series) <= len(trial.intermediate):
            return False  # no new epoch since the last look
        trial.intermediate = series
        if tuning.hyperband is not None:
            from app.tuning import hyperband  # optuna (and numpy) load when a tuning job first needs them

            history = [_past(t) for t in trials]
            decision = hyperband.decide(spec=tuning, history=history, number=trial.number, study_name=job.arn)
            trial.pruner_state = decision.pruner_state
            stop = decision.stop
        else:
            previous = [t.intermediate for t in trials if t.number < trial.number and t.intermediate]
            stop = median_stopping.should_stop(current=series, previous=previous, minimize=tuning.minimize)
        trial.early_stopped = stop
        return stop

    def _decide(self, job_id: int) -> bool:
        """Stop, finish or launch: what the tuning job's criteria say now."""
        with self._sessions.begin() as session:
            job = repository.get_by_id(session, job_id)
            if job is None or job.status not in repository.ACTIVE:
                return False
            tuning = spec.from_request(job.request)
            trials = repository.trials(session, job_id)
            running = [t for t in trials if t.status == "InProgress"]
            reason = self._verdict(job, tuning, trials)
            ending = job.status == "Stopping" or reason is not None
            if ending and not running:
                return self._finish(session, job, tuning, trials, reason)
            caller = Caller(job.account_id, TUNER_ACCESS_KEY, is_admin=job.by_admin)
            if ending:
                # The whole budget launched: let the last trials finish, unless the user stops the job.
                keep_running = job.status != "Stopping" and reason is completion.Reason.BUDGET
                names = [] if keep_running else [t.training_job_name for t in running]
            else:
                names = []
                new = self._launch(session, job, tuning, trials, slots=tuning.max_parallel - len(running))
        stopped = [self._stop_child(name, caller) for name in names]
        if ending:
            return any(stopped)
        for trial in new:
            request = tuning.definitions[trial.definition].training_request(
                job_name=trial.training_job_name, tuned=trial.tuned
            )
            self._create_child(job_id, trial.training_job_name, request, caller)
        return bool(new)

    def _verdict(
        self, job: TuningJob, tuning: spec.TuningSpec, trials: list[TuningTrial]
    ) -> completion.Reason | None:
        elapsed = (self._clock() - job.creation_time).total_seconds()
        progress = completion.Progress(
            launched=len(trials),
            elapsed_seconds=elapsed,
            minimize=tuning.minimize,
            objectives=outcomes.succeeded_in_order(trials),
        )
        return completion.verdict(tuning.criteria, progress)

    def _launch(
        self,
        session: Session,
        job: TuningJob,
        tuning: spec.TuningSpec,
        trials: list[TuningTrial],
        *,
        slots: int,
    ) -> list[TuningTrial]:
        ended = [t for t in trials if t.status != "InProgress"]
        if len(ended) >= FAIL_FAST_TRIALS and all(t.objective_status == "Failed" for t in ended):
            return []  # _finish fails the job once nothing runs
        budget = tuning.criteria.max_jobs - len(trials)
        from app.tuning.optimizer import suggest  # optuna (and numpy) load when first needed

        history = [*_warm_history(job), *(_past(t) for t in trials)]
        now = self._clock()
        new: list[TuningTrial] = []
        for number in range(len(trials) + 1, len(trials) + 1 + max(0, min(slots, budget))):
            suggestion = suggest(spec=tuning, history=history, number=number, seed=job.seed)
            name = child_name(job.name, job.arn, number)
            trial = TuningTrial(
                tuning_job_id=job.id,
                number=number,
                definition=suggestion.definition,
                training_job_name=name,
                training_job_arn=self._identity.training_job_arn(account_id=job.account_id, name=name),
                tuned=suggestion.tuned,
                status="InProgress",
                objective_status="Pending",
                retryable=False,
                early_stopped=False,
                intermediate=[],
                pruner_state={},
                creation_time=now,
            )
            repository.add_trial(session, trial)
            self._owners[trial.training_job_arn] = job.id
            history.append(_past(trial))
            new.append(trial)
        return new

    def _finish(
        self,
        session: Session,
        job: TuningJob,
        tuning: spec.TuningSpec,
        trials: list[TuningTrial],
        reason: completion.Reason | None,
    ) -> bool:
        now = self._clock()
        values: dict[str, Any] = {"last_modified_time": now, "end_time": now}
        objectives = outcomes.succeeded_in_order(trials)
        if job.status == "Stopping":
            values["status"] = "Stopped"
        elif trials and not objectives:
            values["status"] = "Failed"
            last = trials[-1].failure_reason or "no training job reported the objective metric"
            values["failure_reason"] = f"All training jobs failed; the last one: {last}"[:1024]
        else:
            values["status"] = "Completed"
        details: dict[str, Any] = {
            "NumberOfTrainingJobsObjectiveNotImproving": completion.jobs_not_improving(
                objectives, minimize=tuning.minimize
            )
        }
        if reason is completion.Reason.CONVERGED:
            details["ConvergenceDetectedTime"] = now.timestamp()
        values["completion_details"] = details
        done = repository.set_status(session, job_id=job.id, expected=job.status, values=values)
        logger.info("tuning job ended", extra={"tuning_job": job.name, "status": values["status"]})
        return done

    def _stop_child(self, name: str, caller: Caller) -> bool:
        """Ask a child to stop; False if it is stopping or ended already (the next pass records how)."""
        try:
            self._jobs.stop(name, caller=caller)
        except ServiceError:
            return False
        return True

    def _create_child(self, job_id: int, name: str, request: dict[str, Any], caller: Caller) -> bool:
        with self._sessions() as session:
            job = repository.get_by_id(session, job_id)
            arn = job.arn if job is not None else ""
        try:
            self._jobs.create(request, caller=caller, tuning_job_arn=arn)
        except ServiceError as error:
            if error.code == "ResourceInUse":
                return False  # created before a restart
            self._fail_trial(job_id, name, f"ClientError: {error.message}")
        return True

    def _fail_trial(self, job_id: int, name: str, reason: str) -> None:
        with self._sessions.begin() as session:
            for trial in repository.trials(session, job_id):
                if trial.training_job_name == name:
                    trial.status, trial.objective_status = "Failed", "Failed"
                    trial.failure_reason = reason[:1024]
                    trial.training_end_time = self._clock()


def child_name(tuning_name: str, tuning_arn: str, number: int) -> str:
    """`<tuning-name>-<NNN>-<8 hex>` as SageMaker names them; the hex is derived, so it is stable."""
    digest = hashlib.sha256(f"{tuning_arn}/{number}".encode()).hexdigest()[:8]
    return f"{tuning_name}-{number:03d}-{digest}"


def _series(session: Session, job: TuningJob, child: TrainingJob, metric: str) -> list[float]:
    """The objective's values in the order the child's log reported them: one per epoch."""
    points = metric_repository.of_job(session, account_id=job.account_id, job_id=child.id)
    return [p.value for p in points if p.name == metric]


def _record_end(trial: TuningTrial, child: TrainingJob, *, metric: str) -> None:
    result = outcomes.outcome(
        status=child.status, final_metrics=child.final_metrics, metric=metric, failure=child.failure_reason
    )
    trial.status, trial.objective, trial.objective_status = (
        result.status,
        result.objective,
        result.objective_status,
    )
    trial.retryable = result.retryable
    trial.failure_reason = child.failure_reason
    trial.training_start_time = child.training_start_time
    trial.training_end_time = child.training_end_time
    trial.billable_seconds = child.billable_seconds


def _past(trial: TuningTrial) -> PastTrial:
    from app.tuning.optimizer import PastTrial

    return PastTrial(
        definition=trial.definition,
        tuned=trial.tuned,
        value=trial.objective,
        finished=trial.status != "InProgress",
        intermediate=tuple(trial.intermediate),
        pruner_state=trial.pruner_state,
    )


def _warm_history(job: TuningJob) -> list[PastTrial]:
    from app.tuning.optimizer import PastTrial

    return [
        PastTrial(definition=p["definition"], tuned=p["tuned"], value=p["value"], finished=True)
        for p in job.warm_start
    ]
