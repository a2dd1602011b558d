"""A CreateHyperParameterTuningJob request, checked against SageMaker's rules and read into a TuningSpec.

The botocore model has already checked shapes, patterns and ranges; this adds what SageMaker enforces
beyond them (Grid takes categorical ranges only, Hyperband needs early stopping Off, an objective the
algorithm emits, ...) and refuses by name what sagelite does not implement rather than ignoring it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.errors import ValidationError
from app.training import builtin_algorithms
from app.tuning import grid, ranges, resources
from app.tuning.completion import Criteria

# Members of the model we do not implement: refused with their name, never silently ignored.
UNSUPPORTED_TOP = ("Autotune",)
# Hyperband's resource when StrategyConfig gives no MaxResource: SageMaker reads these hyperparameters.
EPOCH_HYPERPARAMETERS = ("epochs", "numepochs", "n-epochs", "n_epochs", "num_epochs")
# Members a definition passes on to each of its training jobs as they are.
PASSED_ON = (
    "RoleArn",
    "InputDataConfig",
    "VpcConfig",
    "OutputDataConfig",
    "ResourceConfig",
    "StoppingCondition",
    "EnableNetworkIsolation",
    "EnableInterContainerTrafficEncryption",
    "EnableManagedSpotTraining",
    "CheckpointConfig",
    "RetryStrategy",
    "Environment",
)
STRATEGIES_WITH_PRUNING = ("Bayesian", "Random")
OBJECTIVE_HYPERPARAMETER = "_tuning_objective_metric"


@dataclass(frozen=True, slots=True)
class Objective:
    metric: str
    minimize: bool


@dataclass(frozen=True, slots=True)
class Definition:
    name: str | None
    objective: Objective
    ranges: tuple[ranges.Range, ...]
    static: Mapping[str, str]
    request: Mapping[str, Any]  # the definition as sent, its instances as a ResourceConfig

    def training_request(self, *, job_name: str, tuned: Mapping[str, str]) -> dict[str, Any]:
        """The CreateTrainingJob request of one trial."""
        algorithm = {k: v for k, v in self.request["AlgorithmSpecification"].items()}
        out = {k: self.request[k] for k in PASSED_ON if k in self.request}
        return out | {
            "TrainingJobName": job_name,
            "AlgorithmSpecification": algorithm,
            "HyperParameters": {**self.static, **tuned},
        }


@dataclass(frozen=True, slots=True)
class Hyperband:
    min_resource: int
    max_resource: int


@dataclass(frozen=True, slots=True)
class TuningSpec:
    strategy: str
    definitions: tuple[Definition, ...]
    max_parallel: int
    criteria: Criteria
    early_stopping: bool
    hyperband: Hyperband | None
    seed: int | None

    @property
    def minimize(self) -> bool:
        return self.definitions[0].objective.minimize


def from_request(request: Mapping[str, Any]) -> TuningSpec:
    """The spec of a validated request; ValidationError naming what SageMaker would refuse."""
    try:
        return _spec(request)
    except ranges.RangeError as error:
        raise ValidationError(str(error)) from None


def _spec(request: Mapping[str, Any]) -> TuningSpec:
    _refuse_unsupported(request)
    config = request["HyperParameterTuningJobConfig"]
    strategy = config["Strategy"]
    raw_definitions = _raw_definitions(request)
    definitions = tuple(_definition(d, config) for d in raw_definitions)
    minimizing = {d.objective.minimize for d in definitions}
    if len(minimizing) > 1:
        raise ValidationError("All training job definitions must share the objective's Type.")
    limits = config["ResourceLimits"]
    early_stopping = config.get("TrainingJobEarlyStoppingType", "Off") == "Auto"
    max_jobs = _max_jobs(strategy, limits, definitions)
    completion = config.get("TuningJobCompletionCriteria", {})
    criteria = Criteria(
        max_jobs=max_jobs,
        max_runtime_seconds=limits.get("MaxRuntimeInSeconds"),
        target=completion.get("TargetObjectiveMetricValue"),
        not_improving_jobs=completion.get("BestObjectiveNotImproving", {}).get(
            "MaxNumberOfTrainingJobsNotImproving"
        ),
        complete_on_convergence=completion.get("ConvergenceDetected", {}).get("CompleteOnConvergence")
        == "Enabled",
    )
    hyperband = _hyperband(strategy, config, definitions, early_stopping=early_stopping)
    if early_stopping and strategy not in STRATEGIES_WITH_PRUNING:
        raise ValidationError(
            f"TrainingJobEarlyStoppingType Auto is not supported with the {strategy} strategy."
        )
    return TuningSpec(
        strategy=strategy,
        definitions=definitions,
        max_parallel=limits["MaxParallelTrainingJobs"],
        criteria=criteria,
        early_stopping=early_stopping,
        hyperband=hyperband,
        seed=config.get("RandomSeed"),
    )


def _refuse_unsupported(request: Mapping[str, Any]) -> None:
    for member in UNSUPPORTED_TOP:
        if member in request:
            raise ValidationError(f"{member} is not supported; give the tuning configuration explicitly.")


def _raw_definitions(request: Mapping[str, Any]) -> Sequence[Mapping[str, Any]]:
    single, several = request.get("TrainingJobDefinition"), request.get("TrainingJobDefinitions")
    if (single is None) == (several is None):
        raise ValidationError("Give exactly one of TrainingJobDefinition or TrainingJobDefinitions.")
    if several is not None:
        names = [d.get("DefinitionName") for d in several]
        if None in names or len(set(names)) != len(names):
            raise ValidationError("Each of TrainingJobDefinitions needs a unique DefinitionName.")
        return list(several)
    assert single is not None
    return [single]


def _definition(raw: Mapping[str, Any], config: Mapping[str, Any]) -> Definition:
    objective_raw = raw.get("TuningObjective") or config.get("HyperParameterTuningJobObjective")
    if objective_raw is None:
        raise ValidationError(
            "HyperParameterTuningJobObjective (or a definition's TuningObjective) is required."
        )
    objective = Objective(objective_raw["MetricName"], objective_raw["Type"] == "Minimize")
    parsed = ranges.parse(raw.get("HyperParameterRanges") or config.get("ParameterRanges") or {})
    if not parsed:
        raise ValidationError("ParameterRanges must name at least one hyperparameter to tune.")
    static = dict(raw.get("StaticHyperParameters", {}))
    clash = next((r.name for r in parsed if r.name in static), None)
    if clash is not None:
        raise ValidationError(f"The hyperparameter {clash} is both static and tuned.")
    # SageMaker hands every trial its objective under this name, and Describe shows it among the static
    # ones: the SDK's HyperparameterTuner.attach() removes it from there, and fails where it is missing.
    static[OBJECTIVE_HYPERPARAMETER] = objective.metric
    # Trials read their instances from ResourceConfig, whichever of the two forms the definition used.
    as_trials_see_it = {k: v for k, v in raw.items() if k != resources.TUNING_RESOURCES}
    as_trials_see_it["ResourceConfig"] = resources.resource_config(raw)
    _check_metric(raw["AlgorithmSpecification"], objective.metric)
    return Definition(raw.get("DefinitionName"), objective, parsed, static, as_trials_see_it)


def _check_metric(algorithm: Mapping[str, Any], metric: str) -> None:
    builtin = builtin_algorithms.resolve(
        training_image=algorithm.get("TrainingImage"), algorithm_name=algorithm.get("AlgorithmName")
    )
    defined = [d["Name"] for d in algorithm.get("MetricDefinitions", [])]
    known = (*builtin.metric_names, *defined) if builtin is not None else tuple(defined)
    if metric not in known:
        raise ValidationError(
            f"The objective metric {metric} is not among the algorithm's metrics "
            f"({', '.join(known) or 'none: give MetricDefinitions'})."
        )


def _max_jobs(strategy: str, limits: Mapping[str, Any], definitions: Sequence[Definition]) -> int:
    if strategy != "Grid":
        if "MaxNumberOfTrainingJobs" not in limits:
            raise ValidationError(f"ResourceLimits.MaxNumberOfTrainingJobs is required for {strategy}.")
        return int(limits["MaxNumberOfTrainingJobs"])
    if "MaxNumberOfTrainingJobs" in limits:
        raise ValidationError("The Grid strategy runs the whole grid: omit MaxNumberOfTrainingJobs.")
    total = 0
    for definition in definitions:
        numeric = next((r.name for r in definition.ranges if isinstance(r, ranges.NumericRange)), None)
        if numeric is not None:
            raise ValidationError(f"The Grid strategy takes categorical ranges only; {numeric} is not.")
        total += grid.size(grid_ranges(definition))
    return total


def grid_ranges(definition: Definition) -> list[ranges.CategoricalRange]:
    return [r for r in definition.ranges if isinstance(r, ranges.CategoricalRange)]


def _hyperband(
    strategy: str, config: Mapping[str, Any], definitions: Sequence[Definition], *, early_stopping: bool
) -> Hyperband | None:
    raw = config.get("StrategyConfig", {}).get("HyperbandStrategyConfig")
    if strategy != "Hyperband":
        if raw is not None:
            raise ValidationError(
                "StrategyConfig.HyperbandStrategyConfig is only for the Hyperband strategy."
            )
        return None
    if early_stopping:
        raise ValidationError("The Hyperband strategy requires TrainingJobEarlyStoppingType Off.")
    raw = raw or {}
    max_resource = raw.get("MaxResource") or _epochs_of(definitions[0].static)
    if max_resource is None:
        raise ValidationError(
            "Hyperband needs HyperbandStrategyConfig.MaxResource, or an epochs static hyperparameter."
        )
    min_resource = raw.get("MinResource", 1)
    if min_resource > max_resource:
        raise ValidationError("HyperbandStrategyConfig.MinResource must not exceed MaxResource.")
    return Hyperband(min_resource=min_resource, max_resource=max_resource)


def _epochs_of(static: Mapping[str, str]) -> int | None:
    for name in EPOCH_HYPERPARAMETERS:
        if name in static and static[name].isdigit():
            return int(static[name])
    return None
