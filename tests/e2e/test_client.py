"""`app.client` and boto3 side by side against the real server: the same calls give the same shapes (keys
and types, recursively), the same errors, and waiters and paginators that behave alike."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError as BotoClientError
from botocore.exceptions import WaiterError as BotoWaiterError

from app.client import ClientError, SageMakerClient, WaiterError
from tests.conftest import create_request, sagemaker_client
from tests.support.server import Server, running_server

pytestmark = pytest.mark.e2e

ENV = {"SAGELITE_SCHEDULER_INTERVAL_SECONDS": "0.1", "SAGELITE_STOP_GRACE_SECONDS": "2"}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("client") / "data", env=ENV) as server:
        yield server


@pytest.fixture(scope="module")
def ours(live: Server) -> Iterator[SageMakerClient]:
    with SageMakerClient(
        endpoint_url=live.url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        max_attempts=1,
    ) as client:
        yield client


@pytest.fixture(scope="module")
def boto(live: Server) -> Any:
    return sagemaker_client(live.url)


@pytest.fixture(scope="module")
def train_uri(ours: SageMakerClient, tmp_path_factory: pytest.TempPathFactory) -> str:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(300, 3))
    csv = tmp_path_factory.mktemp("dataset") / "train.csv"
    np.savetxt(csv, np.column_stack([(x[:, 0] > 0).astype(float), x]), delimiter=",", fmt="%.5f")
    ours.upload_file(csv, "s3://client-e2e/train/")
    return "s3://client-e2e/train/"


def training(name: str, train_uri: str, *, epochs: int = 3, **overrides: Any) -> dict[str, Any]:
    channel = {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": train_uri}}
    request = create_request(
        name,
        HyperParameters={"epochs": str(epochs), "hidden_layers": "8"},
        InputDataConfig=[{"ChannelName": "train", "DataSource": channel, "ContentType": "text/csv"}],
        OutputDataConfig={"S3OutputPath": "s3://client-e2e/out"},
        StoppingCondition={"MaxRuntimeInSeconds": 600},
        Environment={"SEED": "1"},
        Tags=[{"Key": "team", "Value": "ml"}],
    )
    request.update(overrides)
    return request


def shape(value: Any) -> Any:
    """Keys and types, recursively; aware and naive datetimes differ."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(item) for item in value]
    if isinstance(value, dt.datetime):
        return "aware datetime" if value.tzinfo is not None else "naive datetime"
    return type(value).__name__


def without_metadata(response: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in response.items() if key != "ResponseMetadata"}


def settle(client: SageMakerClient, name: str) -> dict[str, Any]:
    return client.wait(name, poll_interval=0.1, timeout=60)


def both(call: Callable[[Any], dict[str, Any]], ours: SageMakerClient, boto: Any) -> tuple[Any, Any]:
    return call(ours), call(boto)


def test_create_describe_list_answer_as_boto3_does(ours: SageMakerClient, boto: Any, train_uri: str) -> None:
    created = (
        ours.create_training_job(**training("same-ours", train_uri)),
        boto.create_training_job(**training("same-boto", train_uri)),
    )
    assert shape(created[0]) == shape(created[1])
    assert created[0]["TrainingJobArn"].endswith("/same-ours")
    for name in ("same-ours", "same-boto"):
        assert settle(ours, name)["TrainingJobStatus"] == "Completed"

    for name in ("same-ours", "same-boto"):
        mine, theirs = both(lambda c, n=name: c.describe_training_job(TrainingJobName=n), ours, boto)
        assert shape(mine) == shape(theirs)
        assert without_metadata(mine) == without_metadata(theirs)  # datetimes compare as instants
        assert mine["ResponseMetadata"].keys() == theirs["ResponseMetadata"].keys()
    assert mine["FinalMetricDataList"] and mine["SecondaryStatusTransitions"]

    listing = both(lambda c: c.list_training_jobs(NameContains="same-", SortBy="Name"), ours, boto)
    assert shape(listing[0]) == shape(listing[1])
    assert without_metadata(listing[0]) == without_metadata(listing[1])
    since = both(
        lambda c: c.list_training_jobs(CreationTimeAfter=dt.datetime(2020, 1, 1), StatusEquals="Completed"),
        ours,
        boto,
    )
    assert without_metadata(since[0]) == without_metadata(since[1])


def test_tags_answer_as_boto3_does(ours: SageMakerClient, boto: Any, train_uri: str) -> None:
    arn = ours.create_training_job(**training("tagged", train_uri))["TrainingJobArn"]
    for client, key in ((ours, "ours"), (boto, "boto")):
        added = client.add_tags(ResourceArn=arn, Tags=[{"Key": key, "Value": "1"}])
        assert added["Tags"] == [{"Key": key, "Value": "1"}]
    added = both(lambda c: c.add_tags(ResourceArn=arn, Tags=[{"Key": "k", "Value": "v"}]), ours, boto)
    assert shape(added[0]) == shape(added[1])
    listed = both(lambda c: c.list_tags(ResourceArn=arn, MaxResults=50), ours, boto)
    assert shape(listed[0]) == shape(listed[1]) and without_metadata(listed[0]) == without_metadata(listed[1])
    assert {t["Key"] for t in listed[0]["Tags"]} == {"team", "ours", "boto", "k"}
    deleted = (
        ours.delete_tags(ResourceArn=arn, TagKeys=["ours"]),
        boto.delete_tags(ResourceArn=arn, TagKeys=["boto"]),
    )
    assert shape(deleted[0]) == shape(deleted[1])
    config = {"PageSize": 50, "MaxItems": 1}
    pages = both(
        lambda c: c.get_paginator("list_tags").paginate(ResourceArn=arn, PaginationConfig=config), ours, boto
    )
    assert [without_metadata(p) for p in pages[0]] == [without_metadata(p) for p in pages[1]]


def test_stop_and_delete_answer_as_boto3_does(ours: SageMakerClient, boto: Any, train_uri: str) -> None:
    for client, name in ((ours, "long-ours"), (boto, "long-boto")):
        client.create_training_job(**training(name, train_uri, epochs=1_000_000))
    waiter_errors = []
    for client in (ours, boto):
        with pytest.raises((WaiterError, BotoWaiterError)) as caught:
            client.get_waiter("training_job_completed_or_stopped").wait(
                TrainingJobName="long-ours", WaiterConfig={"Delay": 0, "MaxAttempts": 1}
            )
        waiter_errors.append(str(caught.value))
    assert (
        waiter_errors[0]
        == waiter_errors[1]
        == ("Waiter TrainingJobCompletedOrStopped failed: Max attempts exceeded")
    )
    busy = _errors(lambda c: c.delete_training_job(TrainingJobName="long-ours"), ours, boto)
    assert busy[0] == busy[1] and busy[0][0] == "ResourceInUse"

    stopped = (
        ours.stop_training_job(TrainingJobName="long-ours"),
        boto.stop_training_job(TrainingJobName="long-boto"),
    )
    assert shape(stopped[0]) == shape(stopped[1])
    for client in (ours, boto):
        client.get_waiter("training_job_completed_or_stopped").wait(
            TrainingJobName="long-ours", WaiterConfig={"Delay": 0.1, "MaxAttempts": 300}
        )
    assert settle(ours, "long-boto")["TrainingJobStatus"] == "Stopped"
    deleted = (
        ours.delete_training_job(TrainingJobName="long-ours"),
        boto.delete_training_job(TrainingJobName="long-boto"),
    )
    assert shape(deleted[0]) == shape(deleted[1])


def _errors(call: Callable[[Any], Any], ours: SageMakerClient, boto: Any) -> list[tuple[Any, ...]]:
    """(code, message, HTTP status, operation, response shape) of the error each client raises."""
    found = []
    for client in (ours, boto):
        with pytest.raises((ClientError, BotoClientError)) as caught:
            call(client)
        error: Any = caught.value
        response = error.response
        found.append(
            (
                response["Error"]["Code"],
                response["Error"]["Message"],
                response["ResponseMetadata"]["HTTPStatusCode"],
                error.operation_name,
                shape(response),
                str(error),
            )
        )
    return found


BAD_REQUESTS: dict[str, Callable[[Any], Any]] = {
    "unknown job": lambda c: c.describe_training_job(TrainingJobName="no-such-job"),
    "stop unknown": lambda c: c.stop_training_job(TrainingJobName="no-such-job"),
    "delete unknown": lambda c: c.delete_training_job(TrainingJobName="no-such-job"),
    "duplicate": lambda c: c.create_training_job(**create_request("same-ours")),
    "bad name": lambda c: c.create_training_job(**create_request("bad_name!")),
    "long hyperparameter": lambda c: c.create_training_job(
        **create_request("hp", HyperParameters={"x": "y" * 2501})
    ),
    "bad enum": lambda c: c.list_training_jobs(StatusEquals="Sleeping"),
    "too large": lambda c: c.create_training_job(
        **create_request(
            "huge",
            ResourceConfig={"InstanceType": "ml.p4d.24xlarge", "InstanceCount": 50, "VolumeSizeInGB": 1},
        )
    ),
    "stop finished": lambda c: c.stop_training_job(TrainingJobName="same-ours"),
    "tags of unknown": lambda c: c.list_tags(
        ResourceArn="arn:aws:sagemaker:us-east-1:123456789012:training-job/no-such-job"
    ),
}


@pytest.mark.parametrize("call", BAD_REQUESTS.values(), ids=BAD_REQUESTS.keys())
def test_bad_requests_fail_with_the_same_errors(
    ours: SageMakerClient, boto: Any, train_uri: str, call: Callable[[Any], Any]
) -> None:
    if not _exists(ours, "same-ours"):
        ours.create_training_job(**training("same-ours", train_uri))
        settle(ours, "same-ours")
    mine, theirs = _errors(call, ours, boto)
    assert mine == theirs


def _exists(client: SageMakerClient, name: str) -> bool:
    try:
        client.describe_training_job(TrainingJobName=name)
    except ClientError:
        return False
    return True


def test_waiters_succeed_and_fail_alike(ours: SageMakerClient, boto: Any, train_uri: str) -> None:
    ours.create_training_job(**training("waited", train_uri))
    # No input data: the mlp fails within a second.
    ours.create_training_job(**create_request("doomed"))
    for client in (ours, boto):
        assert (
            client.get_waiter("training_job_completed_or_stopped").wait(
                TrainingJobName="waited", WaiterConfig={"Delay": 0.1}
            )
            is None
        )
    outcomes = []
    for name in ("doomed", "never-created"):
        for client in (ours, boto):
            with pytest.raises((WaiterError, BotoWaiterError)) as caught:
                client.get_waiter("training_job_completed_or_stopped").wait(
                    TrainingJobName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 300}
                )
            outcomes.append((str(caught.value), shape(caught.value.last_response)))
    assert outcomes[0] == outcomes[1] and outcomes[2] == outcomes[3]
    assert "Failed" in outcomes[0][0] and "ValidationException" in outcomes[2][0]


def test_paginators_walk_alike_and_share_resume_tokens(ours: SageMakerClient, boto: Any) -> None:
    for index in range(7):
        ours.create_training_job(**create_request(f"paged-{index}"))
    for index in range(7):
        settle(ours, f"paged-{index}")  # no input data: each fails within a second
    params = {"NameContains": "paged-", "SortBy": "Name", "SortOrder": "Ascending"}
    config = {"PageSize": 2, "MaxItems": 5}
    pages = both(
        lambda c: c.get_paginator("list_training_jobs").paginate(**params, PaginationConfig=config),
        ours,
        boto,
    )
    walked = [list(p) for p in pages]
    assert [shape(p) for p in walked[0]] == [shape(p) for p in walked[1]]
    assert [without_metadata(p) for p in walked[0]] == [without_metadata(p) for p in walked[1]]
    token = pages[0].resume_token
    assert token is not None and token == pages[1].resume_token

    rest = both(
        lambda c: (
            c.get_paginator("list_training_jobs")
            .paginate(**params, PaginationConfig={"StartingToken": token, "PageSize": 2})
            .build_full_result()
        ),
        ours,
        boto,
    )
    assert rest[0] == rest[1]
    assert [s["TrainingJobName"] for s in rest[0]["TrainingJobSummaries"]] == ["paged-5", "paged-6"]


def test_extras_move_data_logs_and_models(
    ours: SageMakerClient, train_uri: str, live: Server, tmp_path: Path
) -> None:
    s3 = boto3.client(
        "s3",
        endpoint_url=live.url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(s3={"addressing_style": "path"}),
    )
    mine = ours.list_objects_v2(Bucket="client-e2e", Prefix="train/")
    theirs = s3.list_objects_v2(Bucket="client-e2e", Prefix="train/")
    assert [(o["Key"], o["Size"], o["ETag"]) for o in mine["Contents"]] == [
        (o["Key"], o["Size"], o["ETag"]) for o in theirs["Contents"]
    ]
    assert (
        ours.download_file(f"{train_uri}train.csv", tmp_path).read_bytes()
        == s3.get_object(Bucket="client-e2e", Key="train/train.csv")["Body"].read()
    )

    ours.create_training_job(**training("extras", train_uri, epochs=4))
    seen: list[str] = []
    job = ours.wait("extras", on_progress=lambda j: seen.append(j["SecondaryStatus"]), poll_interval=0.1)
    assert job["TrainingJobStatus"] == "Completed" and seen[-1] == "Completed"
    lines = list(ours.logs("extras", follow=True))
    assert sum("#metric epoch=" in line for line in lines) == 4 and all(
        line.startswith("[algo-1] ") for line in lines
    )
    metrics = ours.get_training_job_metrics("extras")
    assert len(metrics["metrics"]["train:loss"]) == 4
    assert isinstance(metrics["metrics"]["train:loss"][0]["timestamp"], dt.datetime)
    model = ours.download_training_job_artifact(
        TrainingJobName="extras", destination=tmp_path / "m", unpack=True
    )
    assert {"model.json", "weights.npz", "model.tar.gz"} <= {p.name for p in model.iterdir()}
    assert [vm["job"] for vm in ours.list_vms(job="extras")["vms"]] == ["extras"]
    assert ours.list_hosts()["hosts"][0]["capacity"]["vcpus"] > 0


def test_logs_follow_streams_while_the_job_runs(ours: SageMakerClient, train_uri: str) -> None:
    ours.create_training_job(**training("followed", train_uri, epochs=1_000_000))  # runs until stopped
    lines = ours.logs("followed", follow=True)
    followed: list[str] = []
    for line in lines:
        followed.append(line)
        if "#metric epoch=" in line:
            break
    # A line arrived while the job runs.
    assert ours.describe_training_job(TrainingJobName="followed")["TrainingJobStatus"] == "InProgress"
    ours.stop_training_job(TrainingJobName="followed")
    followed += lines  # the stream ends by itself once the job has ended
    assert ours.describe_training_job(TrainingJobName="followed")["TrainingJobStatus"] == "Stopped"
    epochs = [line for line in followed if "#metric epoch=" in line]
    assert epochs == [line for line in ours.logs("followed", follow=False) if "#metric epoch=" in line]
