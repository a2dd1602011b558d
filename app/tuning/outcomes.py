"""What a finished training job means to its tuning job, and the counters and summaries Describe shows.

Pure over plain values: the tuner reads the child's row and passes what it needs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.db.models import TuningTrial

# Failures the user's code or request caused; others (capacity, the service's own) may pass on retry.
NON_RETRYABLE_PREFIXES = ("AlgorithmError", "ClientError")


@dataclass(frozen=True, slots=True)
class Outcome:
    status: str
    objective: float | None
    objective_status: str
    retryable: bool


def outcome(
    *, status: str, final_metrics: Sequence[Mapping[str, Any]] | None, metric: str, failure: str | None
) -> Outcome:
    """A finished child's status, objective (its final value of the objective metric) and whether a
    failure is one SageMaker calls retryable."""
    value = next((float(m["Value"]) for m in final_metrics or [] if m["MetricName"] == metric), None)
    if status == "Failed":
        retryable = not (failure or "").startswith(NON_RETRYABLE_PREFIXES)
        return Outcome(status, None, "Failed", retryable)
    return Outcome(status, value, "Succeeded" if value is not None else "Failed", False)


def status_counters(trials: Sequence[TuningTrial]) -> dict[str, int]:
    counters = {"Completed": 0, "InProgress": 0, "RetryableError": 0, "NonRetryableError": 0, "Stopped": 0}
    for trial in trials:
        if trial.status == "Failed":
            counters["RetryableError" if trial.retryable else "NonRetryableError"] += 1
        else:
            counters[trial.status] += 1
    return counters


def objective_counters(trials: Sequence[TuningTrial]) -> dict[str, int]:
    counters = {"Succeeded": 0, "Pending": 0, "Failed": 0}
    for trial in trials:
        counters[trial.objective_status] += 1
    return counters


def best(trials: Sequence[TuningTrial], *, minimize: bool) -> TuningTrial | None:
    scored = [t for t in trials if t.objective_status == "Succeeded" and t.objective is not None]
    if not scored:
        return None
    key = (lambda t: (t.objective, t.number)) if minimize else (lambda t: (-(t.objective or 0.0), t.number))
    return min(scored, key=key)


def succeeded_in_order(trials: Sequence[TuningTrial]) -> list[float]:
    """The objectives of the trials that produced one, in the order they finished."""
    ended = [t for t in trials if t.objective_status == "Succeeded" and t.objective is not None]
    ended.sort(key=lambda t: (t.training_end_time is None, t.training_end_time, t.number))
    return [t.objective for t in ended if t.objective is not None]


def summary(
    trial: TuningTrial, *, tuning_job_name: str, definition_name: str | None, metric: str, minimize: bool
) -> dict[str, Any]:
    """HyperParameterTrainingJobSummary of one trial."""
    out: dict[str, Any] = {
        "TrainingJobName": trial.training_job_name,
        "TrainingJobArn": trial.training_job_arn,
        "TuningJobName": tuning_job_name,
        "CreationTime": trial.creation_time,
        "TrainingJobStatus": trial.status,
        "TunedHyperParameters": dict(trial.tuned),
        "ObjectiveStatus": trial.objective_status,
    }
    optional = {
        "TrainingJobDefinitionName": definition_name,
        "TrainingStartTime": trial.training_start_time,
        "TrainingEndTime": trial.training_end_time,
        "FailureReason": trial.failure_reason,
    }
    out |= {key: value for key, value in optional.items() if value is not None}
    if trial.objective is not None:
        out["FinalHyperParameterTuningJobObjectiveMetric"] = {
            "Type": "Minimize" if minimize else "Maximize",
            "MetricName": metric,
            "Value": trial.objective,
        }
    return out
