"""Tuning jobs through the real server with boto3: a Bayesian and a Random search on the built-in `mlp`,
whose trials really train, waited on with the client's tuning waiter; and a stop that stops the running
trials."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from app.cli import run
from app.client import SageMakerClient
from tests.conftest import sagemaker_client
from tests.support.jobs import s3_client
from tests.support.polling import wait_until
from tests.support.server import ROOT_KEY, ROOT_SECRET, Server, running_server

pytestmark = pytest.mark.e2e

BUCKET = "tuning-data"
TRIALS, PARALLEL = 4, 2
# Waiter polls: each second, for up to 10 minutes (a generous stall guard; a search takes well under one).
WAIT = {"Delay": 1, "MaxAttempts": 600}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    env = {"SAGELITE_SCHEDULER_INTERVAL_SECONDS": "0.2"}
    with running_server(tmp_path_factory.mktemp("tuning") / "data", env=env) as server:
        _stage_data(server, tmp_path_factory.mktemp("tuning-csv"))
        yield server


@pytest.fixture(scope="module")
def ours(live: Server) -> Iterator[SageMakerClient]:
    with SageMakerClient(
        endpoint_url=live.url, aws_access_key_id=ROOT_KEY, aws_secret_access_key=ROOT_SECRET, max_attempts=1
    ) as client:
        yield client


def _stage_data(server: Server, folder: Path) -> None:
    """A small binary classification set (label first, as the built-ins read CSV)."""
    rng = np.random.default_rng(7)
    x = rng.normal(size=(600, 5))
    y = (x[:, 0] + 0.5 * x[:, 1] - x[:, 2] > 0).astype(float)
    csv = folder / "train.csv"
    np.savetxt(csv, np.column_stack([y, x]), delimiter=",", fmt="%.5f")
    s3 = s3_client(server.url)
    s3.create_bucket(Bucket=BUCKET)
    s3.upload_file(str(csv), BUCKET, "train/train.csv")


def tuning_request(
    name: str, *, strategy: str, objective: dict[str, str], static: dict[str, str], trials: int = TRIALS
) -> dict[str, Any]:
    channel = {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/train/"}}
    return {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": {
            "Strategy": strategy,
            "RandomSeed": 3,
            "ResourceLimits": {"MaxNumberOfTrainingJobs": trials, "MaxParallelTrainingJobs": PARALLEL},
            "HyperParameterTuningJobObjective": objective,
            "ParameterRanges": {
                "ContinuousParameterRanges": [
                    {
                        "Name": "learning_rate",
                        "MinValue": "0.0001",
                        "MaxValue": "0.1",
                        "ScalingType": "Logarithmic",
                    }
                ],
                "CategoricalParameterRanges": [{"Name": "hidden_layers", "Values": ["4", "16"]}],
            },
        },
        "TrainingJobDefinition": {
            "StaticHyperParameters": static,
            "AlgorithmSpecification": {"TrainingImage": "mlp", "TrainingInputMode": "File"},
            "RoleArn": "arn:aws:iam::123456789012:role/SageMakerRole",
            "InputDataConfig": [{"ChannelName": "train", "DataSource": channel, "ContentType": "text/csv"}],
            "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/out"},
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
            "StoppingCondition": {"MaxRuntimeInSeconds": 600},
        },
    }


def children(sagemaker: Any, name: str, **params: Any) -> list[dict[str, Any]]:
    pages = sagemaker.get_paginator("list_training_jobs_for_hyper_parameter_tuning_job").paginate(
        HyperParameterTuningJobName=name, **params
    )
    return [summary for page in pages for summary in page["TrainingJobSummaries"]]


SEARCHES = {
    "Bayesian": {"Type": "Minimize", "MetricName": "validation:loss"},
    "Random": {"Type": "Maximize", "MetricName": "validation:accuracy"},
}


@pytest.mark.parametrize("strategy", sorted(SEARCHES))
def test_a_search_trains_its_trials_and_names_the_best(
    live: Server, ours: SageMakerClient, strategy: str
) -> None:
    sagemaker = sagemaker_client(live.url)
    name = f"search-{strategy.lower()}"
    objective = SEARCHES[strategy]
    arn = sagemaker.create_hyper_parameter_tuning_job(
        **tuning_request(name, strategy=strategy, objective=objective, static={"epochs": "3"})
    )["HyperParameterTuningJobArn"]
    assert arn.endswith(f":hyper-parameter-tuning-job/{name}")

    ours.get_waiter("hyper_parameter_tuning_job_completed_or_stopped").wait(
        HyperParameterTuningJobName=name, WaiterConfig=WAIT
    )
    tuning = sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    assert tuning["HyperParameterTuningJobStatus"] == "Completed", tuning.get("FailureReason")
    assert tuning["TrainingJobStatusCounters"]["Completed"] == TRIALS
    assert tuning["ObjectiveStatusCounters"] == {"Succeeded": TRIALS, "Pending": 0, "Failed": 0}

    trials = children(sagemaker, name)
    names = sorted(t["TrainingJobName"] for t in trials)
    assert [n[: -len("-12345678")] for n in names] == [f"{name}-{i:03d}" for i in range(1, TRIALS + 1)]
    assert all(re.fullmatch(rf"{name}-\d{{3}}-[0-9a-f]{{8}}", n) for n in names), names
    listed = sagemaker.list_training_jobs(NameContains=f"{name}-", MaxResults=100)["TrainingJobSummaries"]
    assert sorted(s["TrainingJobName"] for s in listed) == names

    finals: dict[str, float] = {}
    for child in names:
        job = sagemaker.describe_training_job(TrainingJobName=child)
        assert job["TuningJobArn"] == arn
        assert job["TrainingJobStatus"] == "Completed"
        assert float(job["HyperParameters"]["learning_rate"]) > 0
        assert job["HyperParameters"]["hidden_layers"] in ("4", "16")
        finals[child] = next(
            m["Value"] for m in job["FinalMetricDataList"] if m["MetricName"] == objective["MetricName"]
        )

    ranked = children(sagemaker, name, SortBy="FinalObjectiveMetricValue", SortOrder="Ascending")
    values = [t["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for t in ranked]
    assert values == sorted(values) and len(values) == TRIALS
    assert values == pytest.approx(sorted(finals.values()))
    best = tuning["BestTrainingJob"]
    top = min(finals.values()) if objective["Type"] == "Minimize" else max(finals.values())
    # Ties are likely on a small validation set: any trial at the top will do.
    assert finals[best["TrainingJobName"]] == top
    assert best["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == pytest.approx(top)
    assert best["FinalHyperParameterTuningJobObjectiveMetric"]["MetricName"] == objective["MetricName"]


def test_stopping_a_search_stops_its_running_trials(live: Server, ours: SageMakerClient) -> None:
    sagemaker = sagemaker_client(live.url)
    name = "search-stopped"
    # One sample per step over many epochs: each trial trains for minutes unless stopped.
    static = {"epochs": "2000", "mini_batch_size": "1"}
    sagemaker.create_hyper_parameter_tuning_job(
        **tuning_request(
            name,
            strategy="Random",
            objective={"Type": "Minimize", "MetricName": "validation:loss"},
            static=static,
        )
    )

    def training() -> list[str]:
        statuses = [
            sagemaker.describe_training_job(TrainingJobName=t["TrainingJobName"])["SecondaryStatus"]
            for t in children(sagemaker, name)
        ]
        return statuses

    wait_until(
        training, until=lambda seen: seen == ["Training"] * PARALLEL, what="both trials to train", timeout=300
    )
    sagemaker.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    ours.get_waiter("hyper_parameter_tuning_job_completed_or_stopped").wait(
        HyperParameterTuningJobName=name, WaiterConfig=WAIT
    )
    tuning = sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    assert tuning["HyperParameterTuningJobStatus"] == "Stopped"
    assert tuning["TrainingJobStatusCounters"]["Stopped"] == PARALLEL
    assert tuning["TrainingJobStatusCounters"]["InProgress"] == 0
    trials = children(sagemaker, name)
    assert len(trials) == PARALLEL  # no trial started after the stop
    for trial in trials:
        job = sagemaker.describe_training_job(TrainingJobName=trial["TrainingJobName"])
        assert job["TrainingJobStatus"] == "Stopped", job.get("FailureReason")
        assert trial["TrainingJobStatus"] == "Stopped"


def test_the_cli_waits_for_lists_and_describes_a_search(
    live: Server, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAGELITE_ENDPOINT_URL", live.url)
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(variable, raising=False)

    def cli(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = run(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    sagemaker_client(live.url).create_hyper_parameter_tuning_job(
        **tuning_request(
            "search-cli",
            strategy="Random",
            objective={"Type": "Minimize", "MetricName": "validation:loss"},
            static={"epochs": "1"},
            trials=PARALLEL,
        )
    )
    code, out, err = cli("tuning", "wait", "search-cli", "--interval", "0.5", "--timeout", "600")
    assert (code, out) == (0, "search-cli Completed\n"), err
    assert "search-cli  InProgress" in err and f"{PARALLEL} Completed" in err.splitlines()[-1]

    code, out, _ = cli("tuning", "list", "--name-contains", "cli")
    header, row = out.splitlines()
    assert header.split()[:4] == ["NAME", "STATUS", "STRATEGY", "TRAINING"]
    assert row.split()[:3] == ["search-cli", "Completed", "Random"]

    code, out, _ = cli("tuning", "describe", "search-cli", "--output", "json")
    described = json.loads(out)
    assert code == 0 and len(described["TrainingJobSummaries"]) == PARALLEL
    best = described["BestTrainingJob"]["TrainingJobName"]
    code, out, _ = cli("tuning", "describe", "search-cli")
    assert re.search(rf"^Best training job:\s+{best}$", out, re.MULTILINE), out
    assert re.search(r"^Objective:\s+Minimize validation:loss$", out, re.MULTILINE), out
    assert sum(line.startswith("search-cli-00") for line in out.splitlines()) == PARALLEL

    code, out, _ = cli("tuning", "wait", "search-cli", "--ok-status", "Stopped")
    assert code == 7  # ended Completed, which --ok-status left out
    code, _, err = cli("tuning", "describe", "no-such-search")
    assert (code, err) == (4, "sagelite: tuning job 'no-such-search' does not exist\n")
