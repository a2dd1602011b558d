"""Job networks as the VMs meet them, through a real server, boto3 and runc: the VMs of a job talk by host
name, another job's VM cannot reach them, and a network-isolated job reaches its own VMs and nothing else,
not even the server.

Skipped where the OCI executor or job networks cannot run, except under CI=true, where that fails.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import sagemaker_client
from tests.support.jobs import wait_terminal
from tests.support.polling import wait_until
from tests.support.script_jobs import model_json, script_job, source
from tests.support.server import ROOT_AUTH, Server, running_server
from tests.support.vms import isolation, require_oci

pytestmark = pytest.mark.e2e

ENV = {
    "SAGELITE_ISOLATION": "oci",
    "SAGELITE_STOP_GRACE_SECONDS": "2",
    "SAGELITE_SCHEDULER_INTERVAL_SECONDS": "0.2",
}
TWO_VMS = {"InstanceType": "ml.m5.large", "InstanceCount": 2, "VolumeSizeInGB": 1}

# algo-2 answers on port 7000 until told "bye"; algo-1 finds it by host name, then probes the server
# (its port on loopback, and the alias the job network forwards to it). A lone VM given TARGET probes
# that address instead. Each VM writes what it saw to facts-<host>.json in the model.
PROBE = """
import errno, json, os, socket, time
host = os.environ["SM_CURRENT_HOST"]

def attempt(address, port, message=b"ping"):
    try:
        with socket.create_connection((address, port), timeout=3) as connection:
            connection.sendall(message)  # no half-close: the server would take it for a hang-up
            return connection.recv(1024).decode(errors="replace") or "connected"
    except OSError as error:
        return "error:" + errno.errorcode.get(error.errno or 0, type(error).__name__)

def report(facts):
    facts["credentials_url"] = os.environ.get("AWS_CONTAINER_CREDENTIALS_FULL_URI")
    with open(os.path.join(os.environ["SM_MODEL_DIR"], f"facts-{host}.json"), "w") as f:
        json.dump(facts, f)

def server_reach():
    return {
        "loopback": attempt("127.0.0.1", int(os.environ["SERVER_PORT"])),
        "alias": attempt("169.254.170.2", 80, b"GET /healthz HTTP/1.0\\r\\n\\r\\n"),
    }

if "TARGET" in os.environ:
    report({"target": attempt(os.environ["TARGET"], 7000), **server_reach()})
elif host == "algo-2":
    report({})
    with socket.create_server(("0.0.0.0", 7000)) as listener:
        while True:
            connection, peer = listener.accept()
            with connection:
                data = connection.recv(1024)
                connection.sendall(b"pong:" + data + b":" + host.encode())
            if data == b"bye":
                break
else:
    address = socket.gethostbyname("algo-2")
    give_up = time.monotonic() + 60
    while (reply := attempt("algo-2", 7000, b"hello")).startswith("error:") and time.monotonic() < give_up:
        time.sleep(0.2)
    print(f"algo-2 is at {address}", flush=True)
    report({"algo-2": address, "reply": reply, **server_reach()})
    if os.environ.get("SAY_BYE"):
        attempt("algo-2", 7000, b"bye")
"""


@pytest.fixture(scope="module", autouse=True)
def _networks_usable() -> None:
    require_oci(networks=True)


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Server]:
    with running_server(tmp_path / "data", env=ENV) as server:
        assert isolation(server) == "oci"
        yield server


def _probe_job(live: Server, tmp_path: Path, name: str, **extra: Any) -> dict[str, Any]:
    environment = {"SERVER_PORT": str(urlsplit(live.url).port), **extra.pop("Environment", {})}
    return script_job(name, source(tmp_path, name, PROBE), Environment=environment, **extra)


def _logged_address(live: Server, job: str) -> str:
    text = wait_until(
        lambda: httpx.get(f"{live.url}/v1/training-jobs/{job}/logs", auth=ROOT_AUTH).text,
        until=lambda text: "algo-2 is at" in text,
        what=f"{job}'s algo-1 to reach algo-2",
    )
    found = re.search(r"algo-2 is at (\S+)", text)
    assert found is not None
    return found[1]


def test_vms_of_a_job_talk_by_host_name_and_another_jobs_vm_cannot_reach_them(
    live: Server, tmp_path: Path
) -> None:
    client = sagemaker_client(live.url)
    client.create_training_job(**_probe_job(live, tmp_path, "pair", resources=TWO_VMS))
    address = _logged_address(live, "pair")  # algo-2 keeps serving until the job is stopped
    client.create_training_job(**_probe_job(live, tmp_path, "intruder", Environment={"TARGET": address}))
    intruder = wait_terminal(client, "intruder")
    assert intruder["TrainingJobStatus"] == "Completed", intruder.get("FailureReason")
    assert client.describe_training_job(TrainingJobName="pair")["TrainingJobStatus"] == "InProgress"
    client.stop_training_job(TrainingJobName="pair")
    pair = wait_terminal(client, "pair")
    assert pair["TrainingJobStatus"] == "Stopped"

    algo_1 = model_json(live, pair, "facts-algo-1.json", tmp_path)
    assert algo_1["reply"] == "pong:hello:algo-2"
    assert algo_1["alias"].startswith("HTTP/1.1 200"), algo_1  # the server, through the job's relay
    assert algo_1["loopback"] == "error:ECONNREFUSED"  # the VM's own loopback, not the host's
    assert algo_1["credentials_url"] == "http://169.254.170.2/v1/job-credentials"
    outsider = model_json(live, intruder, "facts-algo-1.json", tmp_path)
    assert outsider["alias"].startswith("HTTP/1.1 200"), outsider  # its own network works ...
    assert outsider["target"] in {"error:ENETUNREACH", "error:timeout"}, outsider  # ... and ends there


def test_a_network_isolated_job_reaches_its_own_vms_and_not_the_server(live: Server, tmp_path: Path) -> None:
    client = sagemaker_client(live.url)
    request = _probe_job(
        live, tmp_path, "sealed", resources=TWO_VMS, EnableNetworkIsolation=True, Environment={"SAY_BYE": "1"}
    )
    client.create_training_job(**request)
    job = wait_terminal(client, "sealed")
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    algo_1 = model_json(live, job, "facts-algo-1.json", tmp_path)
    assert algo_1["reply"] == "pong:hello:algo-2"
    assert algo_1["alias"] == "error:ENETUNREACH", algo_1
    assert algo_1["loopback"] == "error:ECONNREFUSED"
    assert algo_1["credentials_url"] is None  # as on AWS: no credentials for an isolated job
