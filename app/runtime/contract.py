"""The SageMaker training-container contract, laid out under a VM's working directory (pure).

A real training container sees `/opt/ml`; a sagelite VM sees the same tree under its own `root`
(exported as `SAGEMAKER_BASE_DIR`, the variable the sagemaker-training toolkit honours for exactly this):

    input/config/hyperparameters.json   {name: str}, as CreateTrainingJob passed them
    input/config/resourceconfig.json    current_host, hosts, instance groups, network interface
    input/config/inputdataconfig.json   {channel: {ContentType, TrainingInputMode, ...}}
    input/config/trainingjobconfig.json the request's own view of the job (image, entry point, ...)
    input/data/<channel>/               the channel's files
    model/                              packaged into model.tar.gz, also after a stop
    output/data/                        packaged into output.tar.gz
    output/failure                      first line of the FailureReason
    checkpoints/  code/

The variables a container starts with (`SM_*`) are computed from the same spec in `sm_env`.
Imports nothing from `app`: the scheduler writes these files, the training child process reads them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

GROUP_NAME = "homogeneousCluster"
NETWORK_INTERFACE_NAME = "eth0"
_CHANNEL_NAME = re.compile(r"[A-Za-z0-9.\-_]+")


@dataclass(frozen=True, kw_only=True)
class ChannelSpec:
    """One input channel as the container sees it in inputdataconfig.json."""

    name: str
    content_type: str | None = None
    input_mode: str = "File"
    distribution: str = "FullyReplicated"
    record_wrapper: str = "None"

    def __post_init__(self) -> None:
        # The name becomes a directory: refuse anything that could step outside input/data.
        if not _CHANNEL_NAME.fullmatch(self.name) or self.name in {".", ".."}:
            raise ValueError(f"invalid channel name {self.name!r}")


@dataclass(frozen=True, kw_only=True)
class VmSpec:
    """Everything one VM (one SageMaker instance, `algo-N`) of a training job needs to start."""

    job_name: str
    job_arn: str
    host: str = "algo-1"
    hosts: tuple[str, ...] = ("algo-1",)
    instance_type: str
    vcpus: int
    gpus: int = 0
    memory_mib: int
    hyperparameters: Mapping[str, str] = field(default_factory=dict)
    channels: tuple[ChannelSpec, ...] = ()
    environment: Mapping[str, str] = field(default_factory=dict)
    training_image: str | None = None
    algorithm_name: str | None = None
    training_input_mode: str = "File"
    container_entrypoint: tuple[str, ...] = ()
    container_arguments: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.host not in self.hosts:
            raise ValueError(f"host {self.host!r} is not one of the job's hosts {list(self.hosts)}")
        if self.vcpus < 1 or self.gpus < 0 or self.memory_mib < 1:
            raise ValueError("a VM needs at least one vCPU, some memory and a non-negative GPU count")
        names = [channel.name for channel in self.channels]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate channel names in {names}")


@dataclass(frozen=True)
class Paths:
    """Every path of the contract under one VM's root."""

    root: Path
    input_dir: Path
    input_config_dir: Path
    input_data_dir: Path
    hyperparameters_file: Path
    resource_config_file: Path
    input_data_config_file: Path
    training_job_config_file: Path
    model_dir: Path
    output_dir: Path
    output_data_dir: Path
    output_intermediate_dir: Path
    failure_file: Path
    checkpoints_dir: Path
    code_dir: Path

    def channel_dir(self, name: str) -> Path:
        return self.input_data_dir / name


def hostnames(count: int) -> tuple[str, ...]:
    """SageMaker's host names for an instance count: algo-1 … algo-N."""
    return tuple(f"algo-{index}" for index in range(1, count + 1))


def layout(root: Path) -> Paths:
    config = root / "input" / "config"
    return Paths(
        root=root,
        input_dir=root / "input",
        input_config_dir=config,
        input_data_dir=root / "input" / "data",
        hyperparameters_file=config / "hyperparameters.json",
        resource_config_file=config / "resourceconfig.json",
        input_data_config_file=config / "inputdataconfig.json",
        training_job_config_file=config / "trainingjobconfig.json",
        model_dir=root / "model",
        output_dir=root / "output",
        output_data_dir=root / "output" / "data",
        output_intermediate_dir=root / "output" / "intermediate",
        failure_file=root / "output" / "failure",
        checkpoints_dir=root / "checkpoints",
        code_dir=root / "code",
    )


# --- the three files SageMaker writes (plus the job's own config) ---------------------------------


def resource_config(spec: VmSpec) -> dict[str, Any]:
    return {
        "current_host": spec.host,
        "current_instance_type": spec.instance_type,
        "current_group_name": GROUP_NAME,
        "hosts": list(spec.hosts),
        "instance_groups": [
            {
                "instance_group_name": GROUP_NAME,
                "instance_type": spec.instance_type,
                "hosts": list(spec.hosts),
            }
        ],
        "network_interface_name": NETWORK_INTERFACE_NAME,
    }


def input_data_config(spec: VmSpec) -> dict[str, dict[str, str]]:
    config: dict[str, dict[str, str]] = {}
    for channel in spec.channels:
        entry = {"ContentType": channel.content_type} if channel.content_type else {}
        entry |= {
            "TrainingInputMode": channel.input_mode,
            "S3DistributionType": channel.distribution,
            "RecordWrapperType": channel.record_wrapper,
        }
        config[channel.name] = entry
    return config


def training_job_config(spec: VmSpec) -> dict[str, Any]:
    """The request's view of the job; carries what the three SageMaker files have no room for."""
    algorithm: dict[str, Any] = {"TrainingInputMode": spec.training_input_mode}
    optional = {
        "TrainingImage": spec.training_image,
        "AlgorithmName": spec.algorithm_name,
        "ContainerEntrypoint": list(spec.container_entrypoint) or None,
        "ContainerArguments": list(spec.container_arguments) or None,
    }
    algorithm |= {key: value for key, value in optional.items() if value is not None}
    return {
        "TrainingJobName": spec.job_name,
        "TrainingJobArn": spec.job_arn,
        "AlgorithmSpecification": algorithm,
        "HyperParameters": dict(spec.hyperparameters),
        "Environment": dict(spec.environment),
        "ResourceConfig": {"InstanceType": spec.instance_type, "InstanceCount": len(spec.hosts)},
        "VmResources": {"VCpus": spec.vcpus, "Gpus": spec.gpus, "MemoryMiB": spec.memory_mib},
    }


def write_config(spec: VmSpec, root: Path) -> Paths:
    """Create the directory tree under `root` and write the configuration files; returns the layout."""
    paths = layout(root)
    channels = [paths.channel_dir(channel.name) for channel in spec.channels]
    for directory in (paths.input_config_dir, paths.model_dir, paths.output_data_dir, *channels):
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    for directory in (paths.checkpoints_dir, paths.code_dir):
        directory.mkdir(mode=0o700, exist_ok=True)
    _write_json(paths.hyperparameters_file, dict(spec.hyperparameters))
    _write_json(paths.resource_config_file, resource_config(spec))
    _write_json(paths.input_data_config_file, input_data_config(spec))
    _write_json(paths.training_job_config_file, training_job_config(spec))
    return paths


def read_spec(root: Path) -> VmSpec:
    """Rebuild the spec from the files `write_config` wrote (what the training child process does)."""
    paths = layout(root)
    job = _read_json(paths.training_job_config_file)
    resources = _read_json(paths.resource_config_file)
    algorithm = job.get("AlgorithmSpecification", {})
    vm = job.get("VmResources", {})
    channels = tuple(
        ChannelSpec(
            name=name,
            content_type=entry.get("ContentType"),
            input_mode=entry.get("TrainingInputMode", "File"),
            distribution=entry.get("S3DistributionType", "FullyReplicated"),
            record_wrapper=entry.get("RecordWrapperType", "None"),
        )
        for name, entry in _read_json(paths.input_data_config_file).items()
    )
    return VmSpec(
        job_name=job["TrainingJobName"],
        job_arn=job["TrainingJobArn"],
        host=resources["current_host"],
        hosts=tuple(resources["hosts"]),
        instance_type=resources.get("current_instance_type", "local"),
        vcpus=int(vm.get("VCpus", 1)),
        gpus=int(vm.get("Gpus", 0)),
        memory_mib=int(vm.get("MemoryMiB", 1024)),
        hyperparameters={str(k): str(v) for k, v in _read_json(paths.hyperparameters_file).items()},
        channels=channels,
        environment=job.get("Environment", {}),
        training_image=algorithm.get("TrainingImage"),
        algorithm_name=algorithm.get("AlgorithmName"),
        training_input_mode=algorithm.get("TrainingInputMode", "File"),
        container_entrypoint=tuple(algorithm.get("ContainerEntrypoint", ())),
        container_arguments=tuple(algorithm.get("ContainerArguments", ())),
    )


def _write_json(path: Path, document: Any) -> None:
    path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))
