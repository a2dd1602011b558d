"""A CreateTrainingJob request, parsed once: frozen, typed, snake_case values.

The scheduler, the runtime and the repositories read these fields; nothing below the API reads the
PascalCase request dict. The request itself is still kept on the job as sent (with SageMaker's defaults
filled in), because DescribeTrainingJob echoes members we never interpret (VpcConfig, DebugHookConfig, …);
that echo is the only place the wire shape is rebuilt. `from_request` takes a request that was validated
against botocore's model and passed `schemas.with_defaults`, so every member it reads is well-formed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

DEFAULT_INPUT_MODE = "File"


@dataclass(frozen=True, slots=True)
class ResourceSpec:
    """ResourceConfig: `instance_count` identical instances of `instance_type`, each with its volume."""

    instance_type: str
    instance_count: int
    volume_size_gib: float


@dataclass(frozen=True, slots=True)
class S3Source:
    """A channel's S3DataSource."""

    uri: str
    data_type: str  # S3Prefix | ManifestFile | AugmentedManifestFile
    distribution: str  # FullyReplicated | ShardedByS3Key


@dataclass(frozen=True, slots=True)
class ChannelSpec:
    """One InputDataConfig channel. `s3` is None for data sources other than S3 (refused at download)."""

    name: str
    s3: S3Source | None
    content_type: str | None
    input_mode: str
    compression: str
    record_wrapper: str


@dataclass(frozen=True, slots=True)
class MetricDefinition:
    """A MetricDefinitions entry: the regex's first group, found in a log line, is the metric's value."""

    name: str
    regex: str


@dataclass(frozen=True, slots=True)
class AlgorithmSpec:
    """AlgorithmSpecification: exactly one of `training_image` and `algorithm_name` is set."""

    training_image: str | None
    algorithm_name: str | None
    input_mode: str
    metric_definitions: tuple[MetricDefinition, ...]
    container_entrypoint: tuple[str, ...]
    container_arguments: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class OutputSpec:
    """OutputDataConfig: artifacts go under `s3_output_path`, gzipped unless CompressionType is NONE."""

    s3_output_path: str
    compress: bool


@dataclass(frozen=True, slots=True)
class CheckpointSpec:
    """CheckpointConfig: synced with the VM's checkpoint directory before and after training."""

    s3_uri: str
    local_path: str | None


@dataclass(frozen=True, slots=True)
class TrainingJobSpec:
    """What a training job asks for, as the service acts on it, and the account it acts for (whose
    buckets its channels, checkpoints and artifacts must be in)."""

    account_id: str
    name: str
    algorithm: AlgorithmSpec
    resources: ResourceSpec
    channels: tuple[ChannelSpec, ...]
    output: OutputSpec
    hyperparameters: Mapping[str, str]
    environment: Mapping[str, str]
    max_runtime_seconds: int
    checkpoint: CheckpointSpec | None
    max_retry_attempts: int
    # EnableNetworkIsolation: the job's VMs reach each other and nothing else (OCI isolation).
    network_isolation: bool = False


def from_request(request: Mapping[str, Any], *, account_id: str) -> TrainingJobSpec:
    """The typed spec of a validated CreateTrainingJob request (defaults filled in) the account made."""
    algorithm = _algorithm(request["AlgorithmSpecification"])
    resources = request["ResourceConfig"]
    output = request["OutputDataConfig"]
    checkpoint = request.get("CheckpointConfig")
    return TrainingJobSpec(
        account_id=account_id,
        name=request["TrainingJobName"],
        algorithm=algorithm,
        resources=ResourceSpec(
            instance_type=resources["InstanceType"],
            instance_count=resources["InstanceCount"],
            volume_size_gib=float(resources.get("VolumeSizeInGB", 1)),
        ),
        channels=tuple(_channel(c, algorithm.input_mode) for c in request.get("InputDataConfig", ())),
        output=OutputSpec(
            s3_output_path=output["S3OutputPath"],
            compress=output.get("CompressionType", "GZIP") != "NONE",
        ),
        hyperparameters=_frozen(request.get("HyperParameters")),
        environment=_frozen(request.get("Environment")),
        max_runtime_seconds=request["StoppingCondition"]["MaxRuntimeInSeconds"],
        checkpoint=(
            CheckpointSpec(s3_uri=checkpoint["S3Uri"], local_path=checkpoint.get("LocalPath"))
            if checkpoint
            else None
        ),
        max_retry_attempts=request.get("RetryStrategy", {}).get("MaximumRetryAttempts", 0),
        network_isolation=bool(request.get("EnableNetworkIsolation", False)),
    )


def _algorithm(algorithm: Mapping[str, Any]) -> AlgorithmSpec:
    return AlgorithmSpec(
        training_image=algorithm.get("TrainingImage"),
        algorithm_name=algorithm.get("AlgorithmName"),
        input_mode=algorithm.get("TrainingInputMode", DEFAULT_INPUT_MODE),
        metric_definitions=tuple(
            MetricDefinition(name=d["Name"], regex=d["Regex"]) for d in algorithm.get("MetricDefinitions", ())
        ),
        container_entrypoint=tuple(algorithm.get("ContainerEntrypoint", ())),
        container_arguments=tuple(algorithm.get("ContainerArguments", ())),
    )


def _channel(channel: Mapping[str, Any], default_mode: str) -> ChannelSpec:
    s3 = channel["DataSource"].get("S3DataSource")
    return ChannelSpec(
        name=channel["ChannelName"],
        s3=(
            S3Source(
                uri=s3["S3Uri"],
                data_type=s3["S3DataType"],
                distribution=s3.get("S3DataDistributionType", "FullyReplicated"),
            )
            if s3 is not None
            else None
        ),
        content_type=channel.get("ContentType"),
        input_mode=channel.get("InputMode", default_mode),
        compression=channel.get("CompressionType", "None"),
        record_wrapper=channel.get("RecordWrapperType", "None"),
    )


def _frozen(values: Mapping[str, str] | None) -> Mapping[str, str]:
    return MappingProxyType(dict(values or {}))
