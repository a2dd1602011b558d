"""The next trial's hyperparameters, chosen by optuna from the tuning job's history.

The history lives in the database, not in a long-lived optuna study: each ask rebuilds an in-memory
study from it (a few milliseconds for hundreds of trials), so a restarted server asks exactly what the
old one would have. The sampler is seeded from the pair (seed, trial number), which makes the whole search
a function of the seed and the results: runs reproduce when trials finish in the same order
(MaxParallelTrainingJobs 1). Numeric ranges are searched in their scaled unit interval (`ranges`).
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution
from optuna.trial import FrozenTrial, TrialState

from app.tuning import grid, ranges
from app.tuning.spec import Definition, TuningSpec, grid_ranges

# Random trials before TPE models the history: a share of the budget, within these bounds.
MIN_STARTUP_TRIALS = 2
MAX_STARTUP_TRIALS = 10


@dataclass(frozen=True, slots=True)
class PastTrial:
    """One trial as the optimizer sees it: running (value None, finished False), or finished."""

    definition: int
    tuned: Mapping[str, str]
    value: float | None
    finished: bool
    intermediate: Sequence[float] = ()
    pruner_state: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Suggestion:
    definition: int
    tuned: dict[str, str]


def suggest(*, spec: TuningSpec, history: Sequence[PastTrial], number: int, seed: int) -> Suggestion:
    """The hyperparameters of trial `number` (counting from 1) given every earlier trial."""
    if spec.strategy == "Grid":
        return _grid_point(spec.definitions, number - 1)
    index = (number - 1) % len(spec.definitions)
    definition = spec.definitions[index]
    study = build_study(spec=spec, history=history, sampler=_sampler(spec, seed=trial_seed(seed, number)))
    trial = study.ask()
    tuned: dict[str, str] = {}
    for hyper_range in definition.ranges:
        key = _key(index, hyper_range.name)
        if isinstance(hyper_range, ranges.CategoricalRange):
            tuned[hyper_range.name] = str(trial.suggest_categorical(key, hyper_range.values))
        else:
            value = hyper_range.value_at(trial.suggest_float(key, 0.0, 1.0))
            tuned[hyper_range.name] = ranges.format_value(value)
    return Suggestion(index, tuned)


def build_study(
    *,
    spec: TuningSpec,
    history: Sequence[PastTrial],
    sampler: optuna.samplers.BaseSampler | None = None,
    pruner: optuna.pruners.BasePruner | None = None,
    name: str = "tuning",
) -> optuna.Study:
    """An in-memory study holding `history` as optuna trials, in order (trial numbers follow it)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction="minimize" if spec.minimize else "maximize",
        sampler=sampler,
        pruner=pruner,
        study_name=name,
    )
    for past in history:
        frozen = _frozen(spec.definitions, past)
        if frozen is not None:
            study.add_trial(frozen)
    return study


def _frozen(definitions: Sequence[Definition], past: PastTrial) -> FrozenTrial | None:
    params: dict[str, Any] = {}
    distributions: dict[str, BaseDistribution] = {}
    if past.definition >= len(definitions):
        return None
    for hyper_range in definitions[past.definition].ranges:
        raw = past.tuned.get(hyper_range.name)
        key = _key(past.definition, hyper_range.name)
        if raw is None:
            continue
        if isinstance(hyper_range, ranges.CategoricalRange):
            if raw not in hyper_range.values:
                continue  # a parent's value outside today's range says nothing about it
            params[key], distributions[key] = raw, CategoricalDistribution(hyper_range.values)
        else:
            try:
                position = hyper_range.position_of(float(raw))
            except ValueError:
                continue
            params[key], distributions[key] = position, FloatDistribution(0.0, 1.0)
    finished = past.finished and past.value is not None
    state = TrialState.COMPLETE if finished else TrialState.RUNNING if not past.finished else TrialState.FAIL
    return optuna.trial.create_trial(
        state=state,
        params=params,
        distributions=distributions,
        value=past.value if finished else None,
        intermediate_values=dict(enumerate(past.intermediate, start=1)),
        system_attrs=dict(past.pruner_state),
    )


def trial_seed(seed: int, number: int) -> int:
    """The sampler's seed for one trial. Not `seed + number`: RandomSeed 1's second trial would then be
    RandomSeed 2's first, and searches under neighbouring seeds would share most of their trials."""
    digest = hashlib.sha256(f"{seed}/{number}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


def _sampler(spec: TuningSpec, *, seed: int) -> optuna.samplers.BaseSampler:
    if spec.strategy == "Random":
        return optuna.samplers.RandomSampler(seed=seed)
    startup = max(MIN_STARTUP_TRIALS, min(MAX_STARTUP_TRIALS, spec.criteria.max_jobs // 3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        # constant_liar: trials still running count as bad guesses, so parallel trials spread out.
        return optuna.samplers.TPESampler(
            seed=seed, n_startup_trials=startup, multivariate=True, constant_liar=True
        )


def _grid_point(definitions: Sequence[Definition], index: int) -> Suggestion:
    for position, definition in enumerate(definitions):
        cells = grid_ranges(definition)
        if index < grid.size(cells):
            return Suggestion(position, grid.combination(cells, index))
        index -= grid.size(cells)
    raise IndexError("the grid is exhausted")


def _key(definition: int, name: str) -> str:
    return f"{definition}:{name}"
