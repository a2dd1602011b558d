"""SageMaker's `TrainingJobEarlyStoppingType: Auto` rule (pure).

As SageMaker documents it: after each epoch, take the running average of the objective over epochs 1..k
of every *previous* training job that reached epoch k, and their median; a job whose objective at epoch k
is worse than that median (higher when minimizing, lower when maximizing) is stopped. optuna's
MedianPruner compares the trial's *best* value so far with the median of the others' values *at* k, not
of their running averages, so it is not this rule.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

# SageMaker needs some history before the rule has meaning; with fewer previous jobs nothing is stopped.
MIN_PREVIOUS_JOBS = 3


def running_average(values: Sequence[float], epoch: int) -> float:
    """Mean of the first `epoch` values (epochs count from 1)."""
    return sum(values[:epoch]) / epoch


def should_stop(*, current: Sequence[float], previous: Sequence[Sequence[float]], minimize: bool) -> bool:
    """Whether the job whose objective per epoch is `current` is worse, at its latest epoch, than the
    median running average of the `previous` jobs at the same epoch."""
    epoch = len(current)
    if epoch == 0:
        return False
    averages = [running_average(series, epoch) for series in previous if len(series) >= epoch]
    if len(averages) < MIN_PREVIOUS_JOBS:
        return False
    median = statistics.median(averages)
    value = current[-1]
    return value > median if minimize else value < median
