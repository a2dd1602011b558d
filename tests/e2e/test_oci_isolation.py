"""The OCI executor as a hostile job meets it: real server, real boto3, real containers through runc.

On a machine without runc (or root) these tests are skipped, except under CI=true, where that fails.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.runtime.oci import volume
from app.runtime.oci.executor import runtime_dir
from app.runtime.oci.runc import Runc
from tests.conftest import sagemaker_client
from tests.support.jobs import wait_terminal
from tests.support.polling import wait_until
from tests.support.script_jobs import model_json, script_job, source
from tests.support.server import ROOT_AUTH, Server, running_server
from tests.support.vms import cgroups, isolation, network_objects, require_oci

pytestmark = pytest.mark.e2e

SERVER_SECRET = "server-env-canary-5d1e"
ENV = {
    "SAGELITE_ISOLATION": "oci",
    "SAGELITE_STOP_GRACE_SECONDS": "2",
    "SAGELITE_SCHEDULER_INTERVAL_SECONDS": "0.2",
    "SAGELITE_TEST_CANARY": SERVER_SECRET,
}


@pytest.fixture(scope="module", autouse=True)
def _runc_usable() -> None:
    require_oci(networks=False)


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Server]:
    with running_server(tmp_path / "data", env=ENV) as server:
        assert isolation(server) == "oci"
        yield server


def _vms(server: Server, job: str, *, count: int) -> list[dict[str, str]]:
    vms = wait_until(
        lambda: httpx.get(f"{server.url}/v1/vms", params={"job": job}, auth=ROOT_AUTH).json()["vms"],
        until=lambda vms: len(vms) == count and all(vm["state"] == "Running" for vm in vms),
        what=f"the VMs of {job} to run",
    )
    return [dict(vm) for vm in vms]


def _vm(server: Server, job: str) -> dict[str, str]:
    [vm] = _vms(server, job, count=1)
    return vm


LOOK_AROUND = """
import json, os, socket
def readable(path):
    try:
        os.listdir(path) if os.path.isdir(path) else open(path, "rb").close()
        return True
    except OSError:
        return False
lines = open("/proc/self/status").read().splitlines()
status = dict(line.split(":\\t", 1) for line in lines if ":\\t" in line)
pids = [p for p in os.listdir("/proc") if p.isdigit()]
try:
    open("/usr/sagelite-probe", "w")
    root_writable = True
except OSError:
    root_writable = False
facts = {
    "hostname": socket.gethostname(), "uid": os.getuid(), "pids": pids,
    "cmdlines": [open(f"/proc/{p}/cmdline", "rb").read().decode().replace("\\0", " ") for p in pids],
    "env": dict(os.environ), "cwd": os.getcwd(), "opt_ml": sorted(os.listdir("/opt/ml")),
    "data_dir_visible": readable(os.environ["DATA_DIR"]),
    "database_visible": readable(os.path.join(os.environ["DATA_DIR"], "sagelite.db")),
    "cap_eff": status["CapEff"].strip(), "no_new_privs": status["NoNewPrivs"].strip(),
    "seccomp": status["Seccomp"].strip(), "root_writable": root_writable,
}
with open(os.path.join(os.environ["SM_MODEL_DIR"], f"facts-{facts['hostname']}.json"), "w") as f:
    json.dump(facts, f)
"""


def test_a_vm_sees_its_own_host_name_processes_and_opt_ml_and_nothing_of_the_server(
    live: Server, tmp_path: Path
) -> None:
    client = sagemaker_client(live.url)
    request = script_job(
        "look-around",
        source(tmp_path, "look", LOOK_AROUND),
        resources={"InstanceType": "ml.m5.large", "InstanceCount": 2, "VolumeSizeInGB": 1},
        Environment={"DATA_DIR": str(live.data_dir.resolve())},
    )
    client.create_training_job(**request)
    job = wait_terminal(client, "look-around")
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    for host in ("algo-1", "algo-2"):
        facts = model_json(live, job, f"facts-{host}.json", tmp_path)
        assert facts["hostname"] == host
        assert facts["uid"] >= 100_000
        # tini, the training process and this script (and its shell-less children): nothing else
        assert len(facts["pids"]) <= 3, facts["cmdlines"]
        assert facts["cmdlines"][0].startswith("/usr/bin/tini")
        assert facts["env"]["SAGEMAKER_BASE_DIR"] == "/opt/ml"
        assert facts["env"]["SM_MODEL_DIR"] == "/opt/ml/model"
        assert facts["env"]["SM_CURRENT_HOST"] == host
        assert facts["cwd"] == "/opt/ml/code"  # where the toolkit runs the user's script
        assert {"input", "model", "output", "code"} <= set(facts["opt_ml"])
        assert SERVER_SECRET not in "".join(facts["env"].values())
        assert not facts["data_dir_visible"] and not facts["database_visible"]
        assert facts["cap_eff"] == "0000000000000000"
        assert facts["no_new_privs"] == "1" and facts["seccomp"] == "2"
        assert not facts["root_writable"]


CHILDREN = """
import subprocess, time
subprocess.Popen(["sleep", "300"])
subprocess.Popen(["sleep", "301"], start_new_session=True)
time.sleep(4)
"""


def test_background_and_setsid_children_are_gone_when_the_job_ends(live: Server, tmp_path: Path) -> None:
    client = sagemaker_client(live.url)
    client.create_training_job(**script_job("children", source(tmp_path, "children", CHILDREN)))
    vm = _vm(live, "children")
    groups = cgroups(live)
    pids = wait_until(
        lambda: groups.processes(vm["id"]), until=lambda p: len(p) >= 4, what="the job's children to start"
    )
    assert wait_terminal(client, "children")["TrainingJobStatus"] == "Completed"
    assert groups.processes(vm["id"]) == [] and not groups.exists(vm["id"])
    assert all(not Path(f"/proc/{pid}").exists() for pid in pids)


MEMORY_HOG = """
hog = []
while True:
    hog.append(bytearray(64 << 20))
"""


def test_a_memory_hog_fails_out_of_memory_and_the_server_lives(live: Server, tmp_path: Path) -> None:
    client = sagemaker_client(live.url)
    resources = {"InstanceType": "ml.t3.medium", "InstanceCount": 1, "VolumeSizeInGB": 1}
    client.create_training_job(**script_job("hog", source(tmp_path, "hog", MEMORY_HOG), resources=resources))
    job = wait_terminal(client, "hog")
    assert job["TrainingJobStatus"] == "Failed"
    assert "out of memory" in job["FailureReason"] and "ml.t3.medium has 4 GiB" in job["FailureReason"]
    assert httpx.get(f"{live.url}/healthz", auth=ROOT_AUTH).status_code == 200


FORK_BOMB = """
import json, os, time
forks = 0
try:
    while True:
        if os.fork() == 0:
            time.sleep(120)
            os._exit(0)
        forks += 1
except OSError as error:
    reason = error.strerror
with open(os.path.join(os.environ["SM_MODEL_DIR"], "forks.json"), "w") as f:
    json.dump({"forks": forks, "error": reason}, f)
"""


def test_a_fork_bomb_stops_at_the_process_limit(live: Server, tmp_path: Path) -> None:
    client = sagemaker_client(live.url)
    client.create_training_job(**script_job("forks", source(tmp_path, "forks", FORK_BOMB)))
    job = wait_terminal(client, "forks")
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    report = model_json(live, job, "forks.json", tmp_path)
    assert 100 < report["forks"] < 1024, report  # SAGELITE_VM_PIDS_LIMIT's default
    assert report["error"] == "Resource temporarily unavailable"


DISK_FILLER = """
import os
with open("/opt/ml/output/data/filler", "wb") as f:
    for _ in range(2048):
        f.write(b"x" * (1 << 20))
"""


def test_writing_past_the_volume_fails_with_enospc_and_a_reason(live: Server, tmp_path: Path) -> None:
    client = sagemaker_client(live.url)
    client.create_training_job(**script_job("filler", source(tmp_path, "filler", DISK_FILLER)))
    job = wait_terminal(client, "filler")
    assert job["TrainingJobStatus"] == "Failed"
    assert "No space left on device" in job["FailureReason"]
    assert "volume of 1 GiB (ResourceConfig.VolumeSizeInGB)" in job["FailureReason"]


BUSY = """
import time
end = time.monotonic() + 120
while time.monotonic() < end:
    pass
"""


def test_a_paused_vm_uses_no_cpu_until_resumed(live: Server, tmp_path: Path) -> None:
    client = sagemaker_client(live.url)
    client.create_training_job(**script_job("busy", source(tmp_path, "busy", BUSY)))
    vm = _vm(live, "busy")
    groups = cgroups(live)
    wait_until(lambda: groups.cpu_seconds(vm["id"]) > 0.2, what="the VM to use CPU")
    assert httpx.post(f"{live.url}/v1/vms/{vm['id']}/pause", auth=ROOT_AUTH).json()["state"] == "Paused"
    assert groups.frozen(vm["id"])
    frozen_at = groups.cpu_seconds(vm["id"])
    time.sleep(1.0)
    assert groups.cpu_seconds(vm["id"]) - frozen_at < 0.05
    assert httpx.post(f"{live.url}/v1/vms/{vm['id']}/resume", auth=ROOT_AUTH).json()["state"] == "Running"
    wait_until(lambda: groups.cpu_seconds(vm["id"]) > frozen_at + 0.2, what="the resumed VM to use CPU")
    client.stop_training_job(TrainingJobName="busy")
    assert wait_terminal(client, "busy")["TrainingJobStatus"] == "Stopped"


def test_a_crashed_server_leaves_no_container_mount_loop_device_network_or_cgroup(tmp_path: Path) -> None:
    require_oci(networks=True)
    data = tmp_path / "data"
    two_vms = {"InstanceType": "ml.m5.large", "InstanceCount": 2, "VolumeSizeInGB": 1}
    with running_server(data, env=ENV) as first:
        client = sagemaker_client(first.url)
        client.create_training_job(**script_job("crashed", source(tmp_path, "busy", BUSY), resources=two_vms))
        vms = _vms(first, "crashed", count=2)
        groups = cgroups(first)
        for vm in vms:
            wait_until(lambda vm=vm: groups.processes(vm["id"]), what="the containers' processes")
        state = Runc(binary="runc", state_dir=runtime_dir(data) / "state")
        wait_until(
            state.list_ids,
            until=lambda ids: sorted(ids) == sorted(vm["id"] for vm in vms),
            what="runc to list the containers",
        )
        # two namespaces, a bridge, two veths and a table
        assert len(network_objects(data)) == 6, network_objects(data)
        first.process.send_signal(signal.SIGKILL)
        first.process.wait(timeout=10)
        assert all(groups.processes(vm["id"]) for vm in vms)  # the VMs outlived their server
    with running_server(data, env=ENV) as second:
        job = sagemaker_client(second.url).describe_training_job(TrainingJobName="crashed")
        assert job["TrainingJobStatus"] == "Failed"
        assert state.list_ids() == []
        assert groups.leftovers() == []
        assert network_objects(data) == []
        assert volume.mounts_below(data / "vms") == []
        backing = subprocess.run(
            ["losetup", "--list", "--noheadings", "--output", "BACK-FILE"], capture_output=True, text=True
        ).stdout
        assert str(data.resolve()) not in backing
        assert not (data / "vms").exists() or list((data / "vms").iterdir()) == []
        assert list((data / "volumes").iterdir()) == []
        assert not runtime_dir(data).exists()
