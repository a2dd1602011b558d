"""Where a job's VMs meet (per executor) and the torchrun command script mode's torch_distributed starts."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from app.runtime import contract, rendezvous
from app.runtime.executor import LocalExecutor
from app.training import script, torchrun

HOSTS = ("algo-1", "algo-2", "algo-3")


def _spec(host: str, *, gpus: int = 0, distributed: str | None = "true") -> contract.VmSpec:
    hyperparameters = {"sagemaker_program": json.dumps("train.py"), "epochs": "2"}
    if distributed is not None:
        hyperparameters[torchrun.ENABLED] = distributed
    return contract.VmSpec(
        job_name="ddp",
        job_arn="arn:aws:sagemaker:us-east-1:123456789012:training-job/ddp",
        host=host,
        hosts=HOSTS,
        instance_type="ml.m5.large",
        vcpus=2,
        gpus=gpus,
        memory_mib=8192,
        hyperparameters=hyperparameters,
    )


def _paths(tmp_path: Path) -> contract.Paths:
    paths = contract.layout(tmp_path)
    paths.code_dir.mkdir(parents=True)
    (paths.code_dir / "train.py").write_text("print('hi')\n")
    return paths


def test_every_vm_runs_torchrun_with_its_node_rank_and_the_master(tmp_path: Path) -> None:
    paths = _paths(tmp_path)
    meeting = rendezvous.Rendezvous(master_addr="algo-1", master_port=7777)
    command = script.command_for(_spec("algo-2"), paths, meeting=meeting)
    assert command == [
        sys.executable,
        "-m",
        "torch.distributed.run",
        *("--nnodes", "3", "--node_rank", "1", "--nproc_per_node", "1"),
        *("--master_addr", "algo-1", "--master_port", "7777"),
        str((paths.code_dir / "train.py").resolve()),
        *("--epochs", "2"),
    ]


def test_one_worker_per_gpu_and_the_master_defaults_to_algo_1(tmp_path: Path) -> None:
    command = script.command_for(_spec("algo-3", gpus=4), _paths(tmp_path))
    flags = dict(zip(command[3:13:2], command[4:13:2], strict=True))
    assert flags == {
        "--nnodes": "3",
        "--node_rank": "2",
        "--nproc_per_node": "4",
        "--master_addr": "algo-1",
        "--master_port": str(rendezvous.SAGEMAKER_MASTER_PORT),
    }


@pytest.mark.parametrize(
    ("value", "launched"), [("true", True), ('"True"', True), ("false", False), (None, False)]
)
def test_only_the_enabled_hyperparameter_launches_torchrun(
    tmp_path: Path, value: str | None, launched: bool
) -> None:
    command = script.command_for(_spec("algo-1", distributed=value), _paths(tmp_path))
    assert ("torch.distributed.run" in command) is launched
    assert not any(arg.startswith(f"--{torchrun.ENABLED}") for arg in command)  # not a user argument


def test_the_process_executor_meets_on_loopback_on_a_port_per_job() -> None:
    executor = LocalExecutor()
    first, second = (executor.rendezvous(hosts=HOSTS) for _ in range(2))
    assert first.master_addr == rendezvous.LOOPBACK and first.interface == "lo"
    assert first.master_port != second.master_port
    assert rendezvous.from_environment(first.environment()) == first


def test_vms_on_a_job_network_meet_at_algo_1_by_name() -> None:
    meeting = rendezvous.on_job_network(HOSTS)
    assert meeting.environment() == {"MASTER_ADDR": "algo-1", "MASTER_PORT": "7777"}
    assert rendezvous.from_environment(meeting.environment()) == meeting
    assert rendezvous.from_environment({"MASTER_ADDR": "algo-1", "MASTER_PORT": "x"}) is None
