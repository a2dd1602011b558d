"""A VM's view of its job: the CreateTrainingJob request turned into the contract's `VmSpec`."""

from __future__ import annotations

from typing import Any

from app.runtime import contract


def from_request(
    request: dict[str, Any],
    *,
    job_name: str,
    job_arn: str,
    host: str,
    hosts: tuple[str, ...],
    instance_type: str,
    vcpus: float,
    gpus: int,
    memory_gib: float,
) -> contract.VmSpec:
    algorithm = request.get("AlgorithmSpecification", {})
    input_mode = algorithm.get("TrainingInputMode", "File")
    return contract.VmSpec(
        job_name=job_name,
        job_arn=job_arn,
        host=host,
        hosts=hosts,
        instance_type=instance_type,
        vcpus=max(1, int(vcpus)),
        gpus=gpus,
        memory_mib=int(memory_gib * 1024),
        hyperparameters=request.get("HyperParameters", {}),
        channels=tuple(_channel(c, input_mode) for c in request.get("InputDataConfig", [])),
        environment=request.get("Environment", {}),
        training_image=algorithm.get("TrainingImage"),
        algorithm_name=algorithm.get("AlgorithmName"),
        training_input_mode=input_mode,
        container_entrypoint=tuple(algorithm.get("ContainerEntrypoint", ())),
        container_arguments=tuple(algorithm.get("ContainerArguments", ())),
    )


def _channel(channel: dict[str, Any], input_mode: str) -> contract.ChannelSpec:
    s3 = channel["DataSource"].get("S3DataSource", {})
    return contract.ChannelSpec(
        name=channel["ChannelName"],
        content_type=channel.get("ContentType"),
        input_mode=channel.get("InputMode", input_mode),
        distribution=s3.get("S3DataDistributionType", "FullyReplicated"),
        record_wrapper=channel.get("RecordWrapperType", "None"),
    )
