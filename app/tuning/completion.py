"""When a tuning job is done (pure): its budget, `TuningJobCompletionCriteria` and its runtime limit.

`Progress` is what the tuner knows of one tuning job at one pass; `verdict` decides whether to launch
more training jobs, and if not, why the tuning job ends.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

# ConvergenceDetected: the best objective moved by less than this share over the last trials.
CONVERGENCE_WINDOW = 10
CONVERGENCE_TOLERANCE = 1e-3


class Reason(enum.StrEnum):
    BUDGET = "budget"  # MaxNumberOfTrainingJobs (or the whole grid) launched
    TARGET = "target"  # TargetObjectiveMetricValue reached
    NOT_IMPROVING = "not-improving"  # BestObjectiveNotImproving
    CONVERGED = "converged"  # ConvergenceDetected
    RUNTIME = "runtime"  # MaxRuntimeInSeconds


@dataclass(frozen=True, slots=True)
class Criteria:
    max_jobs: int
    max_runtime_seconds: float | None = None
    target: float | None = None
    not_improving_jobs: int | None = None
    complete_on_convergence: bool = False


@dataclass(frozen=True, slots=True)
class Progress:
    launched: int
    elapsed_seconds: float
    minimize: bool
    # Objective values of the trials that succeeded, in the order they finished.
    objectives: Sequence[float]


def verdict(criteria: Criteria, progress: Progress) -> Reason | None:
    """Why no further training job should start, or None while the search goes on."""
    if criteria.target is not None and any(
        _at_least_as_good(v, criteria.target, progress.minimize) for v in progress.objectives
    ):
        return Reason.TARGET
    if criteria.max_runtime_seconds is not None and progress.elapsed_seconds >= criteria.max_runtime_seconds:
        return Reason.RUNTIME
    if criteria.not_improving_jobs is not None and (
        jobs_not_improving(progress.objectives, minimize=progress.minimize) >= criteria.not_improving_jobs
    ):
        return Reason.NOT_IMPROVING
    if criteria.complete_on_convergence and converged(progress.objectives, minimize=progress.minimize):
        return Reason.CONVERGED
    if progress.launched >= criteria.max_jobs:
        return Reason.BUDGET
    return None


def jobs_not_improving(objectives: Sequence[float], *, minimize: bool) -> int:
    """How many finished trials in a row, counted back from the latest, did not beat the best before them."""
    best: float | None = None
    since = 0
    for value in objectives:
        if best is None or _better(value, best, minimize):
            best, since = value, 0
        else:
            since += 1
    return since


def converged(objectives: Sequence[float], *, minimize: bool) -> bool:
    """The best objective improved by less than CONVERGENCE_TOLERANCE (relative) over the last
    CONVERGENCE_WINDOW trials."""
    if len(objectives) <= CONVERGENCE_WINDOW:
        return False
    before = best_of(objectives[:-CONVERGENCE_WINDOW], minimize=minimize)
    after = best_of(objectives, minimize=minimize)
    return abs(after - before) <= CONVERGENCE_TOLERANCE * max(abs(before), 1e-12)


def best_of(objectives: Sequence[float], *, minimize: bool) -> float:
    return min(objectives) if minimize else max(objectives)


def _better(value: float, than: float, minimize: bool) -> bool:
    return value < than if minimize else value > than


def _at_least_as_good(value: float, target: float, minimize: bool) -> bool:
    return value <= target if minimize else value >= target
