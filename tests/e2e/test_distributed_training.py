"""Multi-instance jobs that train together, through the real server and boto3: a gloo DDP script under
torchrun on two VMs, the built-in mlp trained data-parallel on two lopsided shards, and the built-in kmeans
clustering two shards that each hold only some of the clusters. Each runs under
the process executor (VMs meet on loopback) and the OCI executor (VMs meet at algo-1 on their job's
network); the OCI runs are skipped where runc or job networks cannot run, except under CI=true."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from app.training import torchrun
from tests.conftest import create_request, sagemaker_client
from tests.support.jobs import s3_client, wait_terminal
from tests.support.script_jobs import model_json, script_job, source
from tests.support.server import ROOT_AUTH, Server, running_server
from tests.support.vms import isolation, require_oci

# Each VM imports torch (twice under torchrun): seconds on a quiet machine, minutes on a loaded one.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

ISOLATIONS = ("process", "oci")
TWO_VMS = {"InstanceType": "ml.m5.large", "InstanceCount": 2, "VolumeSizeInGB": 1}
JOB_TIMEOUT = 300  # generous: two VMs each import torch on a shared two-core machine


@pytest.fixture(params=ISOLATIONS)
def live(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    if request.param == "oci":
        require_oci()
    env = {"SAGELITE_ISOLATION": request.param, "SAGELITE_SCHEDULER_INTERVAL_SECONDS": "0.2"}
    with running_server(tmp_path / "data", env=env) as server:
        assert isolation(server) == request.param
        yield server


def _logs(server: Server, job: str) -> str:
    return httpx.get(f"{server.url}/v1/training-jobs/{job}/logs", auth=ROOT_AUTH).text


def _vms(server: Server, job: str) -> list[dict[str, Any]]:
    vms: list[dict[str, Any]] = httpx.get(f"{server.url}/v1/vms", params={"job": job}, auth=ROOT_AUTH).json()[
        "vms"
    ]
    return vms


DDP_SCRIPT = """
import json, os
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

dist.init_process_group("gloo")  # torchrun's environment: rank, world size, master
rank, world = dist.get_rank(), dist.get_world_size()
torch.manual_seed(0)
model = DistributedDataParallel(torch.nn.Linear(3, 1))
optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
data = torch.Generator().manual_seed(rank)  # each rank its own samples
truth = torch.tensor([[1.0, -2.0, 0.5]])
for step in range(200):
    x = torch.randn(32, 3, generator=data)
    loss = ((model(x) - (x @ truth.T + 0.3)) ** 2).mean()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
host = os.environ["SM_CURRENT_HOST"]
print(f"ddp rank={rank} world={world} host={host} loss={loss.item():.6f}", flush=True)
hosts = [None] * world
dist.all_gather_object(hosts, host)
weight = model.module.weight.detach()
weights = [torch.zeros_like(weight) for _ in range(world)]
dist.all_gather(weights, weight)
same = all(torch.equal(w, weight) for w in weights)
if rank == 0:
    with open(os.path.join(os.environ["SM_MODEL_DIR"], "model.json"), "w") as out:
        facts = {"world": world, "hosts": hosts, "same_weights": same, "weight": weight.tolist()[0]}
        facts |= {"sm_hosts": json.loads(os.environ["SM_HOSTS"]), "num_cpus": os.environ["SM_NUM_CPUS"]}
        json.dump(facts, out)
dist.destroy_process_group()
"""


def test_a_gloo_ddp_script_trains_across_two_vms_under_torchrun(live: Server, tmp_path: Path) -> None:
    client = sagemaker_client(live.url)
    request = script_job("ddp", source(tmp_path, "ddp", DDP_SCRIPT), resources=TWO_VMS)
    request["HyperParameters"][torchrun.ENABLED] = "true"  # distribution={"torch_distributed": ...}
    client.create_training_job(**request)
    job = wait_terminal(client, "ddp", timeout=JOB_TIMEOUT)
    assert job["TrainingJobStatus"] == "Completed", (job.get("FailureReason"), _logs(live, "ddp")[-3000:])
    model = model_json(live, job, "model.json", tmp_path)
    assert model["world"] == 2 and model["hosts"] == ["algo-1", "algo-2"] and model["same_weights"]
    assert model["sm_hosts"] == ["algo-1", "algo-2"] and model["num_cpus"] == "2"
    assert np.allclose(model["weight"], [1.0, -2.0, 0.5], atol=0.05)
    logs = _logs(live, "ddp")
    assert "ddp rank=0 world=2 host=algo-1" in logs and "ddp rank=1 world=2 host=algo-2" in logs
    assert sorted((vm["hostname"], vm["exit_code"]) for vm in _vms(live, "ddp")) == [
        ("algo-1", 0),
        ("algo-2", 0),
    ]


def _lopsided(rng: np.random.Generator, rows: int, *, share_of_1: float) -> np.ndarray:
    """CSV rows (label first) of two overlapping classes; `share_of_1` of them are of class 1."""
    labels = (rng.random(rows) < share_of_1).astype(float)
    centers = np.array([[-1.0, 0.5, 0.0, 0.0], [1.0, -0.5, 0.0, 0.0]])
    return np.column_stack([labels, centers[labels.astype(int)] + rng.normal(0.0, 1.2, (rows, 4))])


def _builtin_job(
    name: str, train_prefix: str, *, count: int, hyperparameters: dict[str, str], image: str = "mlp"
) -> dict[str, Any]:
    def channel(channel_name: str, prefix: str, distribution: str) -> dict[str, Any]:
        source = {"S3DataType": "S3Prefix", "S3Uri": prefix, "S3DataDistributionType": distribution}
        return {
            "ChannelName": channel_name,
            "DataSource": {"S3DataSource": source},
            "ContentType": "text/csv",
        }

    return create_request(
        name,
        AlgorithmSpecification={"TrainingImage": image, "TrainingInputMode": "File"},
        HyperParameters=hyperparameters,
        InputDataConfig=[
            channel("train", train_prefix, "ShardedByS3Key"),
            channel("validation", "s3://shards/validation/", "FullyReplicated"),
        ],
        OutputDataConfig={"S3OutputPath": "s3://shards/out"},
        ResourceConfig={**TWO_VMS, "InstanceCount": count},
    )


def _mlp_job(name: str, train_prefix: str, *, count: int, batch: int) -> dict[str, Any]:
    hyperparameters = {"epochs": "6", "mini_batch_size": str(batch), "hidden_layers": "16", "seed": "1"}
    return _builtin_job(name, train_prefix, count=count, hyperparameters=hyperparameters)


def _upload(s3: Any, tmp_path: Path, parts: dict[str, np.ndarray]) -> None:
    s3.create_bucket(Bucket="shards")
    for key, rows in parts.items():
        np.savetxt(tmp_path / "part.csv", rows, delimiter=",", fmt="%.6f")
        s3.upload_file(str(tmp_path / "part.csv"), "shards", key)


def _metric(job: dict[str, Any], name: str) -> float:
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    return float(next(m["Value"] for m in job["FinalMetricDataList"] if m["MetricName"] == name))


def _accuracy(job: dict[str, Any]) -> float:
    return _metric(job, "validation:accuracy")


def test_builtin_mlp_on_two_vms_trains_one_model_from_both_shards(live: Server, tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    parts = {
        "train/part-0.csv": _lopsided(rng, 1500, share_of_1=0.05),  # algo-1's shard: nearly all class 0
        "train/part-1.csv": _lopsided(rng, 1500, share_of_1=0.95),  # algo-2's: nearly all class 1
        "validation/all.csv": _lopsided(rng, 2000, share_of_1=0.5),
    }
    _upload(s3_client(live.url), tmp_path, parts)
    client = sagemaker_client(live.url)
    jobs = {
        "together": _mlp_job("together", "s3://shards/train/", count=2, batch=32),
        # One VM on all the rows, with the team's effective mini-batch (two VMs' batches of 32).
        "whole": _mlp_job("whole", "s3://shards/train/", count=1, batch=64),
        "shard-0-alone": _mlp_job("shard-0-alone", "s3://shards/train/part-0", count=1, batch=32),
        "shard-1-alone": _mlp_job("shard-1-alone", "s3://shards/train/part-1", count=1, batch=32),
    }
    for request in jobs.values():
        client.create_training_job(**request)
    accuracy = {name: _accuracy(wait_terminal(client, name, timeout=JOB_TIMEOUT)) for name in jobs}

    logs = _logs(live, "together")
    assert "rank 0 of 2 trains on 1500 rows of channel 'train'" in logs
    assert "rank 1 of 2 trains on 1500 rows of channel 'train'" in logs
    assert abs(accuracy["together"] - accuracy["whole"]) <= 0.01, accuracy
    assert max(accuracy["shard-0-alone"], accuracy["shard-1-alone"]) < accuracy["together"] - 0.1, accuracy
    assert sorted((vm["hostname"], vm["exit_code"]) for vm in _vms(live, "together")) == [
        ("algo-1", 0),
        ("algo-2", 0),
    ]


def _clusters(rng: np.random.Generator, rows: int, *, among: tuple[int, ...]) -> np.ndarray:
    """CSV rows (the cluster first, a label k-means ignores) around some of four well-apart centers."""
    centers = np.array([[0.0, 0.0, 0.0, 0.0], [8.0, 0.0, 0.0, 0.0], [0.0, 8.0, 0.0, 0.0], [0, 0, 8.0, 8.0]])
    labels = rng.choice(among, size=rows)
    return np.column_stack([labels, centers[labels] + rng.normal(0.0, 1.0, (rows, 4))])


def test_builtin_kmeans_on_two_vms_finds_the_clusters_of_both_shards(live: Server, tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    parts = {
        "train/part-0.csv": _clusters(rng, 1200, among=(0, 1)),  # algo-1 sees two of the clusters
        "train/part-1.csv": _clusters(rng, 800, among=(2, 3)),  # algo-2 the other two
        "validation/all.csv": _clusters(rng, 1000, among=(0, 1, 2, 3)),
    }
    _upload(s3_client(live.url), tmp_path, parts)
    client = sagemaker_client(live.url)
    hyperparameters = {"k": "4", "feature_dim": "4", "mini_batch_size": "100", "init_method": "kmeans++"}
    jobs = {
        "together": _builtin_job(
            "together", "s3://shards/train/", count=2, hyperparameters=hyperparameters, image="kmeans"
        ),
        "whole": _builtin_job(
            "whole", "s3://shards/train/", count=1, hyperparameters=hyperparameters, image="kmeans"
        ),
        "shard-0-alone": _builtin_job(
            "shard-0-alone",
            "s3://shards/train/part-0",
            count=1,
            hyperparameters=hyperparameters,
            image="kmeans",
        ),
    }
    for request in jobs.values():
        client.create_training_job(**request)
    msd = {name: _metric(wait_terminal(client, name, timeout=JOB_TIMEOUT), "validation:msd") for name in jobs}

    assert "rank 1 of 2 trains on 800 rows of channel 'train'" in _logs(live, "together")
    assert abs(msd["together"] - msd["whole"]) <= 0.05 * msd["whole"], msd
    assert msd["shard-0-alone"] > 3 * msd["together"], msd  # two clusters it never saw
