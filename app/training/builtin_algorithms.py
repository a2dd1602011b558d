"""Which built-in algorithm a training job names, and the MetricDefinitions each one comes with.

A job names an algorithm by `AlgorithmSpecification.TrainingImage` — a short name (`kmeans`,
`linear-learner:1`, `mlp:latest`) or the real algorithm's ECR image URI in any account and region
(`382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1`) — or by `AlgorithmName`
(a name or an `arn:aws:sagemaker:…:algorithm/<name>` ARN). Anything else resolves to None: a custom
image, which the caller runs in script mode.

Light on purpose: the API process fills in `MetricDefinitions` from here at create, without importing
numpy or the algorithms; `registry` adds their train and predict functions for the training child.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.training import metric_lines

_ECR_HOST = re.compile(r"\d{12}\.dkr\.ecr(-fips)?\.[a-z0-9-]+\.amazonaws\.com(\.cn)?")


@dataclass(frozen=True)
class BuiltinAlgorithm:
    name: str
    metric_names: tuple[str, ...]

    def metric_definitions(self) -> list[dict[str, str]]:
        """[{"Name": ..., "Regex": ...}] for every metric the algorithm can print."""
        return metric_lines.definitions(self.metric_names)


def _per_channel(train: tuple[str, ...], evaluated: tuple[str, ...]) -> tuple[str, ...]:
    """`train:<name>` for the training metrics, then `validation:` and `test:` for the evaluated ones."""
    return (
        *(f"train:{name}" for name in train),
        *(f"{channel}:{name}" for channel in ("validation", "test") for name in evaluated),
    )


MLP = BuiltinAlgorithm("mlp", _per_channel(("loss",), ("loss", "accuracy")))
# objective_loss plus each predictor type's quality metric (binary, multiclass, regressor).
LINEAR_LEARNER = BuiltinAlgorithm(
    "linear-learner",
    _per_channel(
        ("objective_loss",),
        ("objective_loss", "binary_classification_accuracy", "multiclass_accuracy", "mse"),
    ),
)
KMEANS = BuiltinAlgorithm("kmeans", ("train:msd", "validation:msd", "test:msd", "test:ssd"))

ALGORITHMS = {algorithm.name: algorithm for algorithm in (MLP, LINEAR_LEARNER, KMEANS)}
_ALIASES = {"linear_learner": "linear-learner", "linearlearner": "linear-learner", "k-means": "kmeans"}


def resolve(
    *, training_image: str | None = None, algorithm_name: str | None = None
) -> BuiltinAlgorithm | None:
    """The built-in algorithm a job names (image first, then algorithm name), or None."""
    if training_image:
        return by_image(training_image)
    if algorithm_name:
        return by_name(algorithm_name.rsplit(":algorithm/", 1)[-1])
    return None


def by_name(name: str) -> BuiltinAlgorithm | None:
    key = name.strip().lower()
    return ALGORITHMS.get(_ALIASES.get(key, key))


def by_image(image: str) -> BuiltinAlgorithm | None:
    reference = image.strip().split("@", 1)[0]  # drop a digest
    host, _, path = reference.rpartition("/")
    if host and not _ECR_HOST.fullmatch(host):
        return None
    repository = path.split(":", 1)[0]
    return by_name(repository)
