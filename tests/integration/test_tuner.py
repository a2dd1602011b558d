"""The tuning service and tuner over a real SQLite file and a fake clock; no scheduler runs.

Each test plays the scheduler and the runtime itself: it ends the tuning job's training jobs with the
metrics it chooses (`finish`), then lets the tuner pass (`tuner.run_until_idle()`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.clock import FakeClock
from app.config import Settings
from app.db import migrate
from app.errors import ResourceInUse, ValidationError
from app.jobs import metric_repository
from app.jobs import repository as job_repository
from app.services import Services, build
from tests.support.callers import ROOT

METRIC = "validation:loss"


def tuning_request(name: str, **config: Any) -> dict[str, Any]:
    return {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": {
            "Strategy": "Random",
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 4, "MaxParallelTrainingJobs": 2},
            "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": METRIC},
            "ParameterRanges": {
                "ContinuousParameterRanges": [
                    {
                        "Name": "learning_rate",
                        "MinValue": "0.0001",
                        "MaxValue": "0.1",
                        "ScalingType": "Logarithmic",
                    }
                ],
                "CategoricalParameterRanges": [{"Name": "hidden_layers", "Values": ["8", "16"]}],
            },
            **config,
        },
        "TrainingJobDefinition": {
            "StaticHyperParameters": {"epochs": "3"},
            "AlgorithmSpecification": {"TrainingImage": "mlp", "TrainingInputMode": "File"},
            "RoleArn": "arn:aws:iam::123456789012:role/SageMakerRole",
            "OutputDataConfig": {"S3OutputPath": "s3://bucket/tuning"},
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
            "StoppingCondition": {"MaxRuntimeInSeconds": 600},
        },
    }


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(dt.datetime(2026, 1, 1, tzinfo=dt.UTC))


def _build(tmp_path: Path, clock: FakeClock) -> Services:
    settings = Settings(data_dir=tmp_path / "data")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(settings.resolved_database_url)
    return build(settings, clock=clock)


@pytest.fixture
def services(tmp_path: Path, clock: FakeClock) -> Iterator[Services]:
    built = _build(tmp_path, clock)
    yield built
    built.close()


def children(services: Services, name: str) -> list[dict[str, Any]]:
    listed = services.tuning.list_training_jobs(
        {"HyperParameterTuningJobName": name, "MaxResults": 100}, caller=ROOT
    )
    return list(listed["TrainingJobSummaries"])


def finish(
    services: Services,
    job_name: str,
    *,
    loss: float | None,
    status: str = "Completed",
    per_epoch: tuple[float, ...] = (),
) -> None:
    """Ends a training job as a run would: its status, final metrics and per-epoch points."""
    now = services.lifecycle.clock()
    with services.sessions.begin() as session:
        job = job_repository.get(session, account_id=ROOT.account_id, name=job_name)
        assert job is not None
        points = [
            metric_repository.Point(METRIC, v, now + dt.timedelta(seconds=i)) for i, v in enumerate(per_epoch)
        ]
        metric_repository.add(session, job.id, points)
        if status == "InProgress":
            return
        finals = [] if loss is None else [{"MetricName": METRIC, "Value": loss, "Timestamp": now.timestamp()}]
        values = {
            "status": status,
            "secondary_status": status,
            "final_metrics": finals,
            "training_start_time": now,
            "training_end_time": now,
            "failure_reason": "AlgorithmError: boom" if status == "Failed" else None,
        }
        assert job_repository.compare_and_set(
            session, job_id=job.id, expected=(job.status, job.secondary_status), values=values
        )


def test_a_random_search_runs_its_budget_in_parallel_batches_and_reports_the_best(services: Services) -> None:
    services.tuning.create(tuning_request("search"), caller=ROOT)
    services.tuner.run_until_idle()
    first = children(services, "search")
    assert len(first) == 2  # MaxParallelTrainingJobs
    for child in first:
        assert child["TrainingJobName"].startswith("search-00")
        described = services.jobs.describe(child["TrainingJobName"], caller=ROOT)
        assert described["TuningJobArn"].endswith(":hyper-parameter-tuning-job/search")
        assert described["HyperParameters"]["epochs"] == "3"
        assert described["HyperParameters"]["_tuning_objective_metric"] == METRIC  # as SageMaker hands it
        assert 0.0001 <= float(described["HyperParameters"]["learning_rate"]) <= 0.1
    finish(services, first[0]["TrainingJobName"], loss=0.5)
    services.tuner.run_until_idle()
    assert len(children(services, "search")) == 3  # a slot came free: one more, never more than 2 running
    for index, child in enumerate(children(services, "search")[1:]):
        finish(
            services, child["TrainingJobName"], loss=[0.2, None][index], status=["Completed", "Failed"][index]
        )
    services.tuner.run_until_idle()
    rest = [c for c in children(services, "search") if c["TrainingJobStatus"] == "InProgress"]
    assert len(rest) == 1
    finish(services, rest[0]["TrainingJobName"], loss=0.9)
    services.tuner.run_until_idle()
    described = services.tuning.describe("search", caller=ROOT)
    assert described["HyperParameterTuningJobStatus"] == "Completed"
    assert described["TrainingJobStatusCounters"] == {
        "Completed": 3,
        "InProgress": 0,
        "RetryableError": 0,
        "NonRetryableError": 1,
        "Stopped": 0,
    }
    assert described["ObjectiveStatusCounters"] == {"Succeeded": 3, "Pending": 0, "Failed": 1}
    assert described["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == 0.2
    by_value = services.tuning.list_training_jobs(
        {"HyperParameterTuningJobName": "search", "SortBy": "FinalObjectiveMetricValue"}, caller=ROOT
    )
    values = [
        s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for s in by_value["TrainingJobSummaries"]
    ]
    assert values == [0.2, 0.5, 0.9]


def test_a_restarted_server_resumes_the_tuning_job_where_it_was(tmp_path: Path, clock: FakeClock) -> None:
    first = _build(tmp_path, clock)
    first.tuning.create(tuning_request("resume", RandomSeed=7), caller=ROOT)
    first.tuner.run_until_idle()
    launched = [c["TrainingJobName"] for c in children(first, "resume")]
    finish(first, launched[0], loss=0.3)
    first.close()
    second = _build(tmp_path, clock)
    try:
        second.tuner.run_until_idle()
        names = [c["TrainingJobName"] for c in children(second, "resume")]
        assert names[:2] == launched and len(names) == 3
        assert second.tuning.describe("resume", caller=ROOT)["HyperParameterTuningJobStatus"] == "InProgress"
    finally:
        second.close()


def test_a_stopped_tuning_job_stops_its_running_training_jobs(services: Services) -> None:
    services.tuning.create(tuning_request("halt"), caller=ROOT)
    services.tuner.run_until_idle()
    services.tuning.stop("halt", caller=ROOT)
    services.tuner.run_until_idle()
    statuses = {c["TrainingJobStatus"] for c in children(services, "halt")}
    assert statuses == {"Stopped"}  # queued jobs stop at once
    assert services.tuning.describe("halt", caller=ROOT)["HyperParameterTuningJobStatus"] == "Stopped"
    with pytest.raises(ValidationError):
        services.tuning.stop("halt", caller=ROOT)
    services.tuning.delete("halt", caller=ROOT)
    with pytest.raises(ValidationError, match="not found"):
        services.tuning.describe("halt", caller=ROOT)


def test_a_stop_after_the_whole_budget_launched_still_stops_the_running_trials(services: Services) -> None:
    limits = {"ResourceLimits": {"MaxNumberOfTrainingJobs": 2, "MaxParallelTrainingJobs": 2}}
    services.tuning.create(tuning_request("spent", **limits), caller=ROOT)
    services.tuner.run_until_idle()
    services.tuning.stop("spent", caller=ROOT)
    services.tuner.run_until_idle()
    assert {c["TrainingJobStatus"] for c in children(services, "spent")} == {"Stopped"}
    assert services.tuning.describe("spent", caller=ROOT)["HyperParameterTuningJobStatus"] == "Stopped"


def test_the_target_objective_ends_the_search_early(services: Services) -> None:
    criteria = {"TuningJobCompletionCriteria": {"TargetObjectiveMetricValue": 0.1}}
    services.tuning.create(tuning_request("target", **criteria), caller=ROOT)
    services.tuner.run_until_idle()
    first, second = children(services, "target")
    finish(services, first["TrainingJobName"], loss=0.05)
    services.tuner.run_until_idle()
    assert len(children(services, "target")) == 2  # nothing more launched; the other one was stopped
    assert services.jobs.describe(second["TrainingJobName"], caller=ROOT)["TrainingJobStatus"] == "Stopped"
    assert services.tuning.describe("target", caller=ROOT)["HyperParameterTuningJobStatus"] == "Completed"


def test_median_early_stopping_stops_a_trial_worse_than_the_median_of_earlier_ones(
    services: Services,
) -> None:
    limits = {"ResourceLimits": {"MaxNumberOfTrainingJobs": 5, "MaxParallelTrainingJobs": 1}}
    services.tuning.create(
        tuning_request("median", TrainingJobEarlyStoppingType="Auto", **limits), caller=ROOT
    )
    for loss in (0.5, 0.4, 0.6):
        services.tuner.run_until_idle()
        (running,) = [c for c in children(services, "median") if c["TrainingJobStatus"] == "InProgress"]
        finish(services, running["TrainingJobName"], loss=loss, per_epoch=(loss + 0.2, loss + 0.1, loss))
    services.tuner.run_until_idle()
    (running,) = [c for c in children(services, "median") if c["TrainingJobStatus"] == "InProgress"]
    finish(services, running["TrainingJobName"], loss=None, status="InProgress", per_epoch=(2.0,))
    services.tuner.run_until_idle()
    assert services.jobs.describe(running["TrainingJobName"], caller=ROOT)["TrainingJobStatus"] == "Stopped"


def test_an_ended_trial_advances_its_own_tuning_job_only_and_launches_the_next_in_that_pass(
    services: Services,
) -> None:
    for name in ("mine", "other"):
        services.tuning.create(tuning_request(name), caller=ROOT)
    services.tuner.run_until_idle()
    mine, other = children(services, "mine")[0], children(services, "other")[0]
    finish(services, mine["TrainingJobName"], loss=0.5)
    finish(services, other["TrainingJobName"], loss=0.5)
    ended = services.jobs.describe(mine["TrainingJobName"], caller=ROOT)["TrainingJobArn"]
    assert services.tuner.advance_trials_of([ended, "arn:aws:sagemaker:us-east-1:1:training-job/none"])
    assert len(children(services, "mine")) == 3  # the end recorded and the next trial launched, one pass
    assert len(children(services, "other")) == 2  # its trial ended too, but nothing rang for it
    assert not services.tuner.advance_trials_of(["arn:aws:sagemaker:us-east-1:1:training-job/none"])
    services.tuner.tick()  # the periodic pass
    assert len(children(services, "other")) == 3


def test_the_sdks_tuning_resource_config_is_each_trials_resource_config(services: Services) -> None:
    # The SDK's HyperparameterTuner sends its estimator's one instance type in this form, always.
    request = tuning_request("sdk-form")
    definition = request["TrainingJobDefinition"]
    del definition["ResourceConfig"]
    definition["HyperParameterTuningResourceConfig"] = {
        "InstanceType": "ml.m5.xlarge",
        "InstanceCount": 1,
        "VolumeSizeInGB": 2,
    }
    services.tuning.create(request, caller=ROOT)
    services.tuner.run_until_idle()
    trials = children(services, "sdk-form")
    assert len(trials) == 2
    for trial in trials:
        described = services.jobs.describe(trial["TrainingJobName"], caller=ROOT)
        assert described["ResourceConfig"] == definition["HyperParameterTuningResourceConfig"]
    # What the SDK's HyperparameterTuner.attach() reads back, without looking first.
    described = services.tuning.describe("sdk-form", caller=ROOT)
    definition = described["TrainingJobDefinition"]
    assert definition["HyperParameterTuningResourceConfig"]["InstanceType"] == "ml.m5.xlarge"
    assert definition["ResourceConfig"] == definition["HyperParameterTuningResourceConfig"]
    assert definition["StaticHyperParameters"] == {"epochs": "3", "_tuning_objective_metric": METRIC}
    assert METRIC in {m["Name"] for m in definition["AlgorithmSpecification"]["MetricDefinitions"]}
    config = described["HyperParameterTuningJobConfig"]
    assert config["TrainingJobEarlyStoppingType"] == "Off"
    assert config["ParameterRanges"]["IntegerParameterRanges"] == []
    assert len(config["ParameterRanges"]["ContinuousParameterRanges"]) == 1


def test_requests_sagemaker_refuses_are_refused_by_name(services: Services) -> None:
    grid_with_budget = tuning_request("grid", Strategy="Grid")
    with pytest.raises(ValidationError, match="omit MaxNumberOfTrainingJobs"):
        services.tuning.create(grid_with_budget, caller=ROOT)
    grid_over_numbers = tuning_request("grid", Strategy="Grid", ResourceLimits={"MaxParallelTrainingJobs": 1})
    with pytest.raises(ValidationError, match="categorical ranges only; learning_rate"):
        services.tuning.create(grid_over_numbers, caller=ROOT)
    hyperband = tuning_request("band", Strategy="Hyperband", TrainingJobEarlyStoppingType="Auto")
    with pytest.raises(ValidationError, match="Off"):
        services.tuning.create(hyperband, caller=ROOT)
    autotune = {**tuning_request("auto"), "Autotune": {"Mode": "Enabled"}}
    with pytest.raises(ValidationError, match="Autotune"):
        services.tuning.create(autotune, caller=ROOT)
    request = tuning_request("res")
    several_types = {"InstanceConfigs": [{"InstanceType": "ml.m5.large", "InstanceCount": 1}]}
    request["TrainingJobDefinition"]["HyperParameterTuningResourceConfig"] = several_types
    del request["TrainingJobDefinition"]["ResourceConfig"]
    with pytest.raises(ValidationError, match=r"HyperParameterTuningResourceConfig\.InstanceConfigs"):
        services.tuning.create(request, caller=ROOT)
    wrong_metric = tuning_request(
        "metric", HyperParameterTuningJobObjective={"Type": "Minimize", "MetricName": "nope"}
    )
    with pytest.raises(ValidationError, match="nope"):
        services.tuning.create(wrong_metric, caller=ROOT)
    services.tuning.create(tuning_request("twice"), caller=ROOT)
    with pytest.raises(ResourceInUse):
        services.tuning.create(tuning_request("twice"), caller=ROOT)
