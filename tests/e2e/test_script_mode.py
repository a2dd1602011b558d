"""Script mode end to end: user code runs with the SageMaker contract, within its VM's limits."""

from __future__ import annotations

import json
import tarfile
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import create_request, sagemaker_client
from tests.support.jobs import fetch_object, wait_terminal
from tests.support.server import ROOT_AUTH, Server, running_server

pytestmark = pytest.mark.e2e

TRAIN_SCRIPT = """
import argparse, json, os, signal, sys, time

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=1)
parser.add_argument("--model-dir", default=os.environ["SM_MODEL_DIR"])
parser.add_argument("--train", default=os.environ["SM_CHANNEL_TRAIN"])
args = parser.parse_args()

files = sorted(os.listdir(args.train))
for epoch in range(args.epochs):
    print(f"epoch={epoch} loss={1.0 / (epoch + 1):.4f}", flush=True)
with open(os.path.join(args.model_dir, "model.json"), "w") as f:
    env = os.environ
    json.dump({"files": files, "host": env["SM_CURRENT_HOST"], "hosts": json.loads(env["SM_HOSTS"]),
               "cpus": env["SM_NUM_CPUS"], "job": env["TRAINING_JOB_NAME"]}, f)
"""


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Server]:
    env = {"SAGELITE_STOP_GRACE_SECONDS": "2", "SAGELITE_SCHEDULER_INTERVAL_SECONDS": "0.2"}
    with running_server(tmp_path / "data", env=env) as server:
        yield server


def _source(tmp_path: Path, name: str, body: str) -> Path:
    source = tmp_path / f"src-{name}"
    source.mkdir()
    (source / "train.py").write_text(textwrap.dedent(body))
    return source


def _script_job(
    name: str, source: Path, data: Path, *, count: int = 1, instance_type: str = "ml.m5.large", **extra: Any
) -> dict[str, Any]:
    channel = {
        "S3DataSource": {
            "S3DataType": "S3Prefix",
            "S3Uri": f"file://{data}",
            "S3DataDistributionType": extra.pop("distribution", "FullyReplicated"),
        }
    }
    return create_request(
        name,
        AlgorithmSpecification={
            "TrainingImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-training:latest",
            "TrainingInputMode": "File",
            "MetricDefinitions": [{"Name": "train:loss", "Regex": r"loss=([0-9.]+)"}],
        },
        HyperParameters={
            "sagemaker_program": json.dumps("train.py"),
            "sagemaker_submit_directory": json.dumps(f"file://{source}"),
            **extra.pop("hyperparameters", {}),
        },
        InputDataConfig=[{"ChannelName": "train", "DataSource": channel}],
        ResourceConfig={"InstanceType": instance_type, "InstanceCount": count, "VolumeSizeInGB": 1},
        **extra,
    )


def _data(tmp_path: Path, files: int = 4) -> Path:
    data = tmp_path / "data-in"
    data.mkdir()
    for index in range(files):
        (data / f"part-{index}.csv").write_text(f"{index},1,2\n")
    return data


def _model(server: Server, uri: str, tmp_path: Path, member: str = "model.json") -> dict[str, Any]:
    with tarfile.open(fetch_object(server, uri, tmp_path / "model.tar.gz")) as archive:
        extracted = archive.extractfile(member)
        assert extracted is not None
        loaded: dict[str, Any] = json.load(extracted)
        return loaded


def test_sagemaker_style_script_trains_and_writes_its_model(live: Server, tmp_path: Path) -> None:
    client = sagemaker_client(live.url)
    source, data = _source(tmp_path, "ok", TRAIN_SCRIPT), _data(tmp_path)
    client.create_training_job(**_script_job("script", source, data, hyperparameters={"epochs": "3"}))
    job = wait_terminal(client, "script")
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    model = _model(live, job["ModelArtifacts"]["S3ModelArtifacts"], tmp_path)
    assert model == {
        "files": ["part-0.csv", "part-1.csv", "part-2.csv", "part-3.csv"],
        "host": "algo-1",
        "hosts": ["algo-1"],
        "cpus": "2",
        "job": "script",
    }
    [loss] = job["FinalMetricDataList"]
    assert loss["MetricName"] == "train:loss" and loss["Value"] == pytest.approx(1 / 3, abs=1e-3)


def test_sharded_by_s3_key_gives_each_instance_half_of_the_files(live: Server, tmp_path: Path) -> None:
    script = TRAIN_SCRIPT.replace('"model.json"', 'os.environ["SM_CURRENT_HOST"] + ".json"')
    client = sagemaker_client(live.url)
    request = _script_job(
        "sharded", _source(tmp_path, "sh", script), _data(tmp_path), count=2, distribution="ShardedByS3Key"
    )
    client.create_training_job(**request)
    job = wait_terminal(client, "sharded")
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    uri = job["ModelArtifacts"]["S3ModelArtifacts"]
    seen = {name: _model(live, uri, tmp_path, name)["files"] for name in ("algo-1.json", "algo-2.json")}
    assert seen == {"algo-1.json": ["part-0.csv", "part-2.csv"], "algo-2.json": ["part-1.csv", "part-3.csv"]}


def test_a_crashing_vm_fails_the_job_and_stops_its_sibling(live: Server, tmp_path: Path) -> None:
    script = """
        import os, sys, time
        if os.environ["SM_CURRENT_HOST"] == "algo-2":
            raise ValueError("algo-2 broke on purpose")
        time.sleep(600)
    """
    client = sagemaker_client(live.url)
    client.create_training_job(
        **_script_job("crash", _source(tmp_path, "c", script), _data(tmp_path), count=2)
    )
    job = wait_terminal(client, "crash")
    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"].startswith("AlgorithmError:")
    assert "algo-2 broke on purpose" in job["FailureReason"]
    vms = httpx.get(f"{live.url}/v1/vms", params={"job": "crash"}, auth=ROOT_AUTH).json()["vms"]
    codes = {vm["hostname"]: vm["exit_code"] for vm in vms}
    assert codes["algo-2"] == 1 and codes["algo-1"] in (-15, -9)


def test_a_memory_hog_is_stopped_and_reported(live: Server, tmp_path: Path) -> None:
    script = """
        hog = []
        while True:
            hog.append(bytearray(256 * 1024 * 1024))
    """
    client = sagemaker_client(live.url)
    source = _source(tmp_path, "m", script)
    client.create_training_job(**_script_job("hog", source, _data(tmp_path), instance_type="ml.t3.medium"))
    job = wait_terminal(client, "hog")
    assert job["TrainingJobStatus"] == "Failed"
    assert "ran out of memory" in job["FailureReason"] and "ml.t3.medium" in job["FailureReason"]


def test_a_disk_hog_is_stopped_at_its_volume_size(live: Server, tmp_path: Path) -> None:
    script = """
        import os
        block = b"x" * (16 * 1024 * 1024)
        with open(os.path.join(os.environ["SM_MODEL_DIR"], "huge.bin"), "wb") as f:
            while True:
                f.write(block)
                f.flush()
    """
    client = sagemaker_client(live.url)
    client.create_training_job(**_script_job("disk", _source(tmp_path, "d", script), _data(tmp_path)))
    job = wait_terminal(client, "disk")
    assert job["TrainingJobStatus"] == "Failed"
    assert "VolumeSizeInGB" in job["FailureReason"]


def test_an_image_without_an_entry_point_says_what_to_provide(live: Server, tmp_path: Path) -> None:
    client = sagemaker_client(live.url)
    image = {"TrainingImage": "my-registry/custom:1", "TrainingInputMode": "File"}
    client.create_training_job(**create_request("no-entry", AlgorithmSpecification=image))
    job = wait_terminal(client, "no-entry")
    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"].startswith("ClientError:") and "sagemaker_program" in job["FailureReason"]


def test_logs_and_metric_series_are_served(live: Server, tmp_path: Path) -> None:
    client = sagemaker_client(live.url)
    source, data = _source(tmp_path, "logs", TRAIN_SCRIPT), _data(tmp_path)
    client.create_training_job(**_script_job("watched", source, data, hyperparameters={"epochs": "3"}))
    with httpx.stream(
        "GET",
        f"{live.url}/v1/training-jobs/watched/logs",
        params={"follow": "true"},
        timeout=60,
        auth=ROOT_AUTH,
    ) as response:
        followed = [line for line in response.iter_lines() if line]
    assert "[algo-1] epoch=2 loss=0.3333" in followed
    assert wait_terminal(client, "watched")["TrainingJobStatus"] == "Completed"
    body = httpx.get(f"{live.url}/v1/training-jobs/watched/logs", auth=ROOT_AUTH).text
    assert body.splitlines() == followed
    series = httpx.get(f"{live.url}/v1/training-jobs/watched/metrics", auth=ROOT_AUTH).json()
    assert [round(p["value"], 4) for p in series["metrics"]["train:loss"]] == [1.0, 0.5, 0.3333]
    assert series["final"][0]["MetricName"] == "train:loss"
    assert httpx.get(f"{live.url}/v1/training-jobs/nope/logs", auth=ROOT_AUTH).status_code == 404


def test_checkpoints_are_restored_into_a_resubmitted_job(live: Server, tmp_path: Path) -> None:
    script = """
        import json, os
        checkpoints = os.path.join(os.environ["SAGEMAKER_BASE_DIR"], "checkpoints")
        seen = sorted(os.listdir(checkpoints))
        open(os.path.join(checkpoints, f"run-{len(seen)}"), "w").write("state")
        json.dump({"seen": seen}, open(os.path.join(os.environ["SM_MODEL_DIR"], "model.json"), "w"))
    """
    client = sagemaker_client(live.url)
    source, data = _source(tmp_path, "ckpt", script), _data(tmp_path)
    config = {"S3Uri": "s3://bucket/checkpoints/resumable"}
    client.create_training_job(**_script_job("first", source, data, CheckpointConfig=config))
    first = wait_terminal(client, "first")
    client.create_training_job(**_script_job("second", source, data, CheckpointConfig=config))
    second = wait_terminal(client, "second")
    assert _model(live, first["ModelArtifacts"]["S3ModelArtifacts"], tmp_path) == {"seen": []}
    assert _model(live, second["ModelArtifacts"]["S3ModelArtifacts"], tmp_path) == {"seen": ["run-0"]}
