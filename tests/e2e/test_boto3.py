"""The SageMaker training-job API over a real socket, driven by the real boto3 client.

`sagelite serve` runs in a subprocess on a free port with its own data dir: one server for the module
(`client`; each test there uses job names of its own) and a fresh one (`fresh`) for the tests that list
everything or restart the server.

Jobs really run: the scheduler places them on a pool of one small host (room for one ml.m5.xlarge or two
ml.m5.large, whatever this machine is), so a job waits, runs and ends as it would in SageMaker. Requests
here name no training data, so a job that is not stopped fails on its own within a second; tests that
depend on a status first wait for the job to settle in a terminal one.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import json
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError, WaiterError

from tests.conftest import create_request, sagemaker_client
from tests.support.jobs import TERMINAL, wait_terminal
from tests.support.polling import wait_until
from tests.support.server import running_server

pytestmark = pytest.mark.e2e

NOT_FOUND = "Requested resource not found."
HOST = {"name": "host-1", "vcpus": 4, "memory_gib": 16, "gpus": 0, "disk_gib": 1000}

# Every member of CreateTrainingJob that DescribeTrainingJob echoes, with values a user might send.
FULL_REQUEST: dict[str, Any] = {
    "HyperParameters": {"epochs": "3", "learning_rate": "0.01", "hidden": "32,16"},
    "AlgorithmSpecification": {
        "TrainingImage": "mlp",
        "TrainingInputMode": "File",
        "MetricDefinitions": [
            {"Name": "train:loss", "Regex": "loss=([0-9.]+)"},
            {"Name": "validation:accuracy", "Regex": "val_acc=([0-9.]+)"},
        ],
        "EnableSageMakerMetricsTimeSeries": True,
    },
    "InputDataConfig": [
        {
            "ChannelName": "train",
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": "S3Prefix",
                    "S3Uri": "s3://bucket/data/train/",
                    "S3DataDistributionType": "ShardedByS3Key",
                }
            },
            "ContentType": "text/csv",
            "CompressionType": "None",
            "InputMode": "File",
        },
        {
            "ChannelName": "validation",
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://bucket/data/val/"}},
            "ContentType": "text/csv",
        },
    ],
    "OutputDataConfig": {"S3OutputPath": "s3://bucket/output"},
    "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 5},
    "VpcConfig": {"SecurityGroupIds": ["sg-0123456789abcdef0"], "Subnets": ["subnet-0123456789abcdef0"]},
    "EnableNetworkIsolation": True,
    "CheckpointConfig": {"S3Uri": "s3://bucket/checkpoints", "LocalPath": "/opt/ml/checkpoints"},
    "Environment": {"SEED": "42", "LOG_LEVEL": "debug"},
    "RetryStrategy": {"MaximumRetryAttempts": 2},
    "ExperimentConfig": {"ExperimentName": "exp", "TrialName": "trial"},
}

TAGS = [{"Key": "team", "Value": "ml"}, {"Key": "project", "Value": "sagelite"}]


@contextmanager
def serving(root: Path) -> Iterator[Any]:
    """A server on `root/data` with a one-host pool and short stop grace; yields a boto3 client on it."""
    root.mkdir(parents=True, exist_ok=True)
    hosts = root / "hosts.json"
    hosts.write_text(json.dumps([HOST]))
    env = {
        "SAGELITE_HOSTS_FILE": str(hosts),
        "SAGELITE_STOP_GRACE_SECONDS": "1",
        "SAGELITE_SCHEDULER_INTERVAL_SECONDS": "0.2",
    }
    with running_server(root / "data", env=env) as server:
        yield sagemaker_client(server.url)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A boto3 client on a server shared by the module's tests."""
    with serving(tmp_path_factory.mktemp("shared")) as shared:
        yield shared


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[Any]:
    """A boto3 client on a server of the test's own."""
    with serving(tmp_path) as own:
        yield own


def assert_contains(expected: Any, actual: Any, path: str = "") -> None:
    """Every member of `expected` is in `actual` with the same value (extra members are allowed)."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{path}: {actual!r} is not a structure"
        for key, value in expected.items():
            assert key in actual, f"{path}.{key} missing from {sorted(actual)}"
            assert_contains(value, actual[key], f"{path}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), f"{path}: {actual!r}"
        for index, (want, got) in enumerate(zip(expected, actual, strict=True)):
            assert_contains(want, got, f"{path}[{index}]")
    else:
        assert actual == expected, f"{path}: {actual!r} != {expected!r}"


def error_of(call: Any, **params: Any) -> dict[str, Any]:
    """Call a client method that must fail; return botocore's parsed error response."""
    with pytest.raises(ClientError) as raised:
        call(**params)
    response: dict[str, Any] = raised.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert response["ResponseMetadata"]["RequestId"]
    assert response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"] == response["Error"]["Code"]
    return response


def names(summaries: list[dict[str, Any]]) -> list[str]:
    return [s["TrainingJobName"] for s in summaries]


def listed(client: Any, **params: Any) -> list[str]:
    """Names of every job that ListTrainingJobs returns for `params`, across all pages."""
    pages = client.get_paginator("list_training_jobs").paginate(**params)
    return [name for page in pages for name in names(page["TrainingJobSummaries"])]


def summaries_of(client: Any, **params: Any) -> list[dict[str, Any]]:
    pages = client.get_paginator("list_training_jobs").paginate(**params)
    return [summary for page in pages for summary in page["TrainingJobSummaries"]]


def job_arn(name: str) -> str:
    return f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{name.lower()}"


def midpoint(earlier: dt.datetime, later: dt.datetime) -> dt.datetime:
    assert later > earlier
    return earlier + (later - earlier) / 2


def without_metadata(response: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in response.items() if key != "ResponseMetadata"}


def assert_transitions(job: dict[str, Any]) -> list[str]:
    """SecondaryStatusTransitions are contiguous, each with a message; returns their statuses."""
    transitions = job["SecondaryStatusTransitions"]
    statuses = [t["Status"] for t in transitions]
    # Queued first (Pending); claimed by the scheduler (Starting) right after, if it was placed at all.
    assert statuses[0] == "Pending"
    assert "Starting" not in statuses or statuses.index("Starting") == 1
    assert transitions[0]["StartTime"] == job["CreationTime"]
    assert all(t["StatusMessage"] for t in transitions)
    for earlier, later in itertools.pairwise(transitions):
        assert earlier["EndTime"] == later["StartTime"]
    if job["TrainingJobStatus"] in TERMINAL:
        assert transitions[-1]["EndTime"] == job["TrainingEndTime"]
        assert transitions[-1]["Status"] == job["SecondaryStatus"]
    return statuses


# -- create and describe ---------------------------------------------------------------------------


def test_describe_echoes_every_member_of_create(client: Any) -> None:
    before = dt.datetime.now(dt.UTC)
    request = create_request("full-job", Tags=TAGS, **FULL_REQUEST)
    created = client.create_training_job(**request)
    after = dt.datetime.now(dt.UTC)
    assert created["TrainingJobArn"] == job_arn("full-job")

    described = client.describe_training_job(TrainingJobName="full-job")

    echoed = {key: value for key, value in request.items() if key != "Tags"}
    assert_contains(echoed, described)
    assert "Tags" not in described
    assert described["TrainingJobArn"] == job_arn("full-job")
    assert described["TrainingJobStatus"] in ("InProgress", "Failed")
    # Defaults SageMaker fills in, shown by Describe.
    assert described["OutputDataConfig"]["KmsKeyId"] == ""
    assert described["StoppingCondition"] == {"MaxRuntimeInSeconds": 86400}
    assert described["InputDataConfig"][1]["DataSource"]["S3DataSource"]["S3DataDistributionType"] == (
        "FullyReplicated"
    )
    assert described["EnableManagedSpotTraining"] is False
    assert described["EnableInterContainerTrafficEncryption"] is False
    # Timestamps arrive as epoch seconds and botocore turns them into aware datetimes.
    for member in ("CreationTime", "LastModifiedTime"):
        assert isinstance(described[member], dt.datetime)
        assert described[member].tzinfo is not None
        assert before - dt.timedelta(seconds=1) <= described[member] <= after + dt.timedelta(seconds=1)
    assert described["LastModifiedTime"] >= described["CreationTime"]
    assert_transitions(described)

    # No data under the channels' prefixes: the job fails while downloading, and still echoes it all.
    finished = wait_terminal(client, "full-job")
    assert finished["TrainingJobStatus"] == "Failed"
    assert finished["FailureReason"]
    assert_contains(echoed, finished)
    assert assert_transitions(finished)[-1] == "Failed"
    assert finished["CreationTime"] == described["CreationTime"]
    assert finished["LastModifiedTime"] >= described["LastModifiedTime"]

    tags = client.list_tags(ResourceArn=created["TrainingJobArn"])["Tags"]
    assert sorted(tags, key=lambda t: t["Key"]) == sorted(TAGS, key=lambda t: t["Key"])


def test_minimal_create_gets_defaults(client: Any) -> None:
    client.create_training_job(**create_request("minimal"))

    described = client.describe_training_job(TrainingJobName="minimal")

    assert described["HyperParameters"] == {}
    assert described["OutputDataConfig"] == {
        "S3OutputPath": "s3://bucket/output",
        "KmsKeyId": "",
        "CompressionType": "GZIP",
    }
    assert described["StoppingCondition"] == {"MaxRuntimeInSeconds": 86400}
    assert described["EnableNetworkIsolation"] is False
    assert client.list_tags(ResourceArn=described["TrainingJobArn"])["Tags"] == []


# -- list ------------------------------------------------------------------------------------------


def test_list_filters_and_sorting(fresh: Any) -> None:
    created = ["alpha-1", "beta-1", "alpha-2", "gamma-1"]
    for name in created:
        fresh.create_training_job(**create_request(name))
    fresh.stop_training_job(TrainingJobName="beta-1")
    fresh.stop_training_job(TrainingJobName="alpha-1")
    jobs = {name: wait_terminal(fresh, name) for name in created}
    assert {name: job["TrainingJobStatus"] for name, job in jobs.items()} == {
        "alpha-1": "Stopped",
        "beta-1": "Stopped",
        "alpha-2": "Failed",
        "gamma-1": "Failed",
    }

    assert listed(fresh) == created
    assert listed(fresh, SortOrder="Descending") == created[::-1]
    assert listed(fresh, SortBy="CreationTime", SortOrder="Ascending") == created
    assert listed(fresh, SortBy="Name") == ["alpha-1", "alpha-2", "beta-1", "gamma-1"]
    assert listed(fresh, SortBy="Name", SortOrder="Descending") == ["gamma-1", "beta-1", "alpha-2", "alpha-1"]
    # Failed < Stopped; equal statuses in creation order (reversed when descending).
    assert listed(fresh, SortBy="Status") == ["alpha-2", "gamma-1", "alpha-1", "beta-1"]
    assert listed(fresh, SortBy="Status", SortOrder="Descending") == [
        "beta-1",
        "alpha-1",
        "gamma-1",
        "alpha-2",
    ]
    assert listed(fresh, NameContains="alpha") == ["alpha-1", "alpha-2"]
    assert listed(fresh, NameContains="ALPHA") == ["alpha-1", "alpha-2"]
    assert listed(fresh, NameContains="a-1") == ["alpha-1", "beta-1", "gamma-1"]
    assert listed(fresh, NameContains="delta") == []
    assert listed(fresh, StatusEquals="Stopped") == ["alpha-1", "beta-1"]
    assert listed(fresh, StatusEquals="Failed") == ["alpha-2", "gamma-1"]
    assert listed(fresh, StatusEquals="InProgress") == []
    assert listed(fresh, NameContains="alpha", StatusEquals="Stopped") == ["alpha-1"]
    assert listed(fresh, NameContains="gamma", StatusEquals="Stopped", SortBy="Name") == []

    created_at = {name: job["CreationTime"] for name, job in jobs.items()}
    split = midpoint(created_at["beta-1"], created_at["alpha-2"])
    assert listed(fresh, CreationTimeAfter=split) == ["alpha-2", "gamma-1"]
    assert listed(fresh, CreationTimeBefore=split) == ["alpha-1", "beta-1"]
    first = midpoint(created_at["alpha-1"], created_at["beta-1"])
    last = midpoint(created_at["alpha-2"], created_at["gamma-1"])
    assert listed(fresh, CreationTimeAfter=first, CreationTimeBefore=last) == ["beta-1", "alpha-2"]
    future = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    assert listed(fresh, CreationTimeAfter=future) == []
    assert listed(fresh, CreationTimeBefore=future, SortBy="Name") == sorted(created)

    modified_at = {name: job["LastModifiedTime"] for name, job in jobs.items()}
    by_modification = sorted(created, key=modified_at.__getitem__)
    split = midpoint(modified_at[by_modification[1]], modified_at[by_modification[2]])
    late = [name for name in created if name in by_modification[2:]]
    early = [name for name in created if name in by_modification[:2]]
    assert listed(fresh, LastModifiedTimeAfter=split) == late
    assert listed(fresh, LastModifiedTimeBefore=split) == early
    assert listed(fresh, LastModifiedTimeAfter=split, CreationTimeBefore=last) == [
        n for n in late if n != "gamma-1"
    ]

    (summary,) = fresh.list_training_jobs(NameContains="alpha-1")["TrainingJobSummaries"]
    alpha = jobs["alpha-1"]
    assert summary == {
        "TrainingJobName": "alpha-1",
        "TrainingJobArn": job_arn("alpha-1"),
        "CreationTime": alpha["CreationTime"],
        "LastModifiedTime": alpha["LastModifiedTime"],
        "TrainingEndTime": alpha["TrainingEndTime"],
        "TrainingJobStatus": "Stopped",
        "SecondaryStatus": "Stopped",
    }


def test_paginator_walks_250_jobs_exactly_once_in_order(fresh: Any) -> None:
    created = [f"page-job-{index:03d}" for index in range(250)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda name: fresh.create_training_job(**create_request(name)), created))
    paginator = fresh.get_paginator("list_training_jobs")

    pages = list(paginator.paginate(PaginationConfig={"PageSize": 37}))
    assert [len(page["TrainingJobSummaries"]) for page in pages] == [37] * 6 + [28]
    assert all("NextToken" in page for page in pages[:-1]) and "NextToken" not in pages[-1]
    summaries = [s for page in pages for s in page["TrainingJobSummaries"]]
    assert sorted(names(summaries)) == created
    order = [(s["TrainingJobName"], s["CreationTime"]) for s in summaries]
    assert [t for _, t in order] == sorted(t for _, t in order)

    descending = paginator.paginate(SortOrder="Descending")
    assert [
        (s["TrainingJobName"], s["CreationTime"]) for s in summaries_of(fresh, SortOrder="Descending")
    ] == (order[::-1])
    assert len(list(descending)) == 25  # ListTrainingJobs' default page holds 10

    by_name = paginator.paginate(SortBy="Name", SortOrder="Descending", PaginationConfig={"PageSize": 100})
    assert [n for page in by_name for n in names(page["TrainingJobSummaries"])] == created[::-1]

    filtered = listed(fresh, NameContains="job-1", PaginationConfig={"PageSize": 7})
    assert filtered == [name for name, _ in order if "job-1" in name]
    assert len(filtered) == 100

    limited = paginator.paginate(PaginationConfig={"PageSize": 50, "MaxItems": 120}).build_full_result()
    assert names(limited["TrainingJobSummaries"]) == names(summaries)[:120]
    resumed = paginator.paginate(PaginationConfig={"PageSize": 50, "StartingToken": limited["NextToken"]})
    assert [n for page in resumed for n in names(page["TrainingJobSummaries"])] == names(summaries)[120:]


# -- stop, wait, delete ----------------------------------------------------------------------------


def test_stop_then_waiter_returns_once_stopped(client: Any) -> None:
    client.create_training_job(**create_request("to-stop"))

    stopped = client.stop_training_job(TrainingJobName="to-stop")
    assert stopped["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert client.describe_training_job(TrainingJobName="to-stop")["TrainingJobStatus"] in (
        "Stopping",
        "Stopped",
    )
    client.get_waiter("training_job_completed_or_stopped").wait(
        TrainingJobName="to-stop", WaiterConfig={"Delay": 1, "MaxAttempts": 20}
    )

    described = client.describe_training_job(TrainingJobName="to-stop")
    assert (described["TrainingJobStatus"], described["SecondaryStatus"]) == ("Stopped", "Stopped")
    assert described["LastModifiedTime"] > described["CreationTime"]
    assert described["TrainingEndTime"] >= described["CreationTime"]
    assert "FailureReason" not in described
    statuses = assert_transitions(described)
    assert "Stopping" in statuses and statuses[-1] == "Stopped"


def test_waiter_fails_on_an_unknown_job(client: Any) -> None:
    with pytest.raises(WaiterError) as raised:
        client.get_waiter("training_job_completed_or_stopped").wait(
            TrainingJobName="nobody", WaiterConfig={"Delay": 1, "MaxAttempts": 2}
        )
    assert raised.value.last_response["Error"]["Code"] == "ValidationException"


def test_waiter_fails_on_a_failed_job(client: Any) -> None:
    client.create_training_job(**create_request("to-fail"))
    with pytest.raises(WaiterError) as raised:
        client.get_waiter("training_job_completed_or_stopped").wait(
            TrainingJobName="to-fail", WaiterConfig={"Delay": 1, "MaxAttempts": 20}
        )
    assert raised.value.last_response["TrainingJobStatus"] == "Failed"
    assert "train" in raised.value.last_response["FailureReason"]


def test_delete_removes_job_and_its_tags(client: Any) -> None:
    arn = client.create_training_job(**create_request("to-delete", Tags=TAGS))["TrainingJobArn"]
    client.stop_training_job(TrainingJobName="to-delete")
    assert wait_terminal(client, "to-delete")["TrainingJobStatus"] == "Stopped"

    client.delete_training_job(TrainingJobName="to-delete")

    response = error_of(client.describe_training_job, TrainingJobName="to-delete")
    assert response["Error"] == {"Code": "ValidationException", "Message": NOT_FOUND}
    assert listed(client, NameContains="to-delete") == []
    assert error_of(client.list_tags, ResourceArn=arn)["Error"]["Code"] == "ValidationException"
    # The name is free again, and the new job starts without the old one's tags.
    client.create_training_job(**create_request("to-delete"))
    assert client.list_tags(ResourceArn=arn)["Tags"] == []


# -- tags ------------------------------------------------------------------------------------------


def test_add_list_delete_tags(client: Any) -> None:
    arn = client.create_training_job(**create_request("tagged", Tags=TAGS[:1]))["TrainingJobArn"]

    added = client.add_tags(ResourceArn=arn, Tags=[{"Key": "team", "Value": "infra"}, *TAGS[1:]])
    assert added["Tags"] == [{"Key": "team", "Value": "infra"}, *TAGS[1:]]
    assert client.list_tags(ResourceArn=arn)["Tags"] == [
        {"Key": "project", "Value": "sagelite"},
        {"Key": "team", "Value": "infra"},
    ]

    numbered = [f"k{index:02d}" for index in range(10)]
    client.add_tags(ResourceArn=arn, Tags=[{"Key": key, "Value": key.upper()} for key in numbered])
    every = [t["Key"] for t in client.list_tags(ResourceArn=arn)["Tags"]]
    assert every == sorted([*numbered, "project", "team"])
    # At most 50 tags on a resource: 12 + 39 new keys would make 51.
    more = [{"Key": f"more{index:02d}", "Value": ""} for index in range(39)]
    response = error_of(client.add_tags, ResourceArn=arn, Tags=more)
    assert "at most 50 tags" in response["Error"]["Message"]
    client.add_tags(ResourceArn=arn, Tags=more[:38])
    full = client.list_tags(ResourceArn=arn, MaxResults=50)
    assert len(full["Tags"]) == 50 and "NextToken" not in full

    client.delete_tags(ResourceArn=arn, TagKeys=[t["Key"] for t in more])
    client.delete_tags(ResourceArn=arn, TagKeys=["team", "absent", *numbered])
    assert client.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "project", "Value": "sagelite"}]

    unknown = job_arn("nobody")
    for call, params in (
        (client.add_tags, {"Tags": TAGS}),
        (client.list_tags, {}),
        (client.delete_tags, {"TagKeys": ["team"]}),
    ):
        assert error_of(call, ResourceArn=unknown, **params)["Error"]["Code"] == "ValidationException"


# -- errors ----------------------------------------------------------------------------------------


def test_duplicate_name_is_resource_in_use(client: Any) -> None:
    client.create_training_job(**create_request("dup"))

    with pytest.raises(client.exceptions.ResourceInUse) as raised:
        client.create_training_job(**create_request("dup"))
    assert raised.value.response["Error"]["Code"] == "ResourceInUse"
    assert job_arn("dup") in raised.value.response["Error"]["Message"]
    # Names are unique regardless of case, as the lower-cased ARN implies.
    response = error_of(client.create_training_job, **create_request("DUP"))
    assert response["Error"]["Code"] == "ResourceInUse"
    assert listed(client, NameContains="dup") == ["dup"]


@pytest.mark.parametrize("operation", ["describe_training_job", "stop_training_job", "delete_training_job"])
def test_unknown_job_is_validation_exception(client: Any, operation: str) -> None:
    response = error_of(getattr(client, operation), TrainingJobName="missing")
    assert response["Error"] == {"Code": "ValidationException", "Message": NOT_FOUND}


def test_stop_and_delete_refuse_the_wrong_status(client: Any) -> None:
    client.create_training_job(**create_request("running"))

    deleting = error_of(client.delete_training_job, TrainingJobName="running")
    assert deleting["Error"]["Code"] == "ResourceInUse"
    assert "InProgress" in deleting["Error"]["Message"]

    client.stop_training_job(TrainingJobName="running")
    assert wait_terminal(client, "running")["TrainingJobStatus"] == "Stopped"
    stopping = error_of(client.stop_training_job, TrainingJobName="running")
    assert stopping["Error"]["Code"] == "ValidationException"
    assert "Stopped" in stopping["Error"]["Message"]

    client.create_training_job(**create_request("failing"))
    assert wait_terminal(client, "failing")["TrainingJobStatus"] == "Failed"
    stopping = error_of(client.stop_training_job, TrainingJobName="failing")
    assert stopping["Error"]["Code"] == "ValidationException"
    assert "Failed" in stopping["Error"]["Message"]
    client.delete_training_job(TrainingJobName="failing")


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"TrainingJobName": "bad_name"}, "at 'trainingJobName' failed to satisfy constraint"),
        ({"TrainingJobName": "-leading-dash"}, "regular expression pattern"),
        ({"HyperParameters": {f"h{i}": "1" for i in range(101)}}, "at 'hyperParameters'"),
        ({"HyperParameters": {"long": "x" * 2501}}, "Map value must satisfy constraint"),
        ({"ResourceConfig": {"InstanceType": "ml.nope", "InstanceCount": 1, "VolumeSizeInGB": 1}}, "enum"),
        ({"RetryStrategy": {"MaximumRetryAttempts": 31}}, "less than or equal to 30"),
    ],
)
def test_invalid_create_is_validation_exception(
    client: Any, overrides: dict[str, Any], fragment: str
) -> None:
    response = error_of(client.create_training_job, **create_request("bad-job", **overrides))
    assert response["Error"]["Code"] == "ValidationException"
    assert fragment in response["Error"]["Message"]
    assert error_of(client.describe_training_job, TrainingJobName="bad-job")["Error"]["Message"] == NOT_FOUND


def test_too_many_channels_and_metrics_are_refused(client: Any) -> None:
    channel = {"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://bucket/data"}}}
    channels = [{"ChannelName": f"c{index}", **channel} for index in range(21)]
    response = error_of(client.create_training_job, **create_request("many", InputDataConfig=channels))
    assert "at 'inputDataConfig' failed to satisfy constraint" in response["Error"]["Message"]

    metrics = [{"Name": f"m{index}", "Regex": "x=(.*)"} for index in range(41)]
    algorithm = {"TrainingImage": "mlp", "TrainingInputMode": "File", "MetricDefinitions": metrics}
    response = error_of(
        client.create_training_job, **create_request("many", AlgorithmSpecification=algorithm)
    )
    assert "at 'algorithmSpecification.metricDefinitions'" in response["Error"]["Message"]

    duplicate = [{"ChannelName": "train", **channel}] * 2
    response = error_of(client.create_training_job, **create_request("many", InputDataConfig=duplicate))
    assert response["Error"]["Code"] == "ValidationException"


def test_a_job_larger_than_the_pool_is_resource_limit_exceeded(client: Any) -> None:
    resources = {"InstanceType": "ml.m5.4xlarge", "InstanceCount": 1, "VolumeSizeInGB": 1}
    with pytest.raises(client.exceptions.ResourceLimitExceeded):
        client.create_training_job(**create_request("too-big", ResourceConfig=resources))
    assert error_of(client.describe_training_job, TrainingJobName="too-big")["Error"]["Message"] == NOT_FOUND


def test_instance_groups_are_refused_with_a_clear_reason(client: Any) -> None:
    group = {"InstanceGroupName": "workers", "InstanceType": "ml.m5.large", "InstanceCount": 1}
    resources = {"InstanceGroups": [group], "VolumeSizeInGB": 1}
    response = error_of(client.create_training_job, **create_request("grouped", ResourceConfig=resources))
    assert response["Error"]["Code"] == "ValidationException"
    assert "InstanceGroups" in response["Error"]["Message"]


def test_list_errors(client: Any) -> None:
    response = error_of(client.list_training_jobs, MaxResults=101)
    assert "at 'maxResults' failed to satisfy constraint" in response["Error"]["Message"]
    response = error_of(client.list_training_jobs, StatusEquals="Running")
    assert "enum value set" in response["Error"]["Message"]
    response = error_of(client.list_training_jobs, SortBy="Size")
    assert "enum value set" in response["Error"]["Message"]
    response = error_of(client.list_training_jobs, NextToken="not-a-token")
    assert response["Error"]["Code"] == "ValidationException"

    for name in ("list-err-1", "list-err-2", "list-err-3"):
        client.create_training_job(**create_request(name))
    token = client.list_training_jobs(MaxResults=1)["NextToken"]
    # A token only continues the listing it came from.
    response = error_of(client.list_training_jobs, NextToken=token, NameContains="list-err")
    assert response["Error"]["Code"] == "ValidationException"


# -- durability ------------------------------------------------------------------------------------


def test_records_survive_a_restart(tmp_path: Path) -> None:
    names_kept = [f"kept-{index:02d}" for index in range(10)]
    with serving(tmp_path) as first:
        first.create_training_job(**create_request("kept-full", Tags=TAGS, **FULL_REQUEST))
        for name in names_kept:
            first.create_training_job(**create_request(name, Tags=[{"Key": "name", "Value": name}]))
        for name in names_kept[:6]:
            first.stop_training_job(TrainingJobName=name)
        for name in ["kept-full", *names_kept]:
            wait_terminal(first, name)
        first.delete_training_job(TrainingJobName="kept-03")
        before = {name: first.describe_training_job(TrainingJobName=name) for name in listed(first)}
        listed_before = summaries_of(first)
        tags_before = first.list_tags(ResourceArn=job_arn("kept-full"))["Tags"]
    assert len(before) == 10

    with serving(tmp_path) as second:
        assert summaries_of(second) == listed_before
        for name, described in before.items():
            after = second.describe_training_job(TrainingJobName=name)
            assert without_metadata(after) == without_metadata(described)
        assert second.list_tags(ResourceArn=job_arn("kept-full"))["Tags"] == tags_before
        assert second.list_tags(ResourceArn=job_arn("kept-09"))["Tags"] == [
            {"Key": "name", "Value": "kept-09"}
        ]
        assert (
            error_of(second.describe_training_job, TrainingJobName="kept-03")["Error"]["Message"] == NOT_FOUND
        )
        assert listed(second, StatusEquals="Stopped") == [n for n in names_kept[:6] if n != "kept-03"]
        # The restarted server keeps working on the old records.
        error_of(second.create_training_job, **create_request("kept-00"))
        second.delete_training_job(TrainingJobName="kept-00")
        second.create_training_job(**create_request("kept-03"))
        assert len(listed(second)) == 10


def test_stops_racing_failures_all_settle(fresh: Any) -> None:
    missing = {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://bucket/missing/"}}
    channels = [{"ChannelName": "train", "DataSource": missing}]

    def create_and_stop(name: str) -> None:
        fresh.create_training_job(**create_request(name, InputDataConfig=channels))
        with contextlib.suppress(ClientError):  # it may have failed already: stopping it is then refused
            fresh.stop_training_job(TrainingJobName=name)

    # Each job fails within milliseconds of being placed, while its stop arrives: some land mid-failure.
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(create_and_stop, [f"race-{index:03d}" for index in range(200)]))

    def statuses() -> Counter[str]:
        return Counter(s["TrainingJobStatus"] for s in summaries_of(fresh, MaxResults=100))

    wait_until(
        statuses,
        until=lambda counts: set(counts) <= {"Failed", "Stopped"},
        what="every raced job to end Failed or Stopped",
        interval=0.1,
    )
