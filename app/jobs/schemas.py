"""Wire shapes of training jobs: request defaults applied at create, and the Describe / summary dicts.

Timestamps stay datetimes here; each surface renders them (epoch seconds on the AWS API, ISO 8601 on REST).
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
from typing import Any

from sqlalchemy import Row

from app.db.models import TrainingJob
from app.jobs import billing
from app.storage import artifact_layout
from app.training import builtin_algorithms
from app.wire import model

DEFAULT_MAX_RUNTIME_SECONDS = 86400

# Members SageMaker fills in when the request leaves them out, so Describe shows what really applies.
_BOOLEAN_DEFAULTS = (
    "EnableNetworkIsolation",
    "EnableInterContainerTrafficEncryption",
    "EnableManagedSpotTraining",
)


def with_defaults(request: dict[str, Any]) -> dict[str, Any]:
    """A copy of a validated CreateTrainingJob request with SageMaker's defaults filled in."""
    stored = copy.deepcopy(request)
    stored.pop("Tags", None)  # tags live in the tag store, not on the job
    stored.setdefault("HyperParameters", {})
    stopping = stored.setdefault("StoppingCondition", {})
    stopping.setdefault("MaxRuntimeInSeconds", DEFAULT_MAX_RUNTIME_SECONDS)
    output = stored["OutputDataConfig"]
    output.setdefault("KmsKeyId", "")
    output.setdefault("CompressionType", "GZIP")
    if "AlgorithmSpecification" in stored:
        stored["AlgorithmSpecification"] = algorithm_with_defaults(stored["AlgorithmSpecification"])
    for channel in stored.get("InputDataConfig", []):
        channel.setdefault("RecordWrapperType", "None")
        channel.setdefault("CompressionType", "None")
        s3 = channel.get("DataSource", {}).get("S3DataSource")
        if s3 is not None:
            s3.setdefault("S3DataDistributionType", "FullyReplicated")
    for name in _BOOLEAN_DEFAULTS:
        stored.setdefault(name, False)
    return stored


@functools.cache
def _describe_members() -> frozenset[str]:
    return frozenset(model.service_model().operation_model("DescribeTrainingJob").output_shape.members)


def describe(job: TrainingJob | Row[Any]) -> dict[str, Any]:
    """DescribeTrainingJobResponse for one job, echoing every request member Describe knows."""
    echoed = _describe_members()
    out: dict[str, Any] = {key: value for key, value in job.request.items() if key in echoed}
    times = billing.reported(
        training_start=job.training_start_time,
        training_end=job.training_end_time,
        billable_seconds=job.billable_seconds,
    )
    out |= {
        "TrainingJobName": job.name,
        "TrainingJobArn": job.arn,
        "TrainingJobStatus": job.status,
        "SecondaryStatus": job.secondary_status,
        "CreationTime": job.creation_time,
        "LastModifiedTime": job.last_modified_time,
        "SecondaryStatusTransitions": [_transition(row) for row in job.transitions],
    }
    optional = {
        "FailureReason": job.failure_reason,
        "TrainingStartTime": job.training_start_time,
        "TrainingEndTime": job.training_end_time,
        "FinalMetricDataList": job.final_metrics,
        "BillableTimeInSeconds": times.billable_seconds,
        "TrainingTimeInSeconds": times.training_seconds,
    }
    out |= {key: value for key, value in optional.items() if value is not None}
    # Required by botocore's output shape: the path the model will have until it has one.
    out["ModelArtifacts"] = {"S3ModelArtifacts": job.model_artifacts or _future_model(job.request)}
    return out


def _future_model(request: dict[str, Any]) -> str:
    compressed = request.get("OutputDataConfig", {}).get("CompressionType", "GZIP") != "NONE"
    output_path, name = request["OutputDataConfig"]["S3OutputPath"], request["TrainingJobName"]
    return str(artifact_layout.model_artifacts(output_path, name, compressed=compressed))


def summary(row: Any) -> dict[str, Any]:
    """TrainingJobSummary from a row holding the listed columns."""
    out = {
        "TrainingJobName": row.name,
        "TrainingJobArn": row.arn,
        "CreationTime": row.creation_time,
        "LastModifiedTime": row.last_modified_time,
        "TrainingJobStatus": row.status,
        "SecondaryStatus": row.secondary_status,
    }
    if row.training_end_time is not None:
        out["TrainingEndTime"] = row.training_end_time
    return out


def _transition(row: dict[str, Any]) -> dict[str, Any]:
    out = {**row, "StartTime": _from_epoch(row["StartTime"])}
    if "EndTime" in row:
        out["EndTime"] = _from_epoch(row["EndTime"])
    return out


def _from_epoch(value: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(value, tz=dt.UTC)


def algorithm_with_defaults(algorithm: dict[str, Any]) -> dict[str, Any]:
    """An AlgorithmSpecification as SageMaker describes it: a built-in's metrics are defined."""
    described = {"EnableSageMakerMetricsTimeSeries": False} | algorithm
    builtin = builtin_algorithms.resolve(
        training_image=algorithm.get("TrainingImage"), algorithm_name=algorithm.get("AlgorithmName")
    )
    if builtin is not None and not algorithm.get("MetricDefinitions"):
        described["MetricDefinitions"] = builtin.metric_definitions()
    return described
