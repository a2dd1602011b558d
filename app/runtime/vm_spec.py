"""A VM's view of its job: the typed job spec turned into the contract's `VmSpec`."""

from __future__ import annotations

from app.jobs import spec
from app.runtime import contract


def for_vm(
    job: spec.TrainingJobSpec,
    *,
    job_arn: str,
    host: str,
    hosts: tuple[str, ...],
    instance_type: str,
    vcpus: float,
    gpus: int,
    memory_gib: float,
) -> contract.VmSpec:
    algorithm = job.algorithm
    return contract.VmSpec(
        job_name=job.name,
        job_arn=job_arn,
        host=host,
        hosts=hosts,
        instance_type=instance_type,
        vcpus=max(1, int(vcpus)),
        gpus=gpus,
        memory_mib=int(memory_gib * 1024),
        hyperparameters=dict(job.hyperparameters),
        channels=tuple(_channel(c) for c in job.channels),
        environment=dict(job.environment),
        training_image=algorithm.training_image,
        algorithm_name=algorithm.algorithm_name,
        training_input_mode=algorithm.input_mode,
        container_entrypoint=algorithm.container_entrypoint,
        container_arguments=algorithm.container_arguments,
    )


def _channel(channel: spec.ChannelSpec) -> contract.ChannelSpec:
    return contract.ChannelSpec(
        name=channel.name,
        content_type=channel.content_type,
        input_mode=channel.input_mode,
        distribution=channel.s3.distribution if channel.s3 else "FullyReplicated",
        record_wrapper=channel.record_wrapper,
    )
