"""Jobs really run: real server, real boto3, real VM processes, bounded by timeouts."""

from __future__ import annotations

import os
import signal
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from tests.conftest import create_request, sagemaker_client
from tests.support.jobs import fetch_object, s3_client, wait_terminal
from tests.support.polling import wait_until
from tests.support.postgres import Postgres
from tests.support.server import ROOT_AUTH, Server, running_server
from tests.support.vms import paused as vm_paused

pytestmark = pytest.mark.e2e

GRACE = 2.0


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A linearly separable CSV, label first, no header (SageMaker's built-in convention)."""
    root = tmp_path_factory.mktemp("dataset")
    rng = np.random.default_rng(7)
    features = rng.normal(size=(1500, 6))
    labels = (features[:, 0] - features[:, 1] > 0).astype(int)
    np.savetxt(root / "train.csv", np.column_stack([labels, features]), delimiter=",", fmt="%.5f")
    return root


@pytest.fixture(params=["sqlite", "postgresql"])
def live(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    """The server on its embedded SQLite, and on a fresh PostgreSQL database: the same flows on both."""
    env = {"SAGELITE_STOP_GRACE_SECONDS": str(GRACE), "SAGELITE_SCHEDULER_INTERVAL_SECONDS": "0.2"}
    if request.param == "postgresql":
        postgres: Postgres = request.getfixturevalue("postgres")
        env["SAGELITE_DATABASE_URL"] = postgres.fresh_database()
    with running_server(tmp_path / "data", env=env) as server:
        yield server


def _job(name: str, dataset: Path, **overrides: Any) -> dict[str, Any]:
    channel = {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"file://{dataset}"}}
    request = create_request(
        name,
        AlgorithmSpecification={
            "TrainingImage": "mlp",
            "TrainingInputMode": "File",
            "MetricDefinitions": [{"Name": "validation:accuracy", "Regex": r"validation:accuracy=([0-9.]+)"}],
        },
        HyperParameters={"epochs": "5"},
        InputDataConfig=[{"ChannelName": "train", "DataSource": channel}],
    )
    request.update(overrides)
    return request


def _vms(server: Server, job: str) -> list[dict[str, Any]]:
    vms: list[dict[str, Any]] = httpx.get(f"{server.url}/v1/vms", params={"job": job}, auth=ROOT_AUTH).json()[
        "vms"
    ]
    return vms


def _running_vms(server: Server, job: str) -> list[dict[str, Any]]:
    return wait_until(
        lambda: _vms(server, job),
        until=lambda vms: vms and all(vm["state"] == "Running" for vm in vms),
        what=f"the VMs of {job} to be running",
    )


def _model_tarball(server: Server, uri: str, dest: Path) -> list[str]:
    with tarfile.open(fetch_object(server, uri, dest)) as archive:
        return archive.getnames()


def _gone(pid: int) -> bool:
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_two_instance_job_runs_on_two_vms_and_completes(live: Server, dataset: Path, tmp_path: Path) -> None:
    client = sagemaker_client(live.url)
    resources = {"InstanceType": "ml.m5.large", "InstanceCount": 2, "VolumeSizeInGB": 1}
    client.create_training_job(**_job("two-vms", dataset, ResourceConfig=resources))
    job = wait_terminal(client, "two-vms")
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    steps = [t["Status"] for t in job["SecondaryStatusTransitions"]]
    assert steps == ["Pending", "Starting", "Downloading", "Training", "Uploading", "Completed"]
    vms = _vms(live, "two-vms")
    assert sorted(vm["hostname"] for vm in vms) == ["algo-1", "algo-2"]
    assert all(vm["state"] == "Terminated" and vm["exit_code"] == 0 for vm in vms)
    assert len({vm["pid"] for vm in vms}) == 2
    # Per instance, as botocore's model defines it, and never more than the training time.
    assert 1 <= job["BillableTimeInSeconds"] <= job["TrainingTimeInSeconds"]
    [metric] = job["FinalMetricDataList"]
    assert metric["MetricName"] == "validation:accuracy" and metric["Value"] > 0.8
    assert job["ModelArtifacts"]["S3ModelArtifacts"] == "s3://bucket/output/two-vms/output/model.tar.gz"
    assert "model.json" in _model_tarball(live, job["ModelArtifacts"]["S3ModelArtifacts"], tmp_path / "m.tgz")
    hosts = httpx.get(f"{live.url}/v1/hosts", auth=ROOT_AUTH).json()["hosts"]
    assert all(h["allocated"]["vcpus"] == 0 and h["free"] == h["capacity"] for h in hosts)


def test_max_runtime_stops_the_job_and_still_packages_the_model(
    live: Server, dataset: Path, tmp_path: Path
) -> None:
    client = sagemaker_client(live.url)
    request = _job("deadline", dataset, HyperParameters={"epochs": "100000"})
    request["StoppingCondition"] = {"MaxRuntimeInSeconds": 2}
    client.create_training_job(**request)
    job = wait_terminal(client, "deadline")
    assert (job["TrainingJobStatus"], job["SecondaryStatus"]) == ("Stopped", "MaxRuntimeExceeded")
    steps = [t["Status"] for t in job["SecondaryStatusTransitions"]]
    assert steps[-4:] == ["Training", "Stopping", "Uploading", "MaxRuntimeExceeded"]
    # Cut at its max runtime, not before (how soon after is the wait's stall guard, not a claim).
    assert (job["TrainingEndTime"] - job["TrainingStartTime"]).total_seconds() >= 2
    assert "model.json" in _model_tarball(live, job["ModelArtifacts"]["S3ModelArtifacts"], tmp_path / "m.tgz")


def test_stop_request_ends_a_running_job_stopped(live: Server, dataset: Path) -> None:
    client = sagemaker_client(live.url)
    client.create_training_job(**_job("to-stop", dataset, HyperParameters={"epochs": "100000"}))
    wait_until(
        lambda: client.describe_training_job(TrainingJobName="to-stop")["SecondaryStatus"],
        until=lambda secondary: secondary == "Training",
        what="to-stop to be training",
    )
    client.stop_training_job(TrainingJobName="to-stop")
    job = wait_terminal(client, "to-stop")
    assert (job["TrainingJobStatus"], job["SecondaryStatus"]) == ("Stopped", "Stopped")
    assert [t["Status"] for t in job["SecondaryStatusTransitions"]][-3:] == [
        "Stopping",
        "Uploading",
        "Stopped",
    ]
    vms = _vms(live, "to-stop")
    assert vms and all(_gone(vm["pid"]) for vm in vms)


def test_bad_data_fails_the_job_with_a_readable_reason(live: Server, tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "train.csv").write_text("1,2,3\n0,abc,4\n")
    client = sagemaker_client(live.url)
    client.create_training_job(**_job("bad-data", bad))
    job = wait_terminal(client, "bad-data")
    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"].startswith("ClientError:")
    assert len(job["FailureReason"]) <= 1024


def test_missing_input_prefix_fails_in_downloading(live: Server) -> None:
    client = sagemaker_client(live.url)
    channel = {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://bucket/nothing-here/"}}
    client.create_training_job(
        **create_request("no-input", InputDataConfig=[{"ChannelName": "train", "DataSource": channel}])
    )
    job = wait_terminal(client, "no-input")
    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"].startswith("ClientError: No S3 objects found")
    assert [t["Status"] for t in job["SecondaryStatusTransitions"]][-2:] == ["Downloading", "Failed"]


def test_pause_and_resume_a_vm(live: Server, dataset: Path) -> None:
    client = sagemaker_client(live.url)
    client.create_training_job(**_job("pausable", dataset, HyperParameters={"epochs": "100000"}))
    [vm] = _running_vms(live, "pausable")
    paused = httpx.post(f"{live.url}/v1/vms/{vm['id']}/pause", auth=ROOT_AUTH).json()
    assert paused["state"] == "Paused"
    wait_until(lambda: vm_paused(live, vm), what=f"VM {vm['id']} to be frozen")
    assert httpx.post(f"{live.url}/v1/vms/{vm['id']}/pause", auth=ROOT_AUTH).status_code == 400
    assert httpx.post(f"{live.url}/v1/vms/vm-unknown/pause", auth=ROOT_AUTH).status_code == 404
    assert httpx.post(f"{live.url}/v1/vms/{vm['id']}/resume", auth=ROOT_AUTH).json()["state"] == "Running"
    client.stop_training_job(TrainingJobName="pausable")
    assert wait_terminal(client, "pausable")["TrainingJobStatus"] == "Stopped"


def test_a_job_that_never_fits_is_refused_at_create(live: Server) -> None:
    client = sagemaker_client(live.url)
    resources = {"InstanceType": "ml.p4d.24xlarge", "InstanceCount": 1, "VolumeSizeInGB": 1}
    with pytest.raises(client.exceptions.ResourceLimitExceeded, match=r"ml\.p4d\.24xlarge"):
        client.create_training_job(**create_request("too-big", ResourceConfig=resources))


def test_sigkilled_server_recovers_without_orphans(tmp_path: Path, dataset: Path) -> None:
    data = tmp_path / "data"
    with running_server(data) as first:
        client = sagemaker_client(first.url)
        client.create_training_job(**_job("interrupted", dataset, HyperParameters={"epochs": "100000"}))
        [vm] = _running_vms(first, "interrupted")
        first.process.send_signal(signal.SIGKILL)
        first.process.wait(timeout=10)
        assert not _gone(vm["pid"])  # the VM outlived its server: recovery must find it
    with running_server(data) as second:
        client = sagemaker_client(second.url)
        job = client.describe_training_job(TrainingJobName="interrupted")
        assert job["TrainingJobStatus"] == "Failed"
        assert "service restarted" in job["FailureReason"]
        wait_until(lambda: _gone(vm["pid"]), what=f"the orphaned process group {vm['pid']} to be gone")
        assert [v["state"] for v in _vms(second, "interrupted")] == ["Terminated"]
        hosts = httpx.get(f"{second.url}/v1/hosts", auth=ROOT_AUTH).json()["hosts"]
        assert all(h["allocated"]["vcpus"] == 0 for h in hosts)


def test_s3_dataset_in_and_model_out_through_the_s3_api(live: Server, dataset: Path, tmp_path: Path) -> None:
    s3 = s3_client(live.url)
    s3.create_bucket(Bucket="datasets")
    s3.upload_file(str(dataset / "train.csv"), "datasets", "tabular/train/train.csv")
    client = sagemaker_client(live.url)
    channel = {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://datasets/tabular/train/"}}
    image = "382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1"
    request = create_request(
        "via-s3",
        AlgorithmSpecification={"TrainingImage": image, "TrainingInputMode": "File"},
        HyperParameters={"predictor_type": "binary_classifier", "feature_dim": "6", "epochs": "5"},
        InputDataConfig=[{"ChannelName": "train", "DataSource": channel}],
        OutputDataConfig={"S3OutputPath": "s3://datasets/models"},
    )
    client.create_training_job(**request)
    job = wait_terminal(client, "via-s3")
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    key = "models/via-s3/output/model.tar.gz"
    assert job["ModelArtifacts"]["S3ModelArtifacts"] == f"s3://datasets/{key}"
    listed = s3.list_objects_v2(Bucket="datasets", Prefix="models/via-s3/output/")["Contents"]
    assert sorted(o["Key"] for o in listed) == [key, "models/via-s3/output/output.tar.gz"]
    s3.download_file("datasets", key, str(tmp_path / "model.tar.gz"))
    with tarfile.open(tmp_path / "model.tar.gz") as archive:
        assert "model.json" in archive.getnames()
    over_rest = httpx.get(f"{live.url}/v1/training-jobs/via-s3/model", auth=ROOT_AUTH).content
    assert over_rest == (tmp_path / "model.tar.gz").read_bytes()


def test_job_model_downloads_over_rest_with_its_checksum(live: Server, dataset: Path) -> None:
    import hashlib

    client = sagemaker_client(live.url)
    client.create_training_job(**_job("rest-model", dataset))
    assert wait_terminal(client, "rest-model")["TrainingJobStatus"] == "Completed"
    response = httpx.get(f"{live.url}/v1/training-jobs/rest-model/model", auth=ROOT_AUTH)
    assert response.status_code == 200
    assert response.headers["x-checksum-sha256"] == hashlib.sha256(response.content).hexdigest()
    assert response.headers["content-length"] == str(len(response.content))
    ranged = httpx.get(
        f"{live.url}/v1/training-jobs/rest-model/model", headers={"Range": "bytes=0-9"}, auth=ROOT_AUTH
    )
    assert ranged.status_code == 206 and ranged.content == response.content[:10]
