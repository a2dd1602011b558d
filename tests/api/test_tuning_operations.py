"""The tuning operations on `POST /`, serialized and parsed by botocore, over the real ASGI app (its
tuner is driven by hand; no training job runs)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.test_aws_protocol import call, fails
from tests.integration.test_tuner import tuning_request

TUNING_ARN = "arn:aws:sagemaker:us-east-1:123456789012:hyper-parameter-tuning-job/"


def test_create_describe_list_children_tags_stop_delete(api: TestClient) -> None:
    created = call(
        api, "CreateHyperParameterTuningJob", {**tuning_request("wire"), "Tags": [{"Key": "k", "Value": "v"}]}
    )
    assert created["HyperParameterTuningJobArn"] == TUNING_ARN + "wire"
    api.app.state.services.tuner.run_until_idle()  # type: ignore[attr-defined]
    described = call(api, "DescribeHyperParameterTuningJob", {"HyperParameterTuningJobName": "wire"})
    assert described["HyperParameterTuningJobStatus"] == "InProgress"
    assert described["TrainingJobStatusCounters"]["InProgress"] == 2
    assert described["ObjectiveStatusCounters"]["Pending"] == 2
    assert described["HyperParameterTuningJobConfig"]["Strategy"] == "Random"
    listed = call(api, "ListHyperParameterTuningJobs", {"NameContains": "wir"})
    assert [s["HyperParameterTuningJobName"] for s in listed["HyperParameterTuningJobSummaries"]] == ["wire"]
    children = call(
        api, "ListTrainingJobsForHyperParameterTuningJob", {"HyperParameterTuningJobName": "wire"}
    )
    names = [s["TrainingJobName"] for s in children["TrainingJobSummaries"]]
    assert len(names) == 2 and all(n.startswith("wire-00") and len(n) == len("wire-001-") + 8 for n in names)
    training = call(api, "ListTrainingJobs", {"NameContains": "wire-"})
    assert sorted(s["TrainingJobName"] for s in training["TrainingJobSummaries"]) == sorted(names)
    assert call(api, "ListTags", {"ResourceArn": TUNING_ARN + "wire"})["Tags"] == [{"Key": "k", "Value": "v"}]
    fails(api, "DeleteHyperParameterTuningJob", {"HyperParameterTuningJobName": "wire"}, "ResourceInUse")
    call(api, "StopHyperParameterTuningJob", {"HyperParameterTuningJobName": "wire"})
    api.app.state.services.tuner.run_until_idle()  # type: ignore[attr-defined]
    described = call(api, "DescribeHyperParameterTuningJob", {"HyperParameterTuningJobName": "wire"})
    assert described["HyperParameterTuningJobStatus"] == "Stopped"
    assert described["TrainingJobStatusCounters"]["Stopped"] == 2
    call(api, "DeleteHyperParameterTuningJob", {"HyperParameterTuningJobName": "wire"})
    fails(
        api,
        "DescribeHyperParameterTuningJob",
        {"HyperParameterTuningJobName": "wire"},
        "ValidationException",
        "Requested resource not found.",
    )


def test_unimplemented_members_are_refused_by_name(api: TestClient) -> None:
    message = fails(
        api,
        "CreateHyperParameterTuningJob",
        {**tuning_request("auto"), "Autotune": {"Mode": "Enabled"}},
        "ValidationException",
    )
    assert "Autotune" in message


def test_list_pages_with_a_token(api: TestClient) -> None:
    for name in ("p1", "p2", "p3"):
        call(api, "CreateHyperParameterTuningJob", tuning_request(name))
    first = call(api, "ListHyperParameterTuningJobs", {"MaxResults": 2, "SortBy": "Name"})
    second = call(
        api,
        "ListHyperParameterTuningJobs",
        {"MaxResults": 2, "SortBy": "Name", "NextToken": first["NextToken"]},
    )
    names = [
        s["HyperParameterTuningJobName"]
        for s in first["HyperParameterTuningJobSummaries"] + second["HyperParameterTuningJobSummaries"]
    ]
    assert names == ["p1", "p2", "p3"] and "NextToken" not in second
