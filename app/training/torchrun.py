"""Script mode's `torch_distributed` launch, as SageMaker's PyTorch toolkit does it.

The PyTorch estimator's `distribution={"torch_distributed": {"enabled": True}}` arrives as the
hyperparameter `sagemaker_torch_distributed_enabled`; then every VM runs its entry point under torchrun
(`python -m torch.distributed.run`, the same program), one node per VM: `--nnodes` the job's instance
count, `--node_rank` the VM's index among the hosts (algo-1 is 0), one process per GPU (one on a CPU
instance), and the master where the executor said the VMs meet (`app.runtime.rendezvous`).
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from app.runtime import contract
from app.runtime.rendezvous import Rendezvous
from app.training.errors import ClientError

ENABLED = "sagemaker_torch_distributed_enabled"


def enabled(hyperparameters: Mapping[str, Any]) -> bool:
    """Whether the (JSON-decoded) hyperparameters ask for the torch_distributed launch."""
    value = hyperparameters.get(ENABLED, False)
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def processes_per_host(spec: contract.VmSpec) -> int:
    """One worker per GPU; one on an instance without GPUs."""
    return max(1, spec.gpus)


def command(
    spec: contract.VmSpec, *, script: str, args: Sequence[str], meeting: Rendezvous, python: bool = True
) -> list[str]:
    """torchrun on this VM for `script args`; `python=False` runs the script as a program (a `.sh`)."""
    if importlib.util.find_spec("torch") is None:
        raise ClientError(
            "torch_distributed needs PyTorch, which this server lacks: install sagelite's `distributed` extra"
        )
    launcher = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nnodes",
        str(len(spec.hosts)),
        "--node_rank",
        str(spec.hosts.index(spec.host)),
        "--nproc_per_node",
        str(processes_per_host(spec)),
        "--master_addr",
        meeting.master_addr,
        "--master_port",
        str(meeting.master_port),
    ]
    if not python:
        launcher += ["--no-python", "/bin/sh"]
    return [*launcher, script, *args]
