"""sagelite over a Ray cluster on this machine as over several machines: a head and two worker nodes,
each worker in a network namespace of its own with its own address and scratch directory, and a mount
namespace in which the servers' data directories are an empty tmpfs; the head and the server outside
them, listening on the test bridge's host-side address (the server is a Ray Client driver).

One cluster serves the module; the drain comes first (it is what starts each node's agent, from several
jobs at once), the test that kills a node last. At the module's end the namespaces, links and every node
process are gone (checked).
"""

from __future__ import annotations

import io
import json
import os
import signal
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from tests.conftest import create_request, sagemaker_client
from tests.support.jobs import entrypoint_job, s3_client, wait_terminal
from tests.support.polling import wait_until
from tests.support.ray_cluster import Node, RayCluster, ray_cluster
from tests.support.server import ROOT_AUTH, Server, running_server
from tests.support.vm_overlap import most_at_once
from tests.support.worker_netns import WorkerNetwork, processes_in, worker_network

# Starting the cluster (the first test's setup) alone takes minutes on a busy two-core machine, and the
# data-parallel VMs import torch: seconds on a quiet machine, minutes on a loaded one.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]
JOB_TIMEOUT = 300

# Each worker holds one ml.m5.large (2 vCPUs, 8 GiB) with the default overcommit (CPU x4, memory x2).
WORKERS = {"w1": {"cpus": 2, "memory_gib": 4}, "w2": {"cpus": 2, "memory_gib": 4}}

# Records what the VM saw: the channel, where it ran, and what it sees of the servers' data directories.
READ_CHANNEL = """
import json,os
E=os.environ
d=open(E["SM_CHANNEL_TRAIN"]+"/part.csv").read()
json.dump([d.upper(),os.getcwd(),os.listdir(E["SM_HP_S"])],open(E["SM_MODEL_DIR"]+"/"+E["SM_CURRENT_HOST"],"w"))
print("rows",len(d.split()),flush=True)
"""

WAIT = """
import time
print("ready", flush=True)
time.sleep(600)
"""


def _env(cluster: RayCluster) -> dict[str, str]:
    return {
        # A server off loopback is given its root key (test/test, as the clients use).
        "SAGELITE_ROOT_ACCESS_KEY_ID": "test",
        "SAGELITE_ROOT_SECRET_ACCESS_KEY": "test",
        "SAGELITE_RAY_ADDRESS": cluster.client_address,
        "SAGELITE_RAY_SYNC_SECONDS": "0.5",
        "SAGELITE_SCHEDULER_INTERVAL_SECONDS": "0.2",
        "SAGELITE_STOP_GRACE_SECONDS": "2",
    }


@pytest.fixture(scope="module")
def network() -> Iterator[WorkerNetwork]:
    with worker_network(list(WORKERS)) as made:  # checks on exit that nothing of it remains
        yield made


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where every server of the module keeps its data: hidden from the workers."""
    return tmp_path_factory.mktemp("servers")


@pytest.fixture(scope="module")
def cluster(
    network: WorkerNetwork, servers: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RayCluster]:
    with ray_cluster(
        tmp_path_factory.mktemp("ray"), workers=WORKERS, network=network, hidden=servers
    ) as started:
        yield started
    left = {worker.netns: processes_in(worker.netns) for worker in network.workers}
    assert not any(left.values()), f"processes left in the workers' namespaces: {left}"


@contextmanager
def _server(cluster: RayCluster, network: WorkerNetwork, data: Path) -> Iterator[Server]:
    with running_server(data, env=_env(cluster), host=network.host_address) as running:
        wait_until(lambda: len(_hosts(running)) == 2, what="both workers to be hosts")
        yield running


@pytest.fixture(scope="module")
def server(cluster: RayCluster, network: WorkerNetwork, servers: Path) -> Iterator[Server]:
    with _server(cluster, network, servers / "data") as running:
        yield running


def _hosts(server: Server) -> list[dict[str, Any]]:
    hosts: list[dict[str, Any]] = httpx.get(f"{server.url}/v1/hosts", auth=ROOT_AUTH).json()["hosts"]
    return hosts


def _vms(server: Server, job: str) -> list[dict[str, Any]]:
    vms: list[dict[str, Any]] = httpx.get(f"{server.url}/v1/vms", params={"job": job}, auth=ROOT_AUTH).json()[
        "vms"
    ]
    return vms


def _job(name: str, script: str, *, instances: int = 1, channel: str | None = None) -> dict[str, Any]:
    request = entrypoint_job(name, script)
    request["ResourceConfig"]["InstanceCount"] = instances
    request["OutputDataConfig"] = {"S3OutputPath": "s3://ray-models/out"}
    if channel is not None:
        source = {"S3DataType": "S3Prefix", "S3Uri": channel, "S3DataDistributionType": "FullyReplicated"}
        request["InputDataConfig"] = [{"ChannelName": "train", "DataSource": {"S3DataSource": source}}]
    return request


def _model_files(server: Server, uri: str) -> dict[str, str]:
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    body = s3_client(server.url).get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body)) as archive:
        return {m.name: archive.extractfile(m).read().decode() for m in archive.getmembers() if m.isfile()}  # type: ignore[union-attr]


def _put_channel(server: Server) -> str:
    s3 = s3_client(server.url)
    s3.create_bucket(Bucket="ray-data")
    s3.put_object(Bucket="ray-data", Key="train/part.csv", Body=b"a,1\nb,2\nc,3\n")
    return "s3://ray-data/train/"


DRAIN_JOBS = 6
# ml.t3.medium (2 vCPUs, 4 GiB): two fit a worker (8 vCPUs, 8 GiB with the overcommit), four run at once.
PER_WORKER = 2


def test_small_jobs_created_at_once_all_complete_across_both_nodes_never_overcommitted(
    server: Server,
) -> None:
    client = sagemaker_client(server.url)
    names = [f"ray-drain-{index}" for index in range(DRAIN_JOBS)]
    for name in names:
        request = _job(name, "print('up', flush=True)")
        request["ResourceConfig"]["InstanceType"] = "ml.t3.medium"
        client.create_training_job(**request)
    ended = {name: wait_terminal(client, name) for name in names}
    assert {n: (j["TrainingJobStatus"], j.get("FailureReason")) for n, j in ended.items()} == {
        n: ("Completed", None) for n in names
    }
    held = most_at_once(vm for name in names for vm in _vms(server, name))
    assert len(held) == 2 and max(held.values()) <= PER_WORKER, held


def test_a_two_instance_job_runs_on_two_nodes_from_a_channel_only_in_the_object_store(
    cluster: RayCluster, server: Server, servers: Path
) -> None:
    client = sagemaker_client(server.url)
    request = _job("ray-pair", READ_CHANNEL, instances=2, channel=_put_channel(server))
    request.setdefault("HyperParameters", {})["s"] = str(servers)
    client.create_training_job(**request)
    job = wait_terminal(client, "ray-pair")
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    assert len({vm["host"] for vm in _vms(server, "ray-pair")}) == 2  # one VM on each worker

    files = _model_files(server, job["ModelArtifacts"]["S3ModelArtifacts"])
    assert set(files) == {"algo-1", "algo-2"}
    seen = [json.loads(text) for text in files.values()]
    assert [data for data, _, _ in seen] == ["A,1\nB,2\nC,3\n"] * 2  # each VM downloaded the channel itself
    # Each in a folder under its own node's scratch directory, none under the server's data directory.
    nodes = {node.name for _, cwd, _ in seen for node in cluster.nodes if cwd.startswith(f"{node.scratch}/")}
    assert nodes == {"w1", "w2"}
    assert [listed for _, _, listed in seen] == [[], []]  # the servers' data is hidden there
    assert os.listdir(servers)  # while here it holds the server's data
    logs = client_logs(server, "ray-pair")
    assert "rows 3" in logs  # the VMs' output streamed back to the server's log streams
    # Each node uploaded its VM's results through the server's S3 API, as the job (its temporary key),
    # from its own address; the server took them and removed the staging objects.
    staged = {
        (event["source_ip"], event["access_key_id"][:4])
        for event in _audit(server)
        if event["operation"].startswith("PUT /ray-models/out/ray-pair/node-results/algo-")
    }
    assert staged == {(node.address, "ASIA") for node in cluster.nodes if node.name in WORKERS}
    listed = s3_client(server.url).list_objects_v2(Bucket="ray-models", Prefix="out/ray-pair/")
    assert {o["Key"] for o in listed["Contents"]} == {
        "out/ray-pair/output/model.tar.gz",
        "out/ray-pair/output/output.tar.gz",
    }


# /opt/ml/checkpoints is beside the model directory (a VM on a node sees its folder there).
CHECKPOINTED = """
import os
saved=os.path.dirname(os.environ["SM_MODEL_DIR"])+"/checkpoints/"
print("restored", open(saved+"state.txt").read(), flush=True)
open(saved+"next.txt", "w").write("step 8")
"""


def test_a_vm_on_a_node_restores_and_saves_its_checkpoints(server: Server) -> None:
    s3 = s3_client(server.url)
    s3.create_bucket(Bucket="ray-checkpoints")
    s3.put_object(Bucket="ray-checkpoints", Key="run/state.txt", Body=b"step 7")
    request = _job("ray-checkpointed", CHECKPOINTED)
    request["CheckpointConfig"] = {"S3Uri": "s3://ray-checkpoints/run/"}
    client = sagemaker_client(server.url)
    client.create_training_job(**request)
    job = wait_terminal(client, "ray-checkpointed")
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    assert "restored step 7" in client_logs(server, "ray-checkpointed")  # downloaded by the node
    saved = s3.get_object(Bucket="ray-checkpoints", Key="run/next.txt")["Body"].read()
    assert saved == b"step 8"


def _audit(server: Server) -> list[dict[str, Any]]:
    answer = httpx.get(f"{server.url}/v1/admin/audit", params={"limit": 1000}, auth=ROOT_AUTH)
    events: list[dict[str, Any]] = answer.json()["events"]
    return events


def _rows(rng: np.random.Generator, rows: int) -> bytes:
    """CSV rows (label first) of two overlapping classes."""
    labels = (rng.random(rows) < 0.5).astype(float)
    centers = np.array([[-1.0, 0.5, 0.0], [1.0, -0.5, 0.0]])
    table = np.column_stack([labels, centers[labels.astype(int)] + rng.normal(0.0, 1.0, (rows, 3))])
    return "\n".join(",".join(f"{value:.5f}" for value in row) for row in table).encode() + b"\n"


def test_a_data_parallel_builtin_job_trains_across_the_two_worker_namespaces(server: Server) -> None:
    # The workers share no loopback: the two VMs can only meet on algo-1's node address.
    rng = np.random.default_rng(3)
    s3 = s3_client(server.url)
    s3.create_bucket(Bucket="ray-shards")
    for key in ("train/part-0.csv", "train/part-1.csv", "validation/all.csv"):
        s3.put_object(Bucket="ray-shards", Key=key, Body=_rows(rng, 300))

    def channel(name: str, distribution: str) -> dict[str, Any]:
        uri = f"s3://ray-shards/{name}/"
        source = {"S3DataType": "S3Prefix", "S3Uri": uri, "S3DataDistributionType": distribution}
        return {"ChannelName": name, "DataSource": {"S3DataSource": source}, "ContentType": "text/csv"}

    request = create_request(
        "ray-mlp",
        HyperParameters={"epochs": "2", "mini_batch_size": "32", "hidden_layers": "8", "seed": "1"},
        InputDataConfig=[channel("train", "ShardedByS3Key"), channel("validation", "FullyReplicated")],
        OutputDataConfig={"S3OutputPath": "s3://ray-shards/out"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 2, "VolumeSizeInGB": 1},
    )
    client = sagemaker_client(server.url)
    client.create_training_job(**request)
    job = wait_terminal(client, "ray-mlp", timeout=JOB_TIMEOUT)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    assert len({vm["host"] for vm in _vms(server, "ray-mlp")}) == 2
    logs = client_logs(server, "ray-mlp")
    assert "rank 0 of 2 trains on 300 rows of channel 'train'" in logs
    assert "rank 1 of 2 trains on 300 rows of channel 'train'" in logs


def client_logs(server: Server, job: str) -> str:
    response = httpx.get(f"{server.url}/v1/training-jobs/{job}/logs", auth=ROOT_AUTH)
    return response.text


def test_restarting_a_killed_server_leaves_no_vm_running_on_any_node(
    cluster: RayCluster, network: WorkerNetwork, servers: Path
) -> None:
    data = servers / "restarted"
    with _server(cluster, network, data) as first:
        sagemaker_client(first.url).create_training_job(**_job("ray-orphan", WAIT, instances=2))
        vms = wait_until(
            lambda: _vms(first, "ray-orphan"),
            until=lambda vms: len(vms) == 2 and all(vm["state"] == "Running" for vm in vms),
            what="both VMs to run",
        )
        ids = [vm["id"] for vm in vms]
        wait_until(lambda: len(_vm_processes(ids)) == 2, what="both VM processes to start on their nodes")
        os.killpg(first.process.pid, signal.SIGKILL)
        first.process.wait(timeout=10)
    assert len(_vm_processes(ids)) == 2  # the VMs outlive the server, as on real nodes

    with _server(cluster, network, data) as second:
        wait_until(lambda: not _vm_processes(ids), what="the restarted server to kill the VMs on the nodes")
        job = sagemaker_client(second.url).describe_training_job(TrainingJobName="ray-orphan")
        assert job["TrainingJobStatus"] == "Failed"


def test_a_server_sent_sigterm_stops_its_jobs_and_leaves_no_vm_on_any_node(
    cluster: RayCluster, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    with running_server(data, env=_env(cluster)) as first:
        wait_until(lambda: len(_hosts(first)) == 2, what="both workers to be hosts")
        sagemaker_client(first.url).create_training_job(**_job("ray-sigterm", WAIT))
        [vm] = wait_until(
            lambda: _vms(first, "ray-sigterm"),
            until=lambda vms: len(vms) == 1 and vms[0]["state"] == "Running",
            what="the VM to run",
        )
        wait_until(lambda: _vm_processes([vm["id"]]), what="the VM process to start on its node")
        first.process.send_signal(signal.SIGTERM)  # the server alone, as a service manager stops it
        # In order: uvicorn shuts down, then ends by the signal it caught (-15); a Ray driver's SIGTERM
        # handler would have raised SystemExit mid-request instead (exit status 15).
        assert first.process.wait(timeout=60) == -signal.SIGTERM
        assert "SystemExit" not in first.log.read_text()
        assert not _vm_processes([vm["id"]])  # stopped, not left to the next start's sweep

    with running_server(data, env=_env(cluster)) as second:
        job = sagemaker_client(second.url).describe_training_job(TrainingJobName="ray-sigterm")
        assert job["TrainingJobStatus"] == "Stopped"


def _vm_processes(vm_ids: list[str]) -> list[int]:
    """This machine's processes (every node's) that are one of the VMs."""
    marks = {f"SAGELITE_VM_ID={vm_id}".encode() for vm_id in vm_ids}
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = set((entry / "environ").read_bytes().split(b"\0"))
        except OSError:
            continue
        if environ & marks and (entry / "cmdline").read_bytes().find(b"app.runtime.launch") != -1:
            found.append(int(entry.name))
    return found


def test_a_worker_node_that_dies_ends_its_job_restarts_a_retried_one_elsewhere_and_leaves_the_pool(
    cluster: RayCluster, server: Server
) -> None:
    client = sagemaker_client(server.url)
    for name, retries in (("ray-lost", 0), ("ray-retried", 1)):
        request = _job(name, WAIT)
        request["ResourceConfig"]["InstanceType"] = "ml.t3.medium"  # two fit one worker: first fit packs
        if retries:
            request["RetryStrategy"] = {"MaximumRetryAttempts": retries}
        client.create_training_job(**request)
    running = {
        name: wait_until(
            lambda name=name: _vms(server, name),
            until=lambda vms: len(vms) == 1 and vms[0]["state"] == "Running",
            what=f"{name}'s VM to run",
        )[0]
        for name in ("ray-lost", "ray-retried")
    }
    for name in running:
        wait_until(lambda name=name: "ready" in client_logs(server, name), what=f"{name}'s output")
    lost_host = running["ray-lost"]["host"]
    assert running["ray-retried"]["host"] == lost_host  # both on the node about to die
    _node_of(cluster, lost_host).kill()

    job = wait_terminal(client, "ray-lost")
    assert job["TrainingJobStatus"] == "Failed"
    assert "host lost" in job["FailureReason"]
    # The retried job runs again, on the node left: the attempt counts, and its transitions say why.
    again = wait_until(
        lambda: [vm for vm in _vms(server, "ray-retried") if vm["state"] == "Running"],
        what="the retried job to run again",
    )
    assert [vm["host"] for vm in again] != [lost_host]
    described = client.describe_training_job(TrainingJobName="ray-retried")
    restarts = [r for r in described["SecondaryStatusTransitions"] if r["Status"] == "Restarting"]
    assert len(restarts) == 1 and "host lost" in restarts[0]["StatusMessage"]
    client.stop_training_job(TrainingJobName="ray-retried")
    assert wait_terminal(client, "ray-retried")["TrainingJobStatus"] == "Stopped"
    # The host stays listed (its VMs' history names it), with nothing left to place on.
    wait_until(lambda: _capacity(server, lost_host) == 0, what="the lost node's capacity to leave the pool")
    assert not _vm_processes([vm["id"] for vm in running.values()])


def _capacity(server: Server, host: str) -> float:
    found = [h["capacity"] for h in _hosts(server) if h["name"] == host]
    return sum(found[0].values()) if found else 0.0


def _node_of(cluster: RayCluster, host: str) -> Node:
    """The worker a host is: hosts are named by the node's address."""
    address = host.rsplit("-", 1)[0]
    return next(node for node in cluster.nodes if node.address == address)
