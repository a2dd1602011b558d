"""Wire shapes of tuning jobs: the Describe and summary dicts (timestamps stay datetimes here)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from app.db.models import TuningJob, TuningTrial
from app.jobs.schemas import algorithm_with_defaults
from app.tuning import outcomes
from app.tuning.spec import Definition, TuningSpec

RANGE_KINDS = ("IntegerParameterRanges", "ContinuousParameterRanges", "CategoricalParameterRanges")
ECHOED = (
    "HyperParameterTuningJobConfig",
    "TrainingJobDefinition",
    "TrainingJobDefinitions",
    "WarmStartConfig",
)


def describe(
    job: TuningJob, trials: Sequence[TuningTrial], tuning: TuningSpec, *, now: dt.datetime
) -> dict[str, Any]:
    """DescribeHyperParameterTuningJobResponse."""
    out: dict[str, Any] = {key: job.request[key] for key in ECHOED if key in job.request}
    out["HyperParameterTuningJobConfig"] = _config_as_described(out["HyperParameterTuningJobConfig"])
    if "TrainingJobDefinition" in out:
        out["TrainingJobDefinition"] = _as_described(out["TrainingJobDefinition"], tuning.definitions[0])
    if "TrainingJobDefinitions" in out:
        out["TrainingJobDefinitions"] = [
            _as_described(raw, definition)
            for raw, definition in zip(out["TrainingJobDefinitions"], tuning.definitions, strict=True)
        ]
    out |= {
        "HyperParameterTuningJobName": job.name,
        "HyperParameterTuningJobArn": job.arn,
        "HyperParameterTuningJobStatus": job.status,
        "CreationTime": job.creation_time,
        "LastModifiedTime": job.last_modified_time,
        "TrainingJobStatusCounters": outcomes.status_counters(trials),
        "ObjectiveStatusCounters": outcomes.objective_counters(trials),
        "ConsumedResources": {
            "RuntimeInSeconds": round(((job.end_time or now) - job.creation_time).total_seconds())
        },
    }
    if job.end_time is not None:
        out["HyperParameterTuningEndTime"] = job.end_time
    if job.failure_reason:
        out["FailureReason"] = job.failure_reason
    if job.completion_details:
        details = dict(job.completion_details)
        if "ConvergenceDetectedTime" in details:
            details["ConvergenceDetectedTime"] = dt.datetime.fromtimestamp(
                details["ConvergenceDetectedTime"], dt.UTC
            )
        out["TuningJobCompletionDetails"] = details
    best = outcomes.best(trials, minimize=tuning.minimize)
    if best is not None:
        out["BestTrainingJob"] = trial_summary(job, best, tuning)
    overall = _overall_best(job, best, tuning)
    if overall is not None:
        out["OverallBestTrainingJob"] = overall
    return out


def _as_described(raw: dict[str, Any], definition: Definition) -> dict[str, Any]:
    """The definition as sent, with what its trials get as SageMaker describes it: the static
    hyperparameters (SageMaker's own too), the ResourceConfig (also when the tuning form was sent) and a
    built-in's MetricDefinitions. The SDK's HyperparameterTuner.attach() reads all three to rebuild its
    estimator."""
    return raw | {
        "StaticHyperParameters": dict(definition.static),
        "ResourceConfig": definition.request["ResourceConfig"],
        "AlgorithmSpecification": algorithm_with_defaults(raw["AlgorithmSpecification"]),
    }


def _config_as_described(config: dict[str, Any]) -> dict[str, Any]:
    """The config as sent, with the defaults SageMaker describes (HyperparameterTuner.attach() reads
    them without looking first)."""
    described = {"TrainingJobEarlyStoppingType": "Off"} | config
    if "ParameterRanges" in config:
        described["ParameterRanges"] = {kind: [] for kind in RANGE_KINDS} | config["ParameterRanges"]
    return described


def trial_summary(job: TuningJob, trial: TuningTrial, tuning: TuningSpec) -> dict[str, Any]:
    definition = tuning.definitions[trial.definition]
    return outcomes.summary(
        trial,
        tuning_job_name=job.name,
        definition_name=definition.name,
        metric=definition.objective.metric,
        minimize=tuning.minimize,
    )


def _overall_best(job: TuningJob, best: TuningTrial | None, tuning: TuningSpec) -> dict[str, Any] | None:
    """With a warm start, the best over this job and its parents."""
    if not job.warm_start:
        return None
    sign = 1.0 if tuning.minimize else -1.0
    parent = min(job.warm_start, key=lambda p: sign * p["value"])
    if best is not None and best.objective is not None and sign * best.objective <= sign * parent["value"]:
        return trial_summary(job, best, tuning)
    return {
        "TrainingJobName": parent["name"],
        "TrainingJobArn": parent["arn"],
        "TuningJobName": parent["tuning_job"],
        "CreationTime": dt.datetime.fromtimestamp(parent["created"], dt.UTC),
        "TrainingJobStatus": parent["status"],
        "TunedHyperParameters": parent["tuned"],
        "ObjectiveStatus": "Succeeded",
        "FinalHyperParameterTuningJobObjectiveMetric": {
            "Type": "Minimize" if tuning.minimize else "Maximize",
            "MetricName": tuning.definitions[0].objective.metric,
            "Value": parent["value"],
        },
    }


def summary(job: TuningJob, trials: Sequence[TuningTrial]) -> dict[str, Any]:
    """HyperParameterTuningJobSummary."""
    config = job.request["HyperParameterTuningJobConfig"]
    out: dict[str, Any] = {
        "HyperParameterTuningJobName": job.name,
        "HyperParameterTuningJobArn": job.arn,
        "HyperParameterTuningJobStatus": job.status,
        "Strategy": config["Strategy"],
        "CreationTime": job.creation_time,
        "LastModifiedTime": job.last_modified_time,
        "TrainingJobStatusCounters": outcomes.status_counters(trials),
        "ObjectiveStatusCounters": outcomes.objective_counters(trials),
        "ResourceLimits": config["ResourceLimits"],
    }
    if job.end_time is not None:
        out["HyperParameterTuningEndTime"] = job.end_time
    return out
