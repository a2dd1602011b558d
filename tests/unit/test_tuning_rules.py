"""Pure rules of hyperparameter tuning: range scaling, grid enumeration, median early stopping,
completion criteria, and Hyperband's stops."""

from __future__ import annotations

import dataclasses
import itertools

import pytest

from app.errors import ValidationError
from app.tuning import completion, grid, hyperband, median_stopping, ranges, resources
from app.tuning.completion import Criteria, Progress, Reason
from app.tuning.optimizer import PastTrial, suggest, trial_seed
from app.tuning.spec import Definition, Hyperband, Objective, TuningSpec


def numeric(low: str, high: str, scaling: str, *, integer: bool = False) -> ranges.NumericRange:
    key = "IntegerParameterRanges" if integer else "ContinuousParameterRanges"
    parsed = ranges.parse({key: [{"Name": "x", "MinValue": low, "MaxValue": high, "ScalingType": scaling}]})
    assert isinstance(parsed[0], ranges.NumericRange)
    return parsed[0]


def test_linear_scaling_is_even_steps() -> None:
    r = numeric("2", "10", "Linear")
    assert [r.value_at(u) for u in (0.0, 0.5, 1.0)] == [2.0, 6.0, 10.0]


def test_logarithmic_scaling_is_even_steps_of_the_exponent() -> None:
    r = numeric("0.0001", "1", "Logarithmic")
    assert r.value_at(0.5) == pytest.approx(0.01)
    assert r.value_at(0.25) == pytest.approx(0.001)


def test_reverse_logarithmic_scaling_crowds_values_near_one() -> None:
    r = numeric("0", "0.999", "ReverseLogarithmic")
    assert r.value_at(0.0) == pytest.approx(0.0)
    assert r.value_at(1 / 3) == pytest.approx(0.9)
    assert r.value_at(2 / 3) == pytest.approx(0.99)


@pytest.mark.parametrize("scaling", ["Linear", "Logarithmic", "ReverseLogarithmic"])
def test_positions_and_values_are_inverse(scaling: str) -> None:
    r = numeric("0.01", "0.9", scaling)
    for u in (0.0, 0.1, 0.37, 0.8, 1.0):
        assert r.position_of(float(r.value_at(u))) == pytest.approx(u)


def test_integer_ranges_round_and_stay_inside() -> None:
    r = numeric("1", "512", "Logarithmic", integer=True)
    values = [r.value_at(u / 20) for u in range(21)]
    assert all(isinstance(v, int) and 1 <= v <= 512 for v in values)
    assert values[0] == 1 and values[-1] == 512


def test_auto_picks_a_log_scale_for_ranges_over_orders_of_magnitude() -> None:
    assert numeric("0.0001", "0.1", "Auto").scaling is ranges.Scaling.LOGARITHMIC
    assert numeric("1", "10", "Auto").scaling is ranges.Scaling.LINEAR
    assert numeric("-1", "100", "Auto").scaling is ranges.Scaling.LINEAR


@pytest.mark.parametrize(
    ("low", "high", "scaling", "message"),
    [
        ("0", "1", "Logarithmic", "MinValue > 0"),
        ("0.5", "1.0", "ReverseLogarithmic", "MaxValue < 1"),
        ("3", "1", "Linear", "MinValue <= MaxValue"),
        ("a", "1", "Linear", "numeric"),
    ],
)
def test_ranges_sagemaker_refuses(low: str, high: str, scaling: str, message: str) -> None:
    with pytest.raises(ranges.RangeError, match=message):
        numeric(low, high, scaling)


def test_a_name_in_two_ranges_is_refused() -> None:
    twice = {
        "IntegerParameterRanges": [{"Name": "x", "MinValue": "1", "MaxValue": "2"}],
        "CategoricalParameterRanges": [{"Name": "x", "Values": ["a"]}],
    }
    with pytest.raises(ranges.RangeError, match="x"):
        ranges.parse(twice)


def test_the_grid_enumerates_every_combination_once_in_product_order() -> None:
    axes = [ranges.CategoricalRange("a", ("1", "2", "3")), ranges.CategoricalRange("b", ("x", "y"))]
    assert grid.size(axes) == 6
    listed = [grid.combination(axes, i) for i in range(6)]
    expected = [{"a": a, "b": b} for a, b in itertools.product(("1", "2", "3"), ("x", "y"))]
    assert listed == expected
    with pytest.raises(IndexError):
        grid.combination(axes, 6)


def test_median_rule_compares_with_the_median_of_running_averages() -> None:
    previous = [[1.0, 0.6, 0.2], [1.0, 0.8, 0.6], [2.0, 1.0, 0.9]]
    # Running averages at epoch 3: 0.6, 0.8, 1.3 → median 0.8.
    assert median_stopping.should_stop(current=[1.0, 1.0, 0.85], previous=previous, minimize=True)
    assert not median_stopping.should_stop(current=[1.0, 1.0, 0.75], previous=previous, minimize=True)
    # Maximizing, lower than the median is worse.
    assert median_stopping.should_stop(current=[0.1, 0.1, 0.7], previous=previous, minimize=False)


def test_median_rule_waits_for_enough_previous_jobs_at_that_epoch() -> None:
    previous = [[1.0, 0.5], [1.0, 0.5], [1.0]]
    assert not median_stopping.should_stop(current=[9.0, 9.0], previous=previous, minimize=True)
    assert median_stopping.should_stop(current=[9.0], previous=previous, minimize=True)


def progress(objectives: list[float], *, launched: int = 3, elapsed: float = 0.0) -> Progress:
    return Progress(launched=launched, elapsed_seconds=elapsed, minimize=True, objectives=objectives)


def test_completion_by_budget_target_runtime_and_not_improving() -> None:
    assert completion.verdict(Criteria(max_jobs=5), progress([0.3])) is None
    assert completion.verdict(Criteria(max_jobs=3), progress([0.3])) is Reason.BUDGET
    assert completion.verdict(Criteria(max_jobs=5, target=0.2), progress([0.3, 0.19])) is Reason.TARGET
    assert (
        completion.verdict(Criteria(max_jobs=5, max_runtime_seconds=60), progress([], elapsed=60))
        is Reason.RUNTIME
    )
    stale = Criteria(max_jobs=9, not_improving_jobs=2)
    assert completion.verdict(stale, progress([0.5, 0.4, 0.45])) is None
    assert completion.verdict(stale, progress([0.5, 0.4, 0.45, 0.41])) is Reason.NOT_IMPROVING


def test_convergence_needs_a_flat_best_over_the_window() -> None:
    flat = [1.0, 0.5] + [0.6] * completion.CONVERGENCE_WINDOW
    improving = [1.0, 0.5] + [0.6] * (completion.CONVERGENCE_WINDOW - 1) + [0.3]
    assert completion.converged(flat, minimize=True)
    assert not completion.converged(improving, minimize=True)
    assert not completion.converged(flat[:5], minimize=True)


def hyperband_spec() -> TuningSpec:
    definition = Definition(
        name=None,
        objective=Objective("loss", minimize=True),
        ranges=(ranges.NumericRange("x", 0.0, 1.0, False, ranges.Scaling.LINEAR),),
        static={},
        request={},
    )
    return TuningSpec(
        strategy="Hyperband",
        definitions=(definition,),
        max_parallel=1,
        criteria=Criteria(max_jobs=20),
        early_stopping=False,
        hyperband=Hyperband(min_resource=1, max_resource=9),
        seed=0,
    )


def test_hyperband_stops_a_trial_far_worse_than_its_bracket_at_a_rung() -> None:
    tuning = hyperband_spec()
    history: list[PastTrial] = []
    stops = []
    for number in range(1, 16):
        good = number % 2 == 1
        series = [1.0 / (k + 1) if good else 10.0 + k for k in range(9)]
        running = PastTrial(0, {"x": "0.5"}, None, False, series[:1])
        decision = hyperband.decide(spec=tuning, history=[*history, running], number=number, study_name="s")
        stops.append(decision.stop)
        history.append(PastTrial(0, {"x": "0.5"}, series[-1], True, series, decision.pruner_state))
    assert not stops[0]  # the first trial of a bracket has nothing to lose to
    bad = [stop for number, stop in enumerate(stops, start=1) if number % 2 == 0]
    good = [stop for number, stop in enumerate(stops, start=1) if number % 2 == 1]
    assert any(bad) and not all(good)  # some far-worse trials are cut; not every good one is
    assert sum(bad) > sum(good)


def test_hyperband_decides_nothing_before_the_first_epoch() -> None:
    running = PastTrial(0, {"x": "0.5"}, None, False, ())
    assert not hyperband.decide(spec=hyperband_spec(), history=[running], number=1, study_name="s").stop


@pytest.mark.parametrize("strategy", ["Random", "Bayesian"])
def test_the_same_seed_and_history_suggest_the_same_trial(strategy: str) -> None:
    tuning = dataclasses.replace(hyperband_spec(), strategy=strategy, hyperband=None)
    history = [PastTrial(0, {"x": "0.25"}, 1.0, True), PastTrial(0, {"x": "0.75"}, 0.5, True)]
    first = suggest(spec=tuning, history=history, number=3, seed=11)
    assert suggest(spec=tuning, history=history, number=3, seed=11) == first
    assert suggest(spec=tuning, history=history, number=3, seed=12) != first


def test_neighbouring_seeds_do_not_share_trials() -> None:
    seeds = {trial_seed(seed, number) for seed in range(1, 6) for number in range(1, 21)}
    assert len(seeds) == 100


def test_a_definition_gives_its_instances_in_exactly_one_of_the_two_forms() -> None:
    shape = {"InstanceType": "ml.m5.large", "InstanceCount": 2, "VolumeSizeInGB": 1}
    assert resources.resource_config({"ResourceConfig": shape}) == shape
    assert resources.resource_config({"HyperParameterTuningResourceConfig": shape}) == shape
    with pytest.raises(ValidationError, match="exactly one"):
        resources.resource_config({"ResourceConfig": shape, "HyperParameterTuningResourceConfig": shape})
    with pytest.raises(ValidationError, match="exactly one"):
        resources.resource_config({})


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ({"InstanceConfigs": [{"InstanceType": "ml.m5.large", "InstanceCount": 1}]}, "InstanceConfigs"),
        ({"AllocationStrategy": "Prioritized"}, "AllocationStrategy"),
    ],
)
def test_several_instance_types_are_refused_by_name(extra: dict[str, object], named: str) -> None:
    given = {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1, **extra}
    with pytest.raises(ValidationError, match=rf"HyperParameterTuningResourceConfig\.{named}"):
        resources.resource_config({"HyperParameterTuningResourceConfig": given})


def test_the_tuning_form_needs_what_a_resource_config_needs() -> None:
    with pytest.raises(ValidationError, match="VolumeSizeInGB is required"):
        resources.resource_config(
            {"HyperParameterTuningResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1}}
        )
