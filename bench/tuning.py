"""Hyperparameter tuning through the real server: does the optimizer earn its keep, and what does it cost?

    .venv/bin/python bench/tuning.py [--seeds 5] [--trials 20] [--epochs 4]
                                     [--stop-seeds 2] [--stop-epochs 120] [--stop-trials 10]

On a small tabular classification set (a nonlinear boundary over 10 features, 3000 training and 1000
validation rows), the built-in `mlp` is tuned over a space where both dimensions matter: the learning rate
(1e-5 … 1, logarithmic) and the hidden layer's width (2 … 128, logarithmic). Every trial is a real
training job in its own VM.
1. Bayesian vs Random, N trials each, one at a time (RandomSeed reproduces a run), over `--seeds` seeds,
   minimizing validation:loss: the median over seeds of each search's best loss (goal: Bayesian lower).
2. Early stopping: the same Random search (same seed: the same trials) with TrainingJobEarlyStoppingType
   Off and Auto, maximizing validation:accuracy over more epochs (long enough for the 1 s metric scan
   to see epochs go by): summed training seconds of the trials, and the best accuracy (goal: fewer
   seconds, best within 1 point).
3. Tuner overhead (goal: ≤ 200 ms per trial): on the server, from a trial's end (its final status
   transition) to the next trial's creation over every consecutive pair of part 1, which also holds the
   VM's teardown and the tuner's wake-up; and in-process, the tuner's own working passes per trial
   (recording the end, asking the optimizer, creating the next child) over a 40-trial Bayesian search
   whose trials the bench ends itself.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))

import numpy as np  # noqa: E402

from app.client import SageMakerClient  # noqa: E402
from app.config import Settings  # noqa: E402
from app.db import migrate  # noqa: E402
from app.services import Services, build  # noqa: E402
from tests.conftest import sagemaker_client  # noqa: E402
from tests.integration.test_tuner import finish, tuning_request  # noqa: E402
from tests.support.callers import ROOT  # noqa: E402
from tests.support.jobs import s3_client  # noqa: E402
from tests.support.server import ROOT_KEY, ROOT_SECRET, Server, running_server  # noqa: E402

BUCKET = "bench-tuning"
FEATURES = 10
LOSS = {"Type": "Minimize", "MetricName": "validation:loss"}
ACCURACY = {"Type": "Maximize", "MetricName": "validation:accuracy"}
RANGES = {
    "ContinuousParameterRanges": [
        {"Name": "learning_rate", "MinValue": "0.00001", "MaxValue": "1", "ScalingType": "Logarithmic"}
    ],
    "IntegerParameterRanges": [
        {"Name": "hidden_layers", "MinValue": "2", "MaxValue": "128", "ScalingType": "Logarithmic"}
    ],
}
WAIT = {"Delay": 2, "MaxAttempts": 3600}


@dataclass(frozen=True)
class Figures:
    best: dict[str, list[float]]  # per strategy (part 1) or early-stopping mode (part 2), one per seed
    seconds: dict[str, list[float]]  # part 2: summed training seconds per seed
    stopped: dict[str, list[int]]  # part 2: trials stopped early, per seed
    gaps: list[float]  # part 3, on the server
    passes: list[float]  # part 3, the tuner's own seconds per trial, in-process


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--trials", type=int, default=20, help="N, per search of part 1")
    parser.add_argument("--stop-seeds", type=int, default=2, help="seeds of the early-stopping part")
    parser.add_argument("--epochs", type=int, default=4, help="epochs of part 1")
    parser.add_argument("--stop-epochs", type=int, default=120, help="epochs of part 2")
    parser.add_argument("--stop-trials", type=int, default=10, help="trials per search of part 2")
    args = parser.parse_args()
    env = {"SAGELITE_SCHEDULER_INTERVAL_SECONDS": "0.1", "SAGELITE_ISOLATION": "process"}
    with tempfile.TemporaryDirectory() as tmp, running_server(Path(tmp) / "data", env=env) as server:
        stage_data(server, Path(tmp))
        with SageMakerClient(
            endpoint_url=server.url, aws_access_key_id=ROOT_KEY, aws_secret_access_key=ROOT_SECRET
        ) as client:
            figures = measure(server, client, args)
        figures = replace(figures, passes=tuner_passes(Path(tmp) / "in-process", trials=40))
    report(figures, args)


def measure(server: Server, client: SageMakerClient, args: argparse.Namespace) -> Figures:
    searches = compare_strategies(server, client, args)
    stopping = compare_early_stopping(server, client, args)
    found = {kind: [best(client, name) for name in names] for kind, names in (searches | stopping).items()}
    seconds = {mode: [training_seconds(client, name) for name in names] for mode, names in stopping.items()}
    stopped = {mode: [stopped_trials(client, name) for name in names] for mode, names in stopping.items()}
    gaps = [gap for names in searches.values() for name in names for gap in tuner_gaps(client, name)]
    return Figures(best=found, seconds=seconds, stopped=stopped, gaps=gaps, passes=[])


def _working_passes(services: Services) -> float:
    """Seconds in the passes that changed something (recording the end, launching the next trial); the
    last pass of each round changes nothing and stands for the server's idle wake-ups, so it is left out."""
    spent = 0.0
    while True:
        started = time.perf_counter()
        changed = services.tuner.tick()
        if not changed:
            return spent
        spent += time.perf_counter() - started


def tuner_passes(folder: Path, *, trials: int) -> list[float]:
    """The tuner's passes timed per trial, over services in this process; the bench ends each trial."""
    settings = Settings(data_dir=folder)
    folder.mkdir(parents=True)
    migrate.upgrade(settings.resolved_database_url)
    services = build(settings)
    rng = np.random.default_rng(0)
    limits = {"ResourceLimits": {"MaxNumberOfTrainingJobs": trials, "MaxParallelTrainingJobs": 1}}
    services.tuning.create(tuning_request("passes", Strategy="Bayesian", **limits), caller=ROOT)
    spent: list[float] = []
    try:
        while True:
            spent.append(_working_passes(services))
            listed = services.tuning.list_training_jobs(
                {"HyperParameterTuningJobName": "passes", "StatusEquals": "InProgress"}, caller=ROOT
            )["TrainingJobSummaries"]
            if not listed:
                return spent[1:]  # the first pass also loads optuna: once per server, not per trial
            finish(services, listed[0]["TrainingJobName"], loss=float(rng.uniform(0.1, 1.0)))
    finally:
        services.close()


def stage_data(server: Server, folder: Path) -> None:
    rng = np.random.default_rng(2024)
    x = rng.standard_normal((4000, FEATURES))
    signal = x[:, 0] * x[:, 1] + np.sin(2 * x[:, 2]) + 0.5 * x[:, 3] - 0.3 * x[:, 4] ** 2
    y = (signal + 0.3 * rng.standard_normal(len(x)) > 0).astype(float)
    s3 = s3_client(server.url)
    s3.create_bucket(Bucket=BUCKET)
    for channel, rows in (("train", slice(0, 3000)), ("validation", slice(3000, None))):
        csv = folder / f"{channel}.csv"
        np.savetxt(csv, np.column_stack([y[rows], x[rows]]), delimiter=",", fmt="%.5f")
        s3.upload_file(str(csv), BUCKET, f"{channel}/{channel}.csv")


def request(
    name: str,
    *,
    strategy: str,
    seed: int,
    trials: int,
    epochs: int,
    objective: dict[str, str],
    **config: Any,
) -> dict[str, Any]:
    channels = [
        {
            "ChannelName": channel,
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/{channel}/"}},
            "ContentType": "text/csv",
        }
        for channel in ("train", "validation")
    ]
    return {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": {
            "Strategy": strategy,
            "RandomSeed": seed,
            "ResourceLimits": {"MaxNumberOfTrainingJobs": trials, "MaxParallelTrainingJobs": 1},
            "HyperParameterTuningJobObjective": objective,
            "ParameterRanges": RANGES,
            **config,
        },
        "TrainingJobDefinition": {
            "StaticHyperParameters": {"epochs": str(epochs), "mini_batch_size": "32", "seed": "1"},
            "AlgorithmSpecification": {"TrainingImage": "mlp", "TrainingInputMode": "File"},
            "RoleArn": "arn:aws:iam::123456789012:role/SageMakerRole",
            "InputDataConfig": channels,
            "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/out"},
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
            "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        },
    }


def run_all(server: Server, client: SageMakerClient, requests: list[dict[str, Any]]) -> None:
    """Create every tuning job at once (the scheduler shares the host between their trials), wait for all."""
    sagemaker = sagemaker_client(server.url)
    for each in requests:
        sagemaker.create_hyper_parameter_tuning_job(**each)
    waiter = client.get_waiter("hyper_parameter_tuning_job_completed_or_stopped")
    for each in requests:
        name = each["HyperParameterTuningJobName"]
        waiter.wait(HyperParameterTuningJobName=name, WaiterConfig=WAIT)
        print(f"  {name}: best objective {best(client, name):.4f}", file=sys.stderr, flush=True)


def compare_strategies(
    server: Server, client: SageMakerClient, args: argparse.Namespace
) -> dict[str, list[str]]:
    names: dict[str, list[str]] = {"Bayesian": [], "Random": []}
    requests = []
    for seed in range(1, args.seeds + 1):
        for strategy in names:
            name = f"{strategy.lower()}-{seed}"
            names[strategy].append(name)
            requests.append(
                request(
                    name, strategy=strategy, seed=seed, trials=args.trials, epochs=args.epochs, objective=LOSS
                )
            )
    run_all(server, client, requests)
    return names


def compare_early_stopping(
    server: Server, client: SageMakerClient, args: argparse.Namespace
) -> dict[str, list[str]]:
    names: dict[str, list[str]] = {"Off": [], "Auto": []}
    requests = []
    for seed in range(1, args.stop_seeds + 1):
        for mode in names:
            name = f"stopping-{mode.lower()}-{seed}"
            names[mode].append(name)
            requests.append(
                request(
                    name,
                    strategy="Random",
                    seed=100 + seed,
                    trials=args.stop_trials,
                    epochs=args.stop_epochs,
                    objective=ACCURACY,
                    TrainingJobEarlyStoppingType=mode,
                )
            )
    run_all(server, client, requests)
    return names


def trials(client: SageMakerClient, name: str) -> list[dict[str, Any]]:
    pages = client.get_paginator("list_training_jobs_for_hyper_parameter_tuning_job").paginate(
        HyperParameterTuningJobName=name
    )
    found: list[dict[str, Any]] = pages.build_full_result()["TrainingJobSummaries"]
    return sorted(found, key=lambda t: t["TrainingJobName"])


def best(client: SageMakerClient, name: str) -> float:
    described = client.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    return float(described["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"])


def training_seconds(client: SageMakerClient, name: str) -> float:
    seconds: float = sum(
        (t["TrainingEndTime"] - t["TrainingStartTime"]).total_seconds()
        for t in trials(client, name)
        if "TrainingEndTime" in t and "TrainingStartTime" in t
    )
    return seconds


def stopped_trials(client: SageMakerClient, name: str) -> int:
    described = client.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    return int(described["TrainingJobStatusCounters"]["Stopped"])


def tuner_gaps(client: SageMakerClient, name: str) -> list[float]:
    """Seconds from each trial's end (its last status transition) to the next trial's creation."""
    ordered = trials(client, name)
    gaps = []
    for before, after in itertools.pairwise(ordered):
        job = client.describe_training_job(TrainingJobName=before["TrainingJobName"])
        ended = job["SecondaryStatusTransitions"][-1]["StartTime"]
        gaps.append((after["CreationTime"] - ended).total_seconds())
    return gaps


def report(figures: Figures, args: argparse.Namespace) -> None:
    bayesian, random = figures.best["Bayesian"], figures.best["Random"]
    print(
        f"\n1. best validation:loss, N={args.trials} trials one at a time, {args.epochs} epochs, "
        f"{args.seeds} seeds"
    )
    print(f"   {'seed':>6}  {'Bayesian':>9}  {'Random':>9}")
    for seed, (b, r) in enumerate(zip(bayesian, random, strict=True), start=1):
        print(f"   {seed:>6}  {b:>9.4f}  {r:>9.4f}")
    mb, mr = statistics.median(bayesian), statistics.median(random)
    wins = sum(b < r for b, r in zip(bayesian, random, strict=True))
    print(
        f"   {'median':>6}  {mb:>9.4f}  {mr:>9.4f}   ratio Bayesian/Random {mb / mr:.2f}; "
        f"Bayesian lower in {wins} of {len(bayesian)}"
    )
    off = [100 * v for v in figures.best["Off"]]
    auto = [100 * v for v in figures.best["Auto"]]
    spent_off, spent_auto = sum(figures.seconds["Off"]), sum(figures.seconds["Auto"])
    print(
        f"\n2. early stopping, Random, N={args.stop_trials}, {args.stop_epochs} epochs, "
        f"{args.stop_seeds} seeds"
    )
    print(f"   {'':>16}  {'Off':>9}  {'Auto':>9}")
    print(
        f"   {'training seconds':>16}  {spent_off:>9.1f}  {spent_auto:>9.1f}   "
        f"ratio {spent_auto / spent_off:.2f}"
    )
    for seed, (a, b) in enumerate(zip(off, auto, strict=True), start=1):
        print(f"   {f'best %, seed {seed}':>16}  {a:>9.2f}  {b:>9.2f}   {b - a:+.2f} points")
    stopped_off, stopped_auto = sum(figures.stopped["Off"]), sum(figures.stopped["Auto"])
    print(
        f"   {'trials stopped':>16}  {stopped_off:>9}  {stopped_auto:>9}   "
        f"of {args.stop_trials * args.stop_seeds}"
    )
    gaps = figures.gaps
    print(f"\n3. tuner overhead per trial (a trial's end to the next one's creation), {len(gaps)} trials")
    print(f"   p50 {1000 * statistics.median(gaps):.0f} ms, max {1000 * max(gaps):.0f} ms (goal <= 200 ms)")
    passes = figures.passes
    print(f"   the tuner's own passes, in-process, {len(passes)} trials of a Bayesian search:")
    print(
        f"   p50 {1000 * statistics.median(passes):.0f} ms, max {1000 * max(passes):.0f} ms, "
        f"mean {1000 * statistics.mean(passes):.0f} ms per trial (goal <= 200 ms)"
    )


if __name__ == "__main__":
    main()
