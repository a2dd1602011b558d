"""Each built-in algorithm learns through the real server; its artifact downloads, unpacks and predicts."""

from __future__ import annotations

import tarfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from app.training import registry
from tests.conftest import create_request, sagemaker_client
from tests.support.jobs import s3_client, wait_terminal
from tests.support.server import Server, running_server

pytestmark = pytest.mark.e2e

RNG = np.random.default_rng(11)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    env = {"SAGELITE_SCHEDULER_INTERVAL_SECONDS": "0.2"}
    with running_server(tmp_path_factory.mktemp("algorithms") / "data", env=env) as server:
        yield server


def _classification(rows: int) -> tuple[np.ndarray, np.ndarray]:
    x = RNG.normal(size=(rows, 5))
    y = (x[:, 0] + 0.5 * x[:, 1] - x[:, 2] > 0).astype(float)
    return x, y


def _clusters(rows: int) -> tuple[np.ndarray, np.ndarray]:
    centers = np.array([[0.0, 0.0], [8.0, 8.0], [-8.0, 8.0]])
    labels = RNG.integers(0, 3, size=rows)
    return centers[labels] + RNG.normal(scale=0.5, size=(rows, 2)), labels.astype(float)


CASES = {
    "mlp": ("mlp", {"epochs": "20"}, _classification),
    "linear-learner": (
        "382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1",
        {"predictor_type": "binary_classifier", "feature_dim": "5", "epochs": "20"},
        _classification,
    ),
    "kmeans": ("kmeans:1", {"k": "3", "feature_dim": "2"}, _clusters),
}


@pytest.mark.parametrize("algorithm", sorted(CASES))
def test_builtin_algorithm_learns_and_its_model_predicts(
    live: Server, tmp_path: Path, algorithm: str
) -> None:
    image, hyperparameters, make = CASES[algorithm]
    x, y = make(3000)
    train, test = slice(0, 2400), slice(2400, None)
    csv = tmp_path / "train.csv"
    features = x[train] if algorithm == "kmeans" else np.column_stack([y[train], x[train]])
    np.savetxt(csv, features, delimiter=",", fmt="%.6f")
    s3 = s3_client(live.url)
    bucket = f"algo-{algorithm}"
    s3.create_bucket(Bucket=bucket)
    s3.upload_file(str(csv), bucket, "train/train.csv")
    client = sagemaker_client(live.url)
    channel = {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{bucket}/train/"}}
    client.create_training_job(
        **create_request(
            f"learn-{algorithm}",
            AlgorithmSpecification={"TrainingImage": image, "TrainingInputMode": "File"},
            HyperParameters=hyperparameters,
            InputDataConfig=[{"ChannelName": "train", "DataSource": channel, "ContentType": "text/csv"}],
            OutputDataConfig={"S3OutputPath": f"s3://{bucket}/out"},
        )
    )
    job = wait_terminal(client, f"learn-{algorithm}", timeout=120)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    defined = {d["Name"] for d in job["AlgorithmSpecification"]["MetricDefinitions"]}
    assert {m["MetricName"] for m in job["FinalMetricDataList"]} <= defined
    assert job["FinalMetricDataList"], "built-in metrics were not collected"

    s3.download_file(bucket, f"out/learn-{algorithm}/output/model.tar.gz", str(tmp_path / "model.tar.gz"))
    model_dir = tmp_path / "model"
    with tarfile.open(tmp_path / "model.tar.gz") as archive:
        archive.extractall(model_dir, filter="data")
    builtin = registry.by_name(algorithm)
    assert builtin is not None
    predicted = np.asarray(builtin.predict(model_dir, x[test]))
    if algorithm == "kmeans":
        # Same cluster ⇔ same true label, whatever the numbering.
        agreement = np.mean([len(set(predicted[y[test] == label])) == 1 for label in range(3)])
        assert agreement == 1.0
    else:
        accuracy = float(np.mean(predicted.round() == y[test]))
        baseline = max(float(np.mean(y[test])), 1 - float(np.mean(y[test])))
        assert accuracy > baseline + 0.25, (accuracy, baseline)
