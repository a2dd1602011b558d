"""The built-in algorithms learn, reproduce with a seed, save a model predict() can apply; the entry point."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from app.runtime import contract, sm_env
from app.training import builtin_algorithms, kmeans, linear_learner, mlp, registry
from app.training.context import Channel, TrainContext
from app.training.errors import HyperparameterError

REPO = Path(__file__).resolve().parents[2]
Array = npt.NDArray[np.float64]


def _write_channel(directory: Path, x: Array, y: Array | None = None) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    rows = x if y is None else np.column_stack([y, x])
    np.savetxt(directory / "data.csv", rows, delimiter=",", fmt="%.6g")


def _context(
    tmp_path: Path, hyperparameters: Mapping[str, str], lines: list[str], content_type: str | None = None
) -> TrainContext:
    channels = {
        path.name: Channel(name=path.name, path=path, content_type=content_type)
        for path in sorted((tmp_path / "data").iterdir())
    }
    return TrainContext(
        model_dir=tmp_path / "model", hyperparameters=hyperparameters, channels=channels, emit=lines.append
    )


def _xor(rng: np.random.Generator, rows: int) -> tuple[Array, Array]:
    """Two classes no linear model separates: the sign of x0 * x1, plus noise features."""
    x = rng.standard_normal((rows, 6))
    return x, (x[:, 0] * x[:, 1] > 0).astype(np.float64)


def _blobs(rng: np.random.Generator, rows: int, centers: Array, scale: float = 1.0) -> tuple[Array, Array]:
    labels = rng.integers(0, len(centers), rows)
    return centers[labels] + rng.normal(0.0, scale, (rows, centers.shape[1])), labels.astype(np.float64)


def _metric(lines: list[str], name: str) -> float:
    values = [
        float(token.split("=")[1]) for line in lines for token in line.split() if token.startswith(name + "=")
    ]
    assert values, f"{name} was never printed"
    return values[-1]


def test_mlp_learns_a_nonlinear_boundary_and_predict_agrees(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x, y = _xor(rng, 3000)
    _write_channel(tmp_path / "data/train", x, y)
    lines: list[str] = []
    hyperparameters = {"epochs": "25", "mini_batch_size": "64", "learning_rate": "0.003", "seed": "3"}
    result = mlp.train(_context(tmp_path, hyperparameters, lines))
    assert result.epochs == 25 and not result.interrupted
    assert sum(line.startswith("#metric epoch=") for line in lines) == 25
    assert _metric(lines, "validation:accuracy") > 0.9  # a linear model gets about 0.5 here
    assert _metric(lines, "train:loss") < 0.3
    x_new, y_new = _xor(rng, 1000)
    assert np.mean(mlp.predict(tmp_path / "model", x_new) == y_new) > 0.9
    meta = json.loads((tmp_path / "model/model.json").read_text())
    assert [layer["units"] for layer in meta["layers"]] == [64, 32, 1]
    assert meta["layers"][-1]["activation"] == "sigmoid" and meta["classes"] == [0.0, 1.0]


def test_mlp_is_reproducible_with_a_seed(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    x, y = _xor(rng, 600)
    weights = []
    for run, seed in enumerate(("5", "5", "6")):
        root = tmp_path / str(run)
        _write_channel(root / "data/train", x, y)
        mlp.train(_context(root, {"epochs": "3", "seed": seed, "hidden_layers": "16,8"}, []))
        with np.load(root / "model/weights.npz") as saved:
            weights.append(saved["W0"])
    assert np.array_equal(weights[0], weights[1])
    assert not np.array_equal(weights[0], weights[2])


def test_mlp_multiclass_uses_softmax_and_returns_class_values(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    centers = np.array([[0.0, 0.0], [4.0, 0.0], [0.0, 4.0]])
    x, labels = _blobs(rng, 1500, centers)
    _write_channel(tmp_path / "data/train", x, labels + 1.0)  # classes 1, 2, 3
    lines: list[str] = []
    mlp.train(_context(tmp_path, {"epochs": "10", "hidden_layers": "16"}, lines))
    assert _metric(lines, "validation:accuracy") > 0.9
    x_new, labels_new = _blobs(rng, 500, centers)
    assert np.mean(mlp.predict(tmp_path / "model", x_new) == labels_new + 1.0) > 0.9
    probabilities = mlp.predict_proba(tmp_path / "model", x_new)
    assert probabilities.shape == (500, 3) and np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


def test_mlp_early_stopping_keeps_the_best_epoch(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    x = rng.standard_normal((300, 5))
    _write_channel(tmp_path / "data/train", x, rng.integers(0, 2, 300).astype(np.float64))  # pure noise
    hyperparameters = {"epochs": "200", "early_stopping_patience": "2", "learning_rate": "0.01"}
    result = mlp.train(_context(tmp_path, hyperparameters, []))
    assert result.stopped_early and result.epochs < 200


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_linear_learner_binary_classifier(tmp_path: Path, optimizer: str) -> None:
    rng = np.random.default_rng(4)
    w = np.array([2.0, -1.0, 0.5, 0.0, 1.5])
    x = rng.standard_normal((2000, 5)) * 10 + 50  # standardization matters
    y = ((x - 50) @ w + rng.normal(0, 2, 2000) > 0).astype(np.float64)
    _write_channel(tmp_path / "data/train", x[:1500], y[:1500])
    _write_channel(tmp_path / "data/validation", x[1500:], y[1500:])
    lines: list[str] = []
    hyperparameters = {
        "predictor_type": "binary_classifier",
        "mini_batch_size": "100",
        "optimizer": optimizer,
    }
    linear_learner.train(_context(tmp_path, hyperparameters, lines))
    assert _metric(lines, "validation:binary_classification_accuracy") > 0.9
    assert _metric(lines, "train:objective_loss") < 0.4  # log(2) ≈ 0.69 for a coin flip
    assert np.mean(linear_learner.predict(tmp_path / "model", x[1500:]) == y[1500:]) > 0.9


def test_linear_learner_multiclass_and_reproducibility(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    x, labels = _blobs(rng, 1500, np.array([[0.0, 0.0], [5.0, 0.0], [0.0, 5.0], [5.0, 5.0]]))
    outputs = []
    for run in range(2):
        root = tmp_path / str(run)
        _write_channel(root / "data/train", x[:1200], labels[:1200])
        _write_channel(root / "data/validation", x[1200:], labels[1200:])
        lines: list[str] = []
        hyperparameters = {
            "predictor_type": "multiclass_classifier",
            "mini_batch_size": "50",
            "num_classes": "4",
        }
        linear_learner.train(_context(root, hyperparameters, lines))
        assert _metric(lines, "validation:multiclass_accuracy") > 0.9
        outputs.append(linear_learner.predict_scores(root / "model", x[1200:]))
    assert outputs[0].shape == (300, 4)
    assert np.array_equal(outputs[0], outputs[1])


def test_linear_learner_regressor_beats_the_mean(tmp_path: Path) -> None:
    rng = np.random.default_rng(6)
    x = rng.standard_normal((1500, 4))
    y = x @ np.array([3.0, -2.0, 0.0, 1.0]) * 10 + 500 + rng.normal(0, 1, 1500)
    _write_channel(tmp_path / "data/train", x[:1200], y[:1200])
    _write_channel(tmp_path / "data/validation", x[1200:], y[1200:])
    lines: list[str] = []
    hyperparameters = {"predictor_type": "regressor", "mini_batch_size": "50", "epochs": "20"}
    linear_learner.train(_context(tmp_path, hyperparameters, lines))
    assert _metric(lines, "validation:mse") < 0.05 * np.var(y[1200:])
    predicted = linear_learner.predict(tmp_path / "model", x[1200:])
    assert np.mean((predicted - y[1200:]) ** 2) < 0.05 * np.var(y[1200:])


def test_linear_learner_needs_a_predictor_type(tmp_path: Path) -> None:
    _write_channel(tmp_path / "data/train", np.ones((4, 2)), np.array([0.0, 1.0, 0.0, 1.0]))
    with pytest.raises(HyperparameterError, match="predictor_type"):
        linear_learner.train(_context(tmp_path, {}, []))


def test_kmeans_recovers_well_separated_clusters(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    centers = np.array([[0.0, 0.0, 0.0], [20.0, 0.0, 0.0], [0.0, 20.0, 0.0], [0.0, 0.0, 20.0]])
    x, labels = _blobs(rng, 2000, centers)
    _write_channel(tmp_path / "data/train", x)
    lines: list[str] = []
    hyperparameters = {"k": "4", "feature_dim": "3", "init_method": "kmeans++", "mini_batch_size": "200"}
    kmeans.train(_context(tmp_path, hyperparameters, lines))
    assert _metric(lines, "train:msd") < 4.0  # 3 dimensions of unit variance: about 3
    clusters = kmeans.predict(tmp_path / "model", x)
    # Each true cluster maps to exactly one found cluster.
    assert len({(int(a), int(b)) for a, b in zip(labels, clusters, strict=True)}) == 4
    with np.load(tmp_path / "model/weights.npz") as saved:
        found = saved["centers"]
    assert np.abs(np.sort(found, axis=0) - np.sort(centers, axis=0)).max() < 0.5


def test_kmeans_ignores_a_label_column_named_by_feature_dim(tmp_path: Path) -> None:
    rng = np.random.default_rng(8)
    x, labels = _blobs(rng, 600, np.array([[0.0, 0.0], [30.0, 30.0]]))
    _write_channel(tmp_path / "data/train", x, labels * 1000)  # a label column that would dominate
    kmeans.train(_context(tmp_path, {"k": "2", "feature_dim": "2"}, []))
    assert len(set(zip(labels, kmeans.predict(tmp_path / "model", x), strict=True))) == 2


def test_a_stop_request_saves_the_model_as_it_stands(tmp_path: Path) -> None:
    rng = np.random.default_rng(9)
    x, y = _xor(rng, 200)
    _write_channel(tmp_path / "data/train", x, y)
    context = _context(tmp_path, {"epochs": "50"}, [])
    context.stop.request()
    result = mlp.train(context)
    assert result.interrupted and (tmp_path / "model/model.json").is_file()


def test_the_registry_has_code_for_every_builtin_algorithm() -> None:
    assert registry.ALGORITHMS.keys() == builtin_algorithms.ALGORITHMS.keys()
    assert registry.resolve(algorithm_name="linear-learner") is registry.ALGORITHMS["linear-learner"]
    assert registry.resolve(training_image="my-training-image:2") is None
    assert registry.by_name("k-means") is registry.ALGORITHMS["kmeans"]


# --- the child process, run for real ------------------------------------------------------------


def _prepare_vm(root: Path, hyperparameters: dict[str, str], image: str = "mlp") -> contract.VmSpec:
    spec = contract.VmSpec(
        job_name="job-1",
        job_arn="arn:aws:sagemaker:us-east-1:123456789012:training-job/job-1",
        instance_type="ml.m5.large",
        vcpus=1,
        memory_mib=2048,
        hyperparameters=hyperparameters,
        channels=(contract.ChannelSpec(name="train", content_type="text/csv"),),
        training_image=image,
    )
    contract.write_config(spec, root)
    return spec


def _child(spec: contract.VmSpec, root: Path) -> subprocess.Popen[str]:
    env = {**os.environ, **sm_env.environment(spec, root)}
    command = [sys.executable, "-m", "app.training", str(root)]
    return subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def test_entry_point_trains_and_writes_the_model(tmp_path: Path) -> None:
    spec = _prepare_vm(tmp_path, {"epochs": "2"})
    x, y = _xor(np.random.default_rng(10), 500)
    _write_channel(contract.layout(tmp_path).channel_dir("train"), x, y)
    stdout, stderr = _child(spec, tmp_path).communicate(timeout=60)
    assert "#metric epoch=2 train:loss=" in stdout, stderr
    assert (tmp_path / "model/model.json").is_file() and (tmp_path / "model/weights.npz").is_file()
    assert not (tmp_path / "output/failure").exists()


def test_entry_point_reports_bad_data_as_a_client_error(tmp_path: Path) -> None:
    spec = _prepare_vm(tmp_path, {"epochs": "2"})
    (contract.layout(tmp_path).channel_dir("train") / "data.csv").write_text("1,2,3\n0,x,3\n")
    process = _child(spec, tmp_path)
    process.communicate(timeout=60)
    assert process.returncode == 1
    failure = (tmp_path / "output/failure").read_text()
    assert failure == "ClientError: data.csv line 2, column 2: 'x' is not a number"


def test_entry_point_reports_unexpected_failures_as_algorithm_errors(tmp_path: Path) -> None:
    spec = _prepare_vm(tmp_path, {})
    contract.layout(tmp_path).training_job_config_file.write_text("{not json")
    process = _child(spec, tmp_path)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 2
    assert (tmp_path / "output/failure").read_text().startswith("AlgorithmError: JSONDecodeError")
    assert "Traceback" in stderr


def test_entry_point_saves_the_model_and_exits_0_on_sigterm(tmp_path: Path) -> None:
    spec = _prepare_vm(tmp_path, {"epochs": "100000", "mini_batch_size": "8"})
    x, y = _xor(np.random.default_rng(11), 400)
    _write_channel(contract.layout(tmp_path).channel_dir("train"), x, y)
    process = _child(spec, tmp_path)
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("#metric"):
            break
    process.send_signal(signal.SIGTERM)
    stdout, _ = process.communicate(timeout=30)
    assert process.returncode == 0
    assert "stopped by SIGTERM" in stdout
    assert (tmp_path / "model/model.json").is_file()
