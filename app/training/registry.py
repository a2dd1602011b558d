"""Which built-in algorithm a training job names, and the MetricDefinitions each one comes with.

A job names an algorithm by `AlgorithmSpecification.TrainingImage` — a short name (`kmeans`,
`linear-learner:1`, `mlp:latest`) or the real algorithm's ECR image URI in any account and region
(`382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1`) — or by `AlgorithmName`
(a name or an `arn:aws:sagemaker:…:algorithm/<name>` ARN). Anything else resolves to None: a custom
image, which the caller runs in script mode.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy.typing as npt

from app.training import kmeans, linear_learner, metric_lines, mlp
from app.training.context import TrainContext, TrainResult

_ECR_HOST = re.compile(r"\d{12}\.dkr\.ecr(-fips)?\.[a-z0-9-]+\.amazonaws\.com(\.cn)?")


@dataclass(frozen=True)
class Algorithm:
    name: str
    train: Callable[[TrainContext], TrainResult]
    predict: Callable[[Path, npt.ArrayLike], npt.NDArray[Any]]
    metric_names: tuple[str, ...]

    def metric_definitions(self) -> list[dict[str, str]]:
        """[{"Name": ..., "Regex": ...}] for every metric the algorithm can print."""
        return metric_lines.definitions(self.metric_names)


ALGORITHMS = {
    algorithm.name: algorithm
    for algorithm in (
        Algorithm(mlp.ALGORITHM, mlp.train, mlp.predict, mlp.METRICS),
        Algorithm(
            linear_learner.ALGORITHM, linear_learner.train, linear_learner.predict, linear_learner.METRICS
        ),
        Algorithm(kmeans.ALGORITHM, kmeans.train, kmeans.predict, kmeans.METRICS),
    )
}
_ALIASES = {"linear_learner": "linear-learner", "linearlearner": "linear-learner", "k-means": "kmeans"}


def resolve(*, training_image: str | None = None, algorithm_name: str | None = None) -> Algorithm | None:
    """The built-in algorithm a job names (image first, then algorithm name), or None."""
    if training_image:
        return by_image(training_image)
    if algorithm_name:
        return by_name(algorithm_name.rsplit(":algorithm/", 1)[-1])
    return None


def by_name(name: str) -> Algorithm | None:
    key = name.strip().lower()
    return ALGORITHMS.get(_ALIASES.get(key, key))


def by_image(image: str) -> Algorithm | None:
    reference = image.strip().split("@", 1)[0]  # drop a digest
    host, _, path = reference.rpartition("/")
    if host and not _ECR_HOST.fullmatch(host):
        return None
    repository = path.split(":", 1)[0]
    return by_name(repository)
