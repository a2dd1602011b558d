"""The `SM_*` environment a training container starts with, as the sagemaker-training toolkit sets it.

`environment()` computes the variables the toolkit would export (`SM_*`, with its names and its value
encodings) for one VM of a job laid out by `contract`, so user scripts written for SageMaker run
unchanged. Pure: imports nothing from `app` but `contract`, as the training child process uses it too.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from app.runtime import contract

DEFAULT_LOG_LEVEL = 20  # logging.INFO, the toolkit's default
THREAD_CAP_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")

# Hyperparameters the SageMaker SDK adds for the toolkit itself; the toolkit keeps them out of SM_HPS.
_TOOLKIT_HYPERPARAMETERS = frozenset(
    {
        "sagemaker_program",
        "sagemaker_submit_directory",
        "sagemaker_enable_cloudwatch_metrics",
        "sagemaker_region",
        "sagemaker_container_log_level",
        "sagemaker_job_name",
        "default_user_module_name",
        "_tuning_objective_metric",
        "sagemaker_s3_output",
    }
)
_TOOLKIT_PREFIX = "sagemaker_"


def decode_hyperparameters(hyperparameters: Mapping[str, str]) -> dict[str, Any]:
    """Values JSON-decoded where possible ("0.1" → 0.1, "true" → True), as the toolkit does."""
    decoded: dict[str, Any] = {}
    for name, value in hyperparameters.items():
        try:
            decoded[name] = json.loads(value)
        except (ValueError, TypeError):
            decoded[name] = value
    return decoded


def environment(spec: contract.VmSpec, root: Path) -> dict[str, str]:
    """The variables a SageMaker training container starts with (not the parent's PATH etc.).

    Precedence, lowest first: thread caps (one thread per vCPU), the request's `Environment`
    (a user may lower a thread cap), then the contract's own variables, which must not be spoofed.
    """
    paths = contract.layout(root)
    env = {name: str(spec.vcpus) for name in THREAD_CAP_VARIABLES}
    env |= dict(spec.environment)
    training_env = training_environment(spec, paths)
    env |= _toolkit_variables(training_env)
    env |= {
        "TRAINING_JOB_NAME": spec.job_name,
        "TRAINING_JOB_ARN": spec.job_arn,
        "SAGEMAKER_BASE_DIR": str(root),
        "CURRENT_HOST": spec.host,
    }
    return env


def training_environment(spec: contract.VmSpec, paths: contract.Paths) -> dict[str, Any]:
    """The toolkit's `Environment` as a dict: the value of SM_TRAINING_ENV."""
    decoded = decode_hyperparameters(spec.hyperparameters)
    toolkit = {
        k: v for k, v in decoded.items() if k in _TOOLKIT_HYPERPARAMETERS or k.startswith(_TOOLKIT_PREFIX)
    }
    user = {k: v for k, v in decoded.items() if k not in toolkit}
    program = toolkit.get("sagemaker_program")
    resources = contract.resource_config(spec)
    return {
        "additional_framework_parameters": {
            k: v for k, v in toolkit.items() if k not in _TOOLKIT_HYPERPARAMETERS
        },
        "channel_input_dirs": {c.name: str(paths.channel_dir(c.name)) for c in spec.channels},
        "current_host": spec.host,
        "current_instance_group": contract.GROUP_NAME,
        "current_instance_group_hosts": list(spec.hosts),
        "current_instance_type": spec.instance_type,
        "distribution_hosts": [],
        "distribution_instance_groups": [],
        "framework_module": None,
        "hosts": list(spec.hosts),
        "hyperparameters": user,
        "input_config_dir": str(paths.input_config_dir),
        "input_data_config": contract.input_data_config(spec),
        "input_dir": str(paths.input_dir),
        "instance_groups": [contract.GROUP_NAME],
        "instance_groups_dict": {contract.GROUP_NAME: resources["instance_groups"][0]},
        "is_hetero": False,
        "is_master": spec.host == spec.hosts[0],
        "is_modelparallel_enabled": False,
        "job_name": spec.job_name,
        "log_level": toolkit.get("sagemaker_container_log_level", DEFAULT_LOG_LEVEL),
        "master_hostname": spec.hosts[0],
        "model_dir": str(paths.model_dir),
        "module_dir": str(toolkit.get("sagemaker_submit_directory", paths.code_dir)),
        "module_name": _module_name(program),
        "network_interface_name": contract.NETWORK_INTERFACE_NAME,
        "num_cpus": spec.vcpus,
        "num_gpus": spec.gpus,
        "output_data_dir": str(paths.output_data_dir),
        "output_dir": str(paths.output_dir),
        "output_intermediate_dir": str(paths.output_intermediate_dir),
        "resource_config": resources,
        "user_entry_point": program,
    }


def _toolkit_variables(training_env: Mapping[str, Any]) -> dict[str, str]:
    """The toolkit's `Environment.to_env_vars()`: SM_ + upper-cased key, non-strings as compact JSON."""
    keys = [
        "hosts",
        "network_interface_name",
        "resource_config",
        "input_data_config",
        "output_data_dir",
        "current_host",
        "current_instance_type",
        "current_instance_group",
        "current_instance_group_hosts",
        "instance_groups",
        "instance_groups_dict",
        "distribution_instance_groups",
        "is_hetero",
        "module_name",
        "log_level",
        "framework_module",
        "input_dir",
        "input_config_dir",
        "output_dir",
        "num_cpus",
        "num_gpus",
        "model_dir",
        "module_dir",
        "output_intermediate_dir",
        "user_entry_point",
    ]
    variables: dict[str, Any] = {key: training_env[key] for key in keys}
    hyperparameters: Mapping[str, Any] = training_env["hyperparameters"]
    variables |= {
        "hps": hyperparameters,
        "framework_params": training_env["additional_framework_parameters"],
        "channels": sorted(training_env["channel_input_dirs"]),
        "training_env": training_env,
        "user_args": user_args(hyperparameters),
    }
    variables |= {f"channel_{name}": path for name, path in training_env["channel_input_dirs"].items()}
    variables |= {f"hp_{name}": value for name, value in hyperparameters.items()}
    return {f"SM_{key.upper()}": _env_value(value) for key, value in variables.items()}


def user_args(hyperparameters: Mapping[str, Any]) -> list[str]:
    """Hyperparameters as script arguments, sorted by name: `--epochs 3 --lr 0.1` (SM_USER_ARGS)."""
    args: list[str] = []
    for name in sorted(hyperparameters):
        args.append(f"--{name}" if len(name) > 1 else f"-{name}")
        args.append(_arg_value(hyperparameters[name]))
    return args


def _arg_value(value: Any) -> str:
    if isinstance(value, Mapping):
        return ",".join(f"{k}={v}" for k, v in sorted(value.items()))
    return "" if value is None else str(value)


def _env_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def _module_name(program: Any) -> str | None:
    if not isinstance(program, str):
        return None
    return program.removesuffix(".py")
