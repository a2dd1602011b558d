"""The built-in algorithms' train and predict functions: the training child's side of the registry.

Which built-in a job names, and the metrics each one defines, is `builtin_algorithms`' business (light,
for the API process); this module adds the code, and with it numpy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy.typing as npt

from app.training import builtin_algorithms, kmeans, linear_learner, mlp
from app.training.context import TrainContext, TrainResult


@dataclass(frozen=True)
class Algorithm:
    name: str
    train: Callable[[TrainContext], TrainResult]
    predict: Callable[[Path, npt.ArrayLike], npt.NDArray[Any]]
    # With InstanceCount > 1 its VMs train one model together (app.training.team); else each trains alone.
    data_parallel: bool = False


ALGORITHMS = {
    algorithm.name: algorithm
    for algorithm in (
        Algorithm(mlp.ALGORITHM, mlp.train, mlp.predict, data_parallel=True),
        Algorithm(linear_learner.ALGORITHM, linear_learner.train, linear_learner.predict, data_parallel=True),
        Algorithm(kmeans.ALGORITHM, kmeans.train, kmeans.predict, data_parallel=True),
    )
}


def resolve(*, training_image: str | None = None, algorithm_name: str | None = None) -> Algorithm | None:
    """The built-in algorithm a job names (image first, then algorithm name), or None."""
    return _code(builtin_algorithms.resolve(training_image=training_image, algorithm_name=algorithm_name))


def by_name(name: str) -> Algorithm | None:
    return _code(builtin_algorithms.by_name(name))


def _code(builtin: builtin_algorithms.BuiltinAlgorithm | None) -> Algorithm | None:
    return None if builtin is None else ALGORITHMS[builtin.name]
