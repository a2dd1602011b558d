"""Shared by the tabular examples: the dataset, and the trained `mlp` applied with numpy alone.

The `mlp` algorithm writes `model.json` (layers, activations, the standardization it learned, the class
values) and `weights.npz` (`W0`, `b0`, `W1`, `b1`, ...) into model.tar.gz; `predict` below is the whole
forward pass: standardize, then `x @ W + b` with ReLU between layers and a sigmoid at the end.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]


def make_dataset(rows: int = 2000, features: int = 8, seed: int = 7) -> tuple[Array, Array]:
    """A binary target that depends on the features, with a little interaction and noise."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, features))
    weights = rng.normal(size=features)
    score = x @ weights + 0.75 * x[:, 0] * x[:, 1] + rng.normal(scale=0.3, size=rows)
    return x, (score > 0).astype(np.float64)


def write_csv(path: Path, x: Array, y: Array) -> Path:
    """SageMaker's CSV convention for built-in algorithms: label first, no header."""
    path.parent.mkdir(parents=True, exist_ok=True)
    formats = ["%d"] + ["%.6f"] * x.shape[1]
    np.savetxt(path, np.column_stack([y, x]), delimiter=",", fmt=formats)
    return path


def predict(model_dir: Path, x: Array) -> Array:
    """The predicted class of each row, from the files the `mlp` algorithm wrote."""
    meta = json.loads((model_dir / "model.json").read_text(encoding="utf-8"))
    with np.load(model_dir / meta["weights"], allow_pickle=False) as weights:
        h = (x - np.asarray(meta["standardize"]["mean"])) / np.asarray(meta["standardize"]["std"])
        for index, layer in enumerate(meta["layers"]):
            h = h @ weights[f"W{index}"] + weights[f"b{index}"]
            if layer["activation"] == "relu":
                h = np.maximum(h, 0.0)
            elif layer["activation"] == "sigmoid":
                h = 1.0 / (1.0 + np.exp(-h))
            else:
                raise ValueError(f"this example handles binary models, not {layer['activation']!r} outputs")
    classes = np.asarray(meta["classes"])
    return np.asarray(classes[(h[:, 0] > 0.5).astype(int)], dtype=np.float64)


def accuracy(predicted: Array, truth: Array) -> float:
    return float(np.mean(predicted == truth))


def arguments(description: str | None) -> tuple[argparse.Namespace, Path]:
    """The examples' command line (endpoint, bucket, work directory) and the work directory to use."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--endpoint-url", default="http://127.0.0.1:8000")
    parser.add_argument("--bucket", default="sagelite-examples")
    parser.add_argument("--workdir", type=Path, help="where files go (default: a temporary directory)")
    args = parser.parse_args()
    return args, args.workdir or Path(tempfile.mkdtemp(prefix="sagelite-example-"))
