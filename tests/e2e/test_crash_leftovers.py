"""After a `kill -9` of the server mid-run, the restarted server removes what the dead run left: its VM
folders (the VM's /opt/ml with inputs and model) and the scratch folders of the service."""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

import httpx
import pytest

from tests.conftest import sagemaker_client
from tests.support.jobs import entrypoint_job
from tests.support.polling import wait_until
from tests.support.server import ROOT_AUTH, running_server

pytestmark = pytest.mark.e2e

SCRIPT = """
import os, time
with open(os.path.join(os.environ["SM_MODEL_DIR"], "weights.bin"), "wb") as f:
    f.write(os.urandom(8 << 20))
print("ready", flush=True)
time.sleep(600)
"""


def alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_restart_after_kill_9_removes_the_dead_runs_vm_and_scratch_folders(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {"SAGELITE_SCHEDULER_INTERVAL_SECONDS": "0.2"}
    vm_pid = None
    try:
        with running_server(data, env=env) as first:
            client = sagemaker_client(first.url)
            client.create_training_job(**entrypoint_job("crashed", SCRIPT))
            [vm] = wait_until(
                lambda: httpx.get(f"{first.url}/v1/vms", params={"job": "crashed"}, auth=ROOT_AUTH).json()[
                    "vms"
                ],
                until=lambda vms: len(vms) == 1 and vms[0]["state"] == "Running",
                what="the VM to run",
            )
            vm_pid = vm["pid"]
            weights = data / "vms" / vm["id"] / "model" / "weights.bin"
            wait_until(lambda: weights.is_file() and weights.stat().st_size, what="the VM to write its model")
            # What a crash in the middle of packing leaves (the upload window is too short to aim a kill at).
            packing = data / "scratch" / "pack-left-by-a-crash" / "model"
            packing.mkdir(parents=True)
            (packing / "weights.bin").write_bytes(b"x" * (1 << 20))
            os.killpg(first.process.pid, signal.SIGKILL)  # no shutdown: the VM process lives on
            first.process.wait(timeout=10)
        assert alive(vm_pid) and weights.is_file()

        with running_server(data, env=env) as second:
            assert list((data / "vms").iterdir()) == []
            assert list((data / "scratch").iterdir()) == []
            wait_until(lambda: not alive(vm_pid), what="the orphaned VM to be killed and reaped")
            job = sagemaker_client(second.url).describe_training_job(TrainingJobName="crashed")
            assert job["TrainingJobStatus"] == "Failed"
            assert any((data / "logs" / "123456789012" / "crashed").glob("*.log"))  # the logs stay
    finally:
        if vm_pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(vm_pid, signal.SIGKILL)
