"""`POST /` as botocore speaks it: requests serialized by botocore, responses parsed by botocore."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from botocore import parsers, serialize
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from app.clock import FakeClock
from app.config import Settings
from app.wire import model, tokens
from tests.conftest import create_request, idle_app
from tests.support.callers import OTHER, OTHER_ACCOUNT, USER, client_as, role_arn

CONTENT_TYPE = "application/x-amz-json-1.1"
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
ARN_PREFIX = "arn:aws:sagemaker:us-east-1:123456789012:training-job/"


@pytest.fixture
def clocked(settings: Settings) -> Iterator[TestClient]:
    """The app with a fake clock, for exact timestamps."""
    with idle_app(settings, clock=FakeClock(START)) as client:
        yield client


def send(api: TestClient, operation: str, params: dict[str, Any]) -> httpx.Response:
    """Serialize `params` exactly as botocore does (headers included) and POST it."""
    operation_model = model.service_model().operation_model(operation)
    request = serialize.create_serializer("json", include_validation=False).serialize_to_request(
        params, operation_model
    )
    assert request["headers"] == {"X-Amz-Target": f"SageMaker.{operation}", "Content-Type": CONTENT_TYPE}
    return post(api, request["body"], target=f"SageMaker.{operation}")


def post(api: TestClient, body: Any, *, target: str | None, **headers: str) -> httpx.Response:
    sent = {"Content-Type": CONTENT_TYPE, **headers} | ({"X-Amz-Target": target} if target else {})
    response = api.post("/", content=body, headers=sent)
    check_envelope(response)
    return response


def check_envelope(response: httpx.Response) -> None:
    """What every answer of `POST /` carries, success or not."""
    assert response.status_code < 500, response.text
    uuid.UUID(response.headers["x-amzn-RequestId"])
    assert response.headers["content-type"] == CONTENT_TYPE
    body = response.json()
    if response.status_code >= 400:
        assert set(body) == {"__type", "message"}, body
        assert isinstance(body["message"], str) and body["message"]
        assert response.headers["x-amzn-ErrorType"] == body["__type"]
    else:
        assert "x-amzn-ErrorType" not in response.headers


def parse(operation: str, response: httpx.Response) -> dict[str, Any]:
    """botocore's own reading of the response (raises nothing: errors come back as {'Error': ...})."""
    operation_model = model.service_model().operation_model(operation)
    raw = {"status_code": response.status_code, "headers": response.headers, "body": response.content}
    parsed: dict[str, Any] = parsers.create_parser("json").parse(raw, operation_model.output_shape)
    assert parsed["ResponseMetadata"]["RequestId"] == response.headers["x-amzn-RequestId"]
    return parsed


def call(api: TestClient, operation: str, params: dict[str, Any]) -> dict[str, Any]:
    response = send(api, operation, params)
    assert response.status_code == 200, response.text
    return parse(operation, response)


def fails(
    api: TestClient, operation: str, params: dict[str, Any], code: str, message: str | None = None
) -> str:
    """Assert the call fails with `code` (and `message`, if given) as botocore reads it; return the message"""
    response = send(api, operation, params)
    assert response.status_code == 400, response.text
    error = parse(operation, response)["Error"]
    assert error["Code"] == code, error
    if message is not None:
        assert error["Message"] == message
    text: str = error["Message"]
    return text


# -- every operation ----------------------------------------------------------------------------------


def test_create_describe_list_stop_delete(clocked: TestClient) -> None:
    created = call(clocked, "CreateTrainingJob", create_request("job-1", HyperParameters={"epochs": "2"}))
    assert created["TrainingJobArn"] == ARN_PREFIX + "job-1"

    described = call(clocked, "DescribeTrainingJob", {"TrainingJobName": "job-1"})
    assert described["TrainingJobName"] == "job-1"
    assert (described["TrainingJobStatus"], described["SecondaryStatus"]) == ("InProgress", "Pending")
    assert described["CreationTime"] == described["LastModifiedTime"] == START
    assert described["HyperParameters"] == {"epochs": "2"}
    assert described["StoppingCondition"] == {"MaxRuntimeInSeconds": 86400}
    assert described["SecondaryStatusTransitions"] == [
        {
            "Status": "Pending",
            "StartTime": START,
            "StatusMessage": "Waiting for compute capacity: 1 x ml.m5.large",
        }
    ]

    listed = call(clocked, "ListTrainingJobs", {})
    assert [s["TrainingJobName"] for s in listed["TrainingJobSummaries"]] == ["job-1"]
    assert listed["TrainingJobSummaries"][0]["CreationTime"] == START

    assert call(clocked, "StopTrainingJob", {"TrainingJobName": "job-1"}).keys() == {"ResponseMetadata"}
    stopped = call(clocked, "DescribeTrainingJob", {"TrainingJobName": "job-1"})
    assert (stopped["TrainingJobStatus"], stopped["SecondaryStatus"]) == ("Stopped", "Stopped")
    assert stopped["TrainingEndTime"] == START

    assert call(clocked, "DeleteTrainingJob", {"TrainingJobName": "job-1"}).keys() == {"ResponseMetadata"}
    assert call(clocked, "ListTrainingJobs", {})["TrainingJobSummaries"] == []


def test_timestamps_are_epoch_seconds_on_the_wire(clocked: TestClient) -> None:
    send(clocked, "CreateTrainingJob", create_request("job-1"))
    described = send(clocked, "DescribeTrainingJob", {"TrainingJobName": "job-1"}).json()
    assert described["CreationTime"] == described["LastModifiedTime"] == START.timestamp()
    assert isinstance(described["CreationTime"], int | float)
    assert described["SecondaryStatusTransitions"][0]["StartTime"] == START.timestamp()
    summary = send(clocked, "ListTrainingJobs", {}).json()["TrainingJobSummaries"][0]
    assert summary["CreationTime"] == START.timestamp()


def test_list_filters_sorting_and_pagination(clocked: TestClient) -> None:
    for name in ("b-job", "a-job", "c-job"):
        call(clocked, "CreateTrainingJob", create_request(name))
    call(clocked, "StopTrainingJob", {"TrainingJobName": "c-job"})

    def listed(**params: Any) -> list[str]:
        return [
            s["TrainingJobName"] for s in call(clocked, "ListTrainingJobs", params)["TrainingJobSummaries"]
        ]

    assert listed(SortBy="Name") == ["a-job", "b-job", "c-job"]
    assert listed(SortBy="Name", SortOrder="Descending") == ["c-job", "b-job", "a-job"]
    assert listed(StatusEquals="Stopped") == ["c-job"]
    assert listed(NameContains="B-JO") == ["b-job"]
    assert listed(CreationTimeAfter=START - dt.timedelta(seconds=1), CreationTimeBefore=START) == []
    assert listed(CreationTimeBefore=START + dt.timedelta(seconds=1), SortBy="Name") == [
        "a-job",
        "b-job",
        "c-job",
    ]

    pages, token = [], None
    while True:
        page = call(
            clocked,
            "ListTrainingJobs",
            {"SortBy": "Name", "MaxResults": 2} | ({"NextToken": token} if token else {}),
        )
        pages.append([s["TrainingJobName"] for s in page["TrainingJobSummaries"]])
        token = page.get("NextToken")
        if not token:
            break
    assert pages == [["a-job", "b-job"], ["c-job"]]


def test_tags(api: TestClient) -> None:
    arn = call(api, "CreateTrainingJob", create_request("job-1", Tags=[{"Key": "team", "Value": "ml"}]))[
        "TrainingJobArn"
    ]
    assert call(api, "ListTags", {"ResourceArn": arn})["Tags"] == [{"Key": "team", "Value": "ml"}]
    added = call(
        api,
        "AddTags",
        {"ResourceArn": arn, "Tags": [{"Key": "team", "Value": "ai"}, {"Key": "é", "Value": ""}]},
    )
    assert added["Tags"] == [{"Key": "team", "Value": "ai"}, {"Key": "é", "Value": ""}]
    assert call(api, "ListTags", {"ResourceArn": arn, "MaxResults": 50})["Tags"] == [
        {"Key": "team", "Value": "ai"},
        {"Key": "é", "Value": ""},
    ]
    call(api, "DeleteTags", {"ResourceArn": arn, "TagKeys": ["team", "absent"]})
    assert call(api, "ListTags", {"ResourceArn": arn})["Tags"] == [{"Key": "é", "Value": ""}]


def test_tag_limits_and_duplicates(api: TestClient) -> None:
    arn = call(api, "CreateTrainingJob", create_request("job-1"))["TrainingJobArn"]
    call(
        api, "AddTags", {"ResourceArn": arn, "Tags": [{"Key": f"k{i:02d}", "Value": "v"} for i in range(50)]}
    )
    fails(
        api,
        "AddTags",
        {"ResourceArn": arn, "Tags": [{"Key": "one-more", "Value": "v"}]},
        "ValidationException",
    )
    call(api, "AddTags", {"ResourceArn": arn, "Tags": [{"Key": "k00", "Value": "overwritten"}]})
    assert call(api, "ListTags", {"ResourceArn": arn})["Tags"][0] == {"Key": "k00", "Value": "overwritten"}
    twice = [{"Key": "a", "Value": "1"}, {"Key": "a", "Value": "2"}]
    fails(api, "AddTags", {"ResourceArn": arn, "Tags": twice}, "ValidationException", "Duplicate tag key: a")
    fails(
        api,
        "CreateTrainingJob",
        create_request("job-2", Tags=twice),
        "ValidationException",
        "Duplicate tag key: a",
    )


def test_tags_of_unknown_resources(api: TestClient) -> None:
    arn = ARN_PREFIX + "nope"
    not_found = "Requested resource not found."
    fails(api, "ListTags", {"ResourceArn": arn}, "ValidationException", not_found)
    fails(
        api,
        "AddTags",
        {"ResourceArn": arn, "Tags": [{"Key": "a", "Value": "b"}]},
        "ValidationException",
        not_found,
    )
    fails(api, "DeleteTags", {"ResourceArn": arn, "TagKeys": ["a"]}, "ValidationException", not_found)


# -- errors as SageMaker reports them -----------------------------------------------------------------


@pytest.mark.parametrize("operation", ["DescribeTrainingJob", "StopTrainingJob", "DeleteTrainingJob"])
def test_unknown_jobs_are_a_validation_exception(api: TestClient, operation: str) -> None:
    fails(api, operation, {"TrainingJobName": "nope"}, "ValidationException", "Requested resource not found.")


def test_duplicate_names_are_resource_in_use(api: TestClient) -> None:
    call(api, "CreateTrainingJob", create_request("Job-1"))
    message = fails(api, "CreateTrainingJob", create_request("job-1"), "ResourceInUse")
    assert ARN_PREFIX + "job-1" in message


def test_deleting_a_running_job_is_resource_in_use(api: TestClient) -> None:
    call(api, "CreateTrainingJob", create_request("job-1"))
    message = fails(api, "DeleteTrainingJob", {"TrainingJobName": "job-1"}, "ResourceInUse")
    assert "InProgress" in message
    assert call(api, "DescribeTrainingJob", {"TrainingJobName": "job-1"})["TrainingJobStatus"] == "InProgress"


def test_stopping_a_finished_job_names_its_status(api: TestClient) -> None:
    call(api, "CreateTrainingJob", create_request("job-1"))
    call(api, "StopTrainingJob", {"TrainingJobName": "job-1"})
    fails(
        api,
        "StopTrainingJob",
        {"TrainingJobName": "job-1"},
        "ValidationException",
        "The training job job-1 cannot be stopped: its status is Stopped.",
    )


@pytest.mark.parametrize(
    "target",
    [
        "SageMaker.CreateModel",
        "SageMaker.createTrainingJob",
        "SageMaker.",
        "SageMaker",
        "Other.ListTrainingJobs",
    ],
)
def test_unknown_operations(api: TestClient, target: str) -> None:
    response = post(api, b"{}", target=target)
    assert response.status_code == 400
    assert response.json() == {
        "__type": "UnknownOperationException",
        "message": f"Unknown operation {target}",
    }


def test_missing_target(api: TestClient) -> None:
    response = post(api, b"{}", target=None)
    assert response.status_code == 400
    assert response.json()["__type"] == "UnknownOperationException"
    assert "X-Amz-Target" in response.json()["message"]


@pytest.mark.parametrize(
    "body", [b"{", b'{"TrainingJobName": "a",}', b"\xff\xfe", b"NaN", b'"\\ud800"', b"[1, 2"]
)
def test_malformed_json_is_a_serialization_exception(api: TestClient, body: bytes) -> None:
    response = post(api, body, target="SageMaker.DescribeTrainingJob")
    assert response.status_code == 400
    assert response.json()["__type"] == "SerializationException"


@pytest.mark.parametrize(
    "body",
    [
        b"[]",
        b'"a string"',
        b'{"TrainingJobName": 5}',
        b'{"TrainingJobName": ["job-1"]}',
        b'{"TrainingJobName": {"a": 1}}',
        b'{"TrainingJobName": true}',
    ],
)
def test_wrong_types_are_a_serialization_exception(api: TestClient, body: bytes) -> None:
    response = post(api, body, target="SageMaker.DescribeTrainingJob")
    assert response.status_code == 400
    assert response.json()["__type"] == "SerializationException"


def test_an_empty_body_means_no_members(api: TestClient) -> None:
    response = post(api, b"", target="SageMaker.DescribeTrainingJob")
    assert response.json() == {
        "__type": "ValidationException",
        "message": "1 validation error detected: "
        "Value null at 'trainingJobName' failed to satisfy constraint: Member must not be null",
    }
    assert call(api, "ListTrainingJobs", {})["TrainingJobSummaries"] == []


def test_over_long_strings(api: TestClient) -> None:
    message = fails(api, "CreateTrainingJob", create_request("a" * 64), "ValidationException")
    assert message.startswith("2 validation errors detected: ")
    assert (
        "at 'trainingJobName' failed to satisfy constraint: Member must have length less than or equal to 63"
        in message
    )
    message = fails(
        api,
        "CreateTrainingJob",
        create_request("job-1", HyperParameters={"a": "x" * 2501}),
        "ValidationException",
    )
    assert (
        "Map value must satisfy constraint: [Member must have length less than or equal to 2500]" in message
    )


@pytest.mark.parametrize(
    ("stopping", "code"),
    [
        ({"MaxRuntimeInSeconds": 0}, "ValidationException"),
        ({"MaxRuntimeInSeconds": -5}, "ValidationException"),
        ({"MaxPendingTimeInSeconds": 10}, "ValidationException"),
        ({"MaxRuntimeInSeconds": 2**31}, "SerializationException"),
        ({"MaxRuntimeInSeconds": 2**64 - 1}, "SerializationException"),
        ({"MaxRuntimeInSeconds": 2**64}, "SerializationException"),
        ({"MaxRuntimeInSeconds": 1.5}, "SerializationException"),
    ],
)
def test_out_of_range_integers(api: TestClient, stopping: dict[str, Any], code: str) -> None:
    fails(api, "CreateTrainingJob", create_request("job-1", StoppingCondition=stopping), code)
    fails(api, "DescribeTrainingJob", {"TrainingJobName": "job-1"}, "ValidationException")


def test_huge_page_sizes_are_refused_not_crashed_on(api: TestClient) -> None:
    arn = call(api, "CreateTrainingJob", create_request("job-1"))["TrainingJobArn"]
    fails(api, "ListTags", {"ResourceArn": arn, "MaxResults": 2**63 - 1}, "SerializationException")
    assert call(api, "ListTags", {"ResourceArn": arn, "MaxResults": 2**31 - 1})["Tags"] == []
    fails(api, "ListTrainingJobs", {"MaxResults": 101}, "ValidationException")


def test_unknown_enum_values(api: TestClient) -> None:
    message = fails(api, "ListTrainingJobs", {"StatusEquals": "Running"}, "ValidationException")
    assert message == (
        "1 validation error detected: Value 'Running' at 'statusEquals' failed to satisfy constraint: "
        "Member must satisfy enum value set: [InProgress, Completed, Failed, Stopping, Stopped, Deleting]"
    )
    request = create_request("job-1")
    request["ResourceConfig"]["InstanceType"] = "ml.m5.huge"
    assert "at 'resourceConfig.instanceType'" in fails(
        api, "CreateTrainingJob", request, "ValidationException"
    )


def test_nested_nulls_mean_absent(api: TestClient) -> None:
    request = create_request(
        "job-1", StoppingCondition=None, InputDataConfig=None, Tags=None, HyperParameters=None
    )
    response = post(api, json.dumps(request).encode(), target="SageMaker.CreateTrainingJob")
    assert response.status_code == 200, response.text
    described = call(api, "DescribeTrainingJob", {"TrainingJobName": "job-1"})
    assert described["StoppingCondition"] == {"MaxRuntimeInSeconds": 86400}
    listed = post(
        api, b'{"MaxResults": null, "SortBy": null, "NextToken": null}', target="SageMaker.ListTrainingJobs"
    )
    assert [s["TrainingJobName"] for s in listed.json()["TrainingJobSummaries"]] == ["job-1"]


@pytest.mark.parametrize(
    ("params", "cursor"),
    [
        ({"SortBy": "Name"}, [{"x": 1}, 1]),
        ({"SortBy": "Status"}, [["a"], 1]),
        ({"SortBy": "Name"}, ["a"]),
        ({}, ["not a time", 1]),
        ({}, [None, 1]),
        ({}, ["2026-01-01T00:00:00+00:00", 2**70]),
    ],
)
def test_forged_list_tokens_are_refused(api: TestClient, params: dict[str, Any], cursor: list[Any]) -> None:
    forged = tokens.encode(cursor, params)
    request = {**params, "NextToken": forged}
    fails(api, "ListTrainingJobs", request, "ValidationException", "Invalid pagination token")


def test_forged_tag_tokens_are_refused(api: TestClient) -> None:
    arn = call(api, "CreateTrainingJob", create_request("job-1"))["TrainingJobArn"]
    for cursor in ([], [1], ["a", "b"], [{"a": 1}]):
        forged = tokens.encode(cursor, {"ResourceArn": arn})
        fails(
            api,
            "ListTags",
            {"ResourceArn": arn, "NextToken": forged},
            "ValidationException",
            "Invalid pagination token",
        )


def test_out_of_range_timestamps_are_refused(api: TestClient) -> None:
    for value in ("0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-05:00", 1e300, -1e300):
        params = {"CreationTimeAfter": value}
        response = post(api, json.dumps(params).encode(), target="SageMaker.ListTrainingJobs")
        assert response.json()["__type"] == "SerializationException"


def test_a_10_mb_body_is_refused_before_it_is_read(api: TestClient) -> None:
    body = b'{"TrainingJobName": "' + b"a" * (10 * 1024 * 1024) + b'"}'
    response = post(api, body, target="SageMaker.DescribeTrainingJob")
    assert response.status_code == 413
    assert response.json()["__type"] == "RequestEntityTooLargeException"


def test_a_10_mb_body_without_content_length_is_cut_off(api: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"TrainingJobName": "'
        for _ in range(160):
            yield b"a" * 65536
        yield b'"}'

    response = post(api, chunks(), target="SageMaker.DescribeTrainingJob")
    assert response.status_code == 413
    assert response.json()["__type"] == "RequestEntityTooLargeException"


def test_a_non_numeric_content_length_is_refused(api: TestClient) -> None:
    response = post(api, b"{}", target="SageMaker.ListTrainingJobs", **{"Content-Length": "abc"})
    assert response.status_code in (400, 413)


def test_every_response_has_its_own_request_id(api: TestClient) -> None:
    ids = {
        send(api, "ListTrainingJobs", {}).headers["x-amzn-RequestId"],
        send(api, "DescribeTrainingJob", {"TrainingJobName": "nope"}).headers["x-amzn-RequestId"],
        post(api, b"{", target="SageMaker.ListTrainingJobs").headers["x-amzn-RequestId"],
        post(api, b"{}", target="Nope").headers["x-amzn-RequestId"],
    }
    assert len(ids) == 4


# -- property: nothing a client sends makes the server fail -------------------------------------------

JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**66), max_value=2**66),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.lists(st.integers(min_value=-5, max_value=5), max_size=3),
    st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2),
)
NAMES = st.from_regex(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", fullmatch=True) | st.text(max_size=70)
SAMPLES = {
    "RoleArn": ["arn:aws:iam::123456789012:role/SageMakerRole"],
    "S3OutputPath": ["s3://bucket/output", "s3://b/o", "https://bucket.s3.amazonaws.com/x", "s3://"],
    "S3Uri": ["s3://bucket/data/", "s3://bucket/data/file.csv"],
    "TrainingImage": ["mlp", "linear", "123456789012.dkr.ecr.us-east-1.amazonaws.com/img:latest"],
    "ChannelName": ["train", "validation", "test"],
    "Key": ["team", "Équipe", "aws:x"],
    "Value": ["ml", "", "データ"],
}
STRATEGIES: dict[tuple[str, int], st.SearchStrategy[Any]] = {}


def valid_ish(shape: Any, depth: int, member: str = "") -> st.SearchStrategy[Any]:
    """Values of `shape`'s type, often within its constraints, sometimes not."""
    kind = shape.type_name
    if depth > 3:
        return JUNK
    if kind == "structure":
        members = {name: for_member(sub, depth + 1, name) for name, sub in shape.members.items()}
        return st.fixed_dictionaries({}, optional=members)
    if kind == "list":
        return st.lists(for_member(shape.member, depth + 1), max_size=3)
    if kind == "map":
        return st.dictionaries(st.text(max_size=8), for_member(shape.value, depth + 1), max_size=3)
    if kind == "string":
        enum = shape.metadata.get("enum")
        if enum:
            return st.sampled_from(enum) | st.text(max_size=12)
        return st.sampled_from(SAMPLES.get(member, ["x"])) | st.text(max_size=40)
    if kind in ("integer", "long"):
        small = st.integers(min_value=0, max_value=100)
        return st.one_of(small, small, small, st.integers(min_value=-(2**65), max_value=2**65))
    if kind in ("float", "double"):
        return st.floats(allow_nan=False, allow_infinity=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "timestamp":
        return st.integers(min_value=0, max_value=2**34) | st.text(max_size=25)
    return JUNK


def for_member(shape: Any, depth: int, member: str = "") -> st.SearchStrategy[Any]:
    key = (f"{shape.name}/{member}", depth)
    if key not in STRATEGIES:
        valid = valid_ish(shape, depth, member)
        # One value in eight is of any type at all.
        STRATEGIES[key] = st.integers(min_value=0, max_value=7).flatmap(lambda i: JUNK if i == 0 else valid)
    return STRATEGIES[key]


@st.composite
def create_requests(draw: st.DrawFn) -> dict[str, Any]:
    """A valid request with up to four changes: a member set to a value of its shape, to null, or to junk."""
    shape = model.input_shape("CreateTrainingJob")
    request = create_request(draw(NAMES))
    for _ in range(draw(st.integers(min_value=0, max_value=4))):
        target, target_shape, depth = request, shape, 1
        nested = draw(st.sampled_from(["", "AlgorithmSpecification", "OutputDataConfig", "ResourceConfig"]))
        if nested and isinstance(request.get(nested), dict):  # reach into a structure still there
            target, target_shape, depth = request[nested], shape.members[nested], 2
        name = draw(st.sampled_from(sorted(target_shape.members)) | st.text(max_size=8))
        member = target_shape.members.get(name)
        how = draw(st.sampled_from(["value", "value", "null", "junk"] if member else ["junk"]))
        if how == "value":
            target[name] = draw(valid_ish(member, depth, name))
        else:
            target[name] = None if how == "null" else draw(JUNK)
    return request


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(request=create_requests())
def test_no_create_request_makes_the_server_fail(api: TestClient, request: dict[str, Any]) -> None:
    body = json.dumps(request).encode()
    response = post(api, body, target="SageMaker.CreateTrainingJob")  # never 5xx, always the JSON envelope
    event(f"AWS {response.status_code} {response.json().get('__type', '')}")
    if response.status_code == 200:
        name = request["TrainingJobName"]
        described = post(
            api, json.dumps({"TrainingJobName": name}).encode(), target="SageMaker.DescribeTrainingJob"
        )
        assert (
            described.status_code == 200
            and described.json()["TrainingJobArn"] == response.json()["TrainingJobArn"]
        )
    else:
        assert response.status_code in (400, 413)

    rest_request = dict(request)
    if isinstance(request.get("TrainingJobName"), str):
        rest_request["TrainingJobName"] = "r" + request["TrainingJobName"]
    rest = api.post("/v1/training-jobs", json=rest_request)
    event(f"REST {rest.status_code}")
    assert rest.status_code < 500, rest.text
    if rest.status_code == 201:
        assert api.get(f"/v1/training-jobs/{rest_request['TrainingJobName']}").status_code == 200
    else:
        problem = rest.json()
        assert problem["status"] == rest.status_code and problem["detail"] and problem["code"]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.binary(max_size=200) | st.text(max_size=200).map(str.encode),
    target=st.sampled_from(sorted(model.OPERATIONS)),
)
def test_no_body_makes_the_server_fail(api: TestClient, body: bytes, target: str) -> None:
    post(api, body, target=f"SageMaker.{target}")


# -- accounts see only their own ---------------------------------------------------------------------


@pytest.fixture
def other(api: TestClient) -> TestClient:
    """The same app, called by a key of another account."""
    return client_as(api, OTHER)


def other_request(name: str, **overrides: Any) -> dict[str, Any]:
    return create_request(name, RoleArn=role_arn(OTHER), **overrides)


def test_names_are_per_account_and_the_arn_carries_the_account(api: TestClient, other: TestClient) -> None:
    mine = call(api, "CreateTrainingJob", create_request("job-a"))["TrainingJobArn"]
    theirs = call(other, "CreateTrainingJob", other_request("job-a"))["TrainingJobArn"]
    assert mine == ARN_PREFIX + "job-a"
    assert theirs == f"arn:aws:sagemaker:us-east-1:{OTHER_ACCOUNT}:training-job/job-a"
    fails(other, "CreateTrainingJob", other_request("JOB-A"), "ResourceInUse")
    assert call(api, "DescribeTrainingJob", {"TrainingJobName": "job-a"})["TrainingJobArn"] == mine
    assert call(other, "DescribeTrainingJob", {"TrainingJobName": "job-a"})["TrainingJobArn"] == theirs


def test_each_account_lists_only_its_own_jobs(api: TestClient, other: TestClient) -> None:
    for name in ("shared", "mine-1", "mine-2"):
        call(api, "CreateTrainingJob", create_request(name))
    for name in ("shared", "theirs"):
        call(other, "CreateTrainingJob", other_request(name))

    def listed(client: TestClient, **params: Any) -> list[str]:
        return [
            s["TrainingJobName"] for s in call(client, "ListTrainingJobs", params)["TrainingJobSummaries"]
        ]

    assert listed(api) == ["shared", "mine-1", "mine-2"]
    assert listed(other) == ["shared", "theirs"]
    assert listed(other, NameContains="mine") == []
    page = call(api, "ListTrainingJobs", {"MaxResults": 1})
    # A token is only a position: presented by another account, it walks that account's own jobs.
    assert set(listed(other, NextToken=page["NextToken"])) <= {"shared", "theirs"}


@pytest.mark.parametrize("operation", ["DescribeTrainingJob", "StopTrainingJob", "DeleteTrainingJob"])
def test_another_accounts_job_is_not_found_as_an_unknown_one_is(
    api: TestClient, other: TestClient, operation: str
) -> None:
    call(api, "CreateTrainingJob", create_request("mine"))
    unknown = send(other, operation, {"TrainingJobName": "nope"})
    refused = send(other, operation, {"TrainingJobName": "mine"})
    assert (refused.status_code, refused.json()) == (unknown.status_code, unknown.json())
    fails(
        other, operation, {"TrainingJobName": "mine"}, "ValidationException", "Requested resource not found."
    )
    described = call(api, "DescribeTrainingJob", {"TrainingJobName": "mine"})
    assert described["TrainingJobStatus"] == "InProgress"  # neither stopped nor deleted


def test_tags_of_another_accounts_job_are_not_found(api: TestClient, other: TestClient) -> None:
    arn = call(api, "CreateTrainingJob", create_request("mine", Tags=[{"Key": "team", "Value": "ml"}]))[
        "TrainingJobArn"
    ]
    not_found = "Requested resource not found."
    fails(other, "ListTags", {"ResourceArn": arn}, "ValidationException", not_found)
    tags = [{"Key": "team", "Value": "hijacked"}]
    fails(other, "AddTags", {"ResourceArn": arn, "Tags": tags}, "ValidationException", not_found)
    fails(other, "DeleteTags", {"ResourceArn": arn, "TagKeys": ["team"]}, "ValidationException", not_found)
    assert call(api, "ListTags", {"ResourceArn": arn})["Tags"] == [{"Key": "team", "Value": "ml"}]
    # The same name in the other account is another resource, with tags of its own.
    theirs = call(other, "CreateTrainingJob", other_request("mine"))["TrainingJobArn"]
    call(other, "AddTags", {"ResourceArn": theirs, "Tags": tags})
    assert call(other, "ListTags", {"ResourceArn": theirs})["Tags"] == tags
    assert call(api, "ListTags", {"ResourceArn": arn})["Tags"] == [{"Key": "team", "Value": "ml"}]


def test_a_role_of_another_account_is_access_denied(api: TestClient, other: TestClient) -> None:
    message = fails(
        api, "CreateTrainingJob", create_request("job-1", RoleArn=role_arn(OTHER)), "AccessDeniedException"
    )
    assert message == (
        f"Account 123456789012 is not authorized to perform: iam:PassRole on resource: {role_arn(OTHER)}"
    )
    fails(other, "CreateTrainingJob", create_request("job-1"), "AccessDeniedException")
    assert call(api, "ListTrainingJobs", {})["TrainingJobSummaries"] == []
    assert call(other, "ListTrainingJobs", {})["TrainingJobSummaries"] == []


@pytest.mark.parametrize(
    "overrides",
    [
        {
            "InputDataConfig": [
                {
                    "ChannelName": "train",
                    "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "file:///etc/"}},
                }
            ]
        },
        {"HyperParameters": {"sagemaker_submit_directory": '"file:///var/lib/sagelite"'}},
    ],
    ids=["channel", "code"],
)
def test_only_admins_may_read_the_servers_files(api: TestClient, overrides: dict[str, Any]) -> None:
    user = client_as(api, USER)
    message = fails(user, "CreateTrainingJob", create_request("job-1", **overrides), "AccessDeniedException")
    assert "file://" in message
    assert call(user, "ListTrainingJobs", {})["TrainingJobSummaries"] == []
    call(api, "CreateTrainingJob", create_request("job-1", **overrides))  # the root key is an admin


def test_a_metric_regex_no_engine_compiles_is_refused_at_create(api: TestClient) -> None:
    def with_regex(name: str, regex: str) -> dict[str, Any]:
        algorithm = {
            "TrainingImage": "mlp",
            "TrainingInputMode": "File",
            "MetricDefinitions": [{"Name": "loss", "Regex": regex}],
        }
        return create_request(name, AlgorithmSpecification=algorithm)

    invalid = with_regex("bad-regex", r"loss=([0-9.]+")
    message = fails(api, "CreateTrainingJob", invalid, "ValidationException")
    assert "MetricDefinitions" in message and "'loss'" in message
    # RE2 refuses lookarounds; the budgeted engine takes them, as SageMaker does.
    call(api, "CreateTrainingJob", with_regex("lookaround", r"(?<=epoch \d )loss=([0-9.]+)"))
    call(api, "CreateTrainingJob", with_regex("pathological", r"loss=((a+)+)$"))
    rest = api.post("/v1/training-jobs", json=with_regex("bad-rest", r"[z-a](1)"))
    assert rest.status_code == 400 and rest.json()["code"] == "ValidationException"
