"""The Hyperband strategy's early stops, by optuna's HyperbandPruner over the tuning job's history.

A running trial reports its objective per epoch (the resource); at each rung of its bracket the pruner
keeps the best 1/3 of the trials that reached it and stops the rest. The rungs a trial passed are
optuna trial attributes: the tuner stores them with the trial (`pruner_state`) so the rebuilt study
after a restart decides as the old one would.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import optuna

from app.tuning.optimizer import PastTrial, build_study
from app.tuning.spec import TuningSpec

REDUCTION_FACTOR = 3


@dataclass(frozen=True, slots=True)
class Decision:
    stop: bool
    pruner_state: dict[str, Any]


def decide(*, spec: TuningSpec, history: Sequence[PastTrial], number: int, study_name: str) -> Decision:
    """Whether trial `number` (1-based; `history` holds trials 1..n in order) should stop at its latest
    epoch, and the pruner's bookkeeping to store with it."""
    assert spec.hyperband is not None
    pruner = optuna.pruners.HyperbandPruner(
        min_resource=spec.hyperband.min_resource,
        max_resource=spec.hyperband.max_resource,
        reduction_factor=REDUCTION_FACTOR,
    )
    study = build_study(spec=spec, history=history, pruner=pruner, name=study_name)
    current = study.get_trials(deepcopy=False)[number - 1]
    if not current.intermediate_values:
        return Decision(False, dict(current.system_attrs))
    stop = pruner.prune(study, current)
    # The pruner records promotions on the stored trial; read them back to persist them.
    stored = study.get_trials(deepcopy=False)[number - 1]
    return Decision(stop, dict(stored.system_attrs))
