"""How a job names a built-in algorithm, its MetricDefinitions, and the API process staying light."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from app.training import builtin_algorithms


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("mlp", "mlp"),
        ("kmeans:1", "kmeans"),
        ("linear-learner:latest", "linear-learner"),
        ("382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1", "linear-learner"),
        ("664544806723.dkr.ecr.eu-central-1.amazonaws.com/kmeans:1", "kmeans"),
        ("382416733822.dkr.ecr.us-east-1.amazonaws.com/kmeans@sha256:abc", "kmeans"),
        ("ghcr.io/someone/kmeans:1", None),
        ("my-training-image:2", None),
    ],
)
def test_images_resolve_to_builtins(image: str, expected: str | None) -> None:
    algorithm = builtin_algorithms.resolve(training_image=image)
    assert (algorithm.name if algorithm else None) == expected


def test_algorithm_names_and_arns_resolve_to_builtins() -> None:
    algorithms = builtin_algorithms.ALGORITHMS
    assert builtin_algorithms.resolve(algorithm_name="linear-learner") is algorithms["linear-learner"]
    arn = "arn:aws:sagemaker:us-east-1:123456789012:algorithm/kmeans"
    assert builtin_algorithms.resolve(algorithm_name=arn) is algorithms["kmeans"]
    assert builtin_algorithms.by_name("Linear_Learner") is algorithms["linear-learner"]
    assert builtin_algorithms.resolve() is None
    assert builtin_algorithms.resolve(algorithm_name="xgboost") is None


def test_each_builtin_defines_its_metrics_in_order() -> None:
    definitions = builtin_algorithms.MLP.metric_definitions()
    assert [d["Name"] for d in definitions] == [
        "train:loss",
        "validation:loss",
        "validation:accuracy",
        "test:loss",
        "test:accuracy",
    ]
    assert definitions[0]["Regex"] == r"#metric .*\btrain:loss=([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"
    names = builtin_algorithms.LINEAR_LEARNER.metric_names
    assert names[:3] == (
        "train:objective_loss",
        "validation:objective_loss",
        "validation:binary_classification_accuracy",
    )
    assert {"validation:multiclass_accuracy", "validation:mse", "test:mse"} <= set(names)
    assert builtin_algorithms.KMEANS.metric_names == ("train:msd", "validation:msd", "test:msd", "test:ssd")


def test_the_api_process_does_not_import_numpy() -> None:
    """Describe's MetricDefinitions come from names and regexes: the server need not load the algorithms."""
    check = "import sys, app.main; print(sorted(m for m in sys.modules if m.split('.')[0] == 'numpy'))"
    root = Path(__file__).resolve().parents[2]  # `python -c` puts its working directory on the path
    result = subprocess.run(
        [sys.executable, "-c", check], cwd=root, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
