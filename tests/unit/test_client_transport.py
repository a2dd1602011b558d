"""The client's HTTP behaviour over httpx.MockTransport: retry policy, signing, wire shapes."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.client import (
    ClientError,
    EndpointConnectionError,
    HTTPClientError,
    ResourceInUse,
    SageMakerClient,
    sigv4,
)
from app.client import transport as transport_module

ENDPOINT = "http://sagelite.test:8000"
Handler = Callable[[httpx.Request], httpx.Response]


@pytest.fixture
def slept(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    waits: list[float] = []
    monkeypatch.setattr(transport_module.time, "sleep", waits.append)
    return waits


class Script:
    """Answers requests from a list (an exception in it is raised), recording every request."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self._answers: Iterator[httpx.Response | Exception] = iter(answers)
        self.requests: list[httpx.Request] = []
        self.bodies: list[bytes] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.bodies.append(request.read())
        answer = next(self._answers)
        if isinstance(answer, Exception):
            raise answer
        return answer


def client(handler: Handler, *, signed: bool = True, **kwargs: Any) -> SageMakerClient:
    keys = {"aws_access_key_id": "AKID", "aws_secret_access_key": "secret"} if signed else {}
    return SageMakerClient(
        endpoint_url=ENDPOINT, http_transport=httpx.MockTransport(handler), **keys, **kwargs
    )


def ok(body: dict[str, Any] | None = None) -> httpx.Response:
    return httpx.Response(200, json=body or {}, headers={"x-amzn-RequestId": "req-1"})


def aws_error(status: int, code: str, message: str = "no", **headers: str) -> httpx.Response:
    return httpx.Response(status, json={"__type": code, "message": message}, headers=headers)


def test_idempotent_operation_is_retried_on_5xx_with_backoff(slept: list[float]) -> None:
    script = Script(aws_error(500, "InternalFailure"), aws_error(503, "ServiceUnavailable"), ok({"x": 1}))
    result = client(script).describe_training_job(TrainingJobName="j")
    assert len(script.requests) == 3
    assert result["ResponseMetadata"]["RetryAttempts"] == 2
    assert len(slept) == 2 and 0 <= slept[0] <= 0.1 and 0 <= slept[1] <= 0.2


def test_429_is_retried_after_what_retry_after_asks(slept: list[float]) -> None:
    script = Script(aws_error(429, "ThrottlingException", **{"Retry-After": "1.5"}), ok())
    client(script).list_training_jobs()
    assert slept == [1.5]


@pytest.mark.parametrize("operation", ["create_training_job", "stop_training_job", "delete_training_job"])
def test_non_idempotent_operations_are_not_retried_on_5xx(operation: str, slept: list[float]) -> None:
    script = Script(aws_error(500, "InternalFailure"), ok())
    with pytest.raises(ClientError) as caught:
        getattr(client(script), operation)(TrainingJobName="j")
    assert len(script.requests) == 1 and slept == []
    assert caught.value.response["Error"]["Code"] == "InternalFailure"
    assert caught.value.response["ResponseMetadata"]["RetryAttempts"] == 0


def test_giving_up_says_so_as_botocore_does(slept: list[float]) -> None:
    script = Script(*(aws_error(503, "ServiceUnavailable", "busy") for _ in range(3)))
    with pytest.raises(ClientError) as caught:
        client(script).describe_training_job(TrainingJobName="j")
    assert len(script.requests) == 3
    assert str(caught.value) == (
        "An error occurred (ServiceUnavailable) when calling the DescribeTrainingJob operation "
        "(reached max retries: 2): busy"
    )


@pytest.mark.parametrize("status", [400, 404, 501])
def test_client_errors_and_501_are_not_retried(status: int, slept: list[float]) -> None:
    script = Script(aws_error(status, "ValidationException"), ok())
    with pytest.raises(ClientError):
        client(script).describe_training_job(TrainingJobName="j")
    assert len(script.requests) == 1


def test_a_refused_connection_is_retried_for_any_operation(slept: list[float]) -> None:
    script = Script(httpx.ConnectError("refused"), httpx.ConnectTimeout("slow"), ok({"TrainingJobArn": "a"}))
    result = client(script).create_training_job(TrainingJobName="j")
    assert result["TrainingJobArn"] == "a" and result["ResponseMetadata"]["RetryAttempts"] == 2


def test_a_broken_connection_is_retried_only_for_idempotent_operations(slept: list[float]) -> None:
    script = Script(httpx.ReadError("reset"), ok())
    with pytest.raises(HTTPClientError):
        client(script).create_training_job(TrainingJobName="j")
    assert len(script.requests) == 1
    script = Script(httpx.ReadError("reset"), ok())
    client(script).describe_training_job(TrainingJobName="j")
    assert len(script.requests) == 2


def test_nothing_listening_is_an_endpoint_connection_error(slept: list[float]) -> None:
    script = Script(*(httpx.ConnectError("refused") for _ in range(3)))
    with pytest.raises(EndpointConnectionError, match="Could not connect to the endpoint URL"):
        client(script, max_attempts=3).list_training_jobs()
    assert len(script.requests) == 3 and len(slept) == 2


def test_an_upload_retried_sends_the_whole_file_again(tmp_path: Path, slept: list[float]) -> None:
    data = bytes(range(256)) * 5000
    (tmp_path / "f.bin").write_bytes(data)
    stored = {"bucket": "b", "key": "k/f.bin", "size": len(data), "last_modified": "2024-01-01T00:00:00Z"}
    script = Script(httpx.Response(503), httpx.Response(201, json=stored))
    result = client(script).upload_file(tmp_path / "f.bin", "s3://b/k/")
    assert script.bodies == [data, data]
    request = script.requests[-1]
    assert request.url.path == "/v1/objects/b/k/f.bin"
    assert request.headers["content-length"] == str(len(data))
    assert request.headers["x-checksum-sha256"] == hashlib.sha256(data).hexdigest()
    assert result["last_modified"] == dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def test_requests_carry_a_signature_that_verifies_over_what_was_sent() -> None:
    script = Script(ok(), ok(), httpx.Response(200, content=b"<ListBucketResult/>"))
    sm = client(script)
    sm.describe_training_job(TrainingJobName="j")
    sm.logs("a job", follow=False).close()  # a generator: nothing sent
    sm.get_training_job_metrics("j-1")
    sm.list_objects_v2(Bucket="b", Prefix="a b/c")
    for request, service in zip(script.requests, ["sagemaker", "sagemaker", "s3"], strict=True):
        authorization = request.headers["authorization"]
        assert f"/us-east-1/{service}/aws4_request" in authorization
        names = authorization.split("SignedHeaders=")[1].split(",")[0].split(";")
        signed = {
            name: request.headers[name]
            for name in names
            if name not in ("x-amz-date", "x-amz-content-sha256")
        }
        again = sigv4.sign(
            method=request.method,
            url=str(request.url),
            headers=signed,
            payload_sha256=hashlib.sha256(request.read()).hexdigest(),
            credentials=sigv4.Credentials("AKID", "secret"),
            region="us-east-1",
            service=service,
            now=dt.datetime.strptime(request.headers["x-amz-date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC),
        )
        assert again["Authorization"] == authorization


def test_without_credentials_nothing_is_signed() -> None:
    script = Script(ok(), httpx.Response(200, content=b"<ListBucketResult/>"))
    sm = client(script, signed=False)
    sm.list_training_jobs()
    sm.list_objects_v2(Bucket="b")
    assert [r.headers.get("authorization") for r in script.requests] == [None, None]
    with pytest.raises(ValueError, match="credentials"):
        sm.presign_model_url("j")


def test_presigned_model_and_output_links_verify_over_the_artifact_routes() -> None:
    sm = client(Script(), signed=True)
    for url, artifact in (
        (sm.presign_model_url("a job", expires_in=60), "model"),
        (sm.presign_output_url("j"), "output"),
    ):
        parts = httpx.URL(url)
        assert parts.path.endswith(f"/{artifact}") and parts.path.startswith("/v1/training-jobs/")
        params = dict(parts.params)
        assert (
            params["X-Amz-Credential"].startswith("AKID/")
            and "/us-east-1/sagemaker/" in params["X-Amz-Credential"]
        )
        assert params["X-Amz-SignedHeaders"] == "host"
    assert dict(httpx.URL(sm.presign_model_url("j", expires_in=60)).params)["X-Amz-Expires"] == "60"


def test_json_requests_and_responses_have_boto3s_shapes() -> None:
    epoch = 1_700_000_000.5
    body = {
        "TrainingJobSummaries": [{"TrainingJobName": "j", "CreationTime": epoch, "TrainingEndTime": None}],
        "NextToken": None,
    }
    script = Script(ok(body))
    after = dt.datetime(2024, 1, 1)  # naive: UTC, as botocore reads it
    result = client(script).list_training_jobs(CreationTimeAfter=after, MaxResults=5)
    request = script.requests[0]
    assert request.headers["x-amz-target"] == "SageMaker.ListTrainingJobs"
    assert request.headers["content-type"] == "application/x-amz-json-1.1"
    assert json.loads(script.bodies[0]) == {"CreationTimeAfter": 1704067200.0, "MaxResults": 5}
    assert result["TrainingJobSummaries"] == [
        {"TrainingJobName": "j", "CreationTime": dt.datetime.fromtimestamp(epoch, dt.UTC)}
    ]
    assert "NextToken" not in result
    assert list(result["ResponseMetadata"]) == ["RequestId", "HTTPStatusCode", "HTTPHeaders", "RetryAttempts"]
    assert result["ResponseMetadata"]["RequestId"] == "req-1"


def test_errors_are_parsed_as_botocore_parses_them() -> None:
    script = Script(
        httpx.Response(400, json={"__type": "com.amazonaws.sagemaker#ResourceInUse", "Message": "taken"}),
        httpx.Response(502, content=b"<html>bad gateway</html>"),
    )
    sm = client(script, max_attempts=1)
    with pytest.raises(ResourceInUse) as caught:
        sm.create_training_job(TrainingJobName="j")
    assert caught.value.response["Error"] == {"Message": "taken", "Code": "ResourceInUse"}
    assert caught.value.operation_name == "CreateTrainingJob"
    assert isinstance(caught.value, sm.exceptions.ResourceInUse)
    with pytest.raises(ClientError) as other:
        sm.describe_training_job(TrainingJobName="j")
    assert other.value.response["Error"] == {"Message": "<html>bad gateway</html>", "Code": "502"}


def test_rest_errors_become_client_errors() -> None:
    problem = {"title": "ValidationException", "status": 404, "detail": "Training job 'x' does not exist."}
    script = Script(httpx.Response(404, json={**problem, "code": "ValidationException"}))
    with pytest.raises(ClientError) as caught:
        client(script).download_training_job_artifact(TrainingJobName="x", destination=Path("/nonexistent"))
    assert caught.value.response["Error"]["Message"] == "Training job 'x' does not exist."
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert caught.value.operation_name == "DownloadTrainingJobArtifact"


# -- throttling: refused before any work, so retried for every operation ---------------------------


def slow_down(**headers: str) -> httpx.Response:
    body = b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
    return httpx.Response(503, content=body, headers={"Content-Type": "application/xml", **headers})


def test_a_throttled_create_is_sent_again_after_what_retry_after_asks(slept: list[float]) -> None:
    throttled = aws_error(400, "ThrottlingException", "Rate exceeded", **{"Retry-After": "2"})
    script = Script(throttled, ok({"TrainingJobArn": "a"}))
    result = client(script).create_training_job(TrainingJobName="j")
    assert result["TrainingJobArn"] == "a" and result["ResponseMetadata"]["RetryAttempts"] == 1
    assert slept == [2.0] and script.bodies[0] == script.bodies[1]


def test_throttling_is_read_from_the_body_when_no_header_names_it(slept: list[float]) -> None:
    namespaced = httpx.Response(400, json={"__type": "com.amazonaws.sagemaker#ThrottlingException"})
    script = Script(namespaced, ok())
    client(script).stop_training_job(TrainingJobName="j")
    assert len(script.requests) == 2 and len(slept) == 1 and 0 <= slept[0] <= 0.1


def test_a_throttled_rest_post_is_sent_again(slept: list[float]) -> None:
    problem = {
        "type": "about:blank",
        "title": "ThrottlingException",
        "status": 429,
        "code": "ThrottlingException",
    }
    script = Script(
        httpx.Response(429, json=problem, headers={"Retry-After": "1"}), httpx.Response(200, json={})
    )
    client(script).pause_vm("vm-1")
    assert [r.method for r in script.requests] == ["POST", "POST"] and slept == [1.0]


def test_s3_slow_down_is_sent_again(slept: list[float]) -> None:
    script = Script(slow_down(**{"Retry-After": "1"}), httpx.Response(200, content=b"<ListBucketResult/>"))
    client(script).list_objects_v2(Bucket="b")
    assert len(script.requests) == 2 and slept == [1.0]


def test_a_long_retry_after_is_capped(slept: list[float]) -> None:
    throttled = aws_error(400, "ThrottlingException", "Rate exceeded", **{"Retry-After": "3600"})
    client(Script(throttled, ok())).list_training_jobs()
    assert slept == [5.0]


def test_throttled_to_the_last_attempt_gives_up_with_the_throttling_error(slept: list[float]) -> None:
    script = Script(*(aws_error(400, "ThrottlingException", "Rate exceeded") for _ in range(3)))
    with pytest.raises(ClientError) as caught:
        client(script).create_training_job(TrainingJobName="j")
    assert len(script.requests) == 3 and len(slept) == 2
    assert caught.value.response["Error"]["Code"] == "ThrottlingException"
    assert caught.value.response["ResponseMetadata"]["MaxAttemptsReached"] is True


@pytest.mark.parametrize(
    "answer",
    [
        aws_error(400, "ValidationException", "Rate exceeded"),
        httpx.Response(503, content=b"<Error><Code>ServiceUnavailable</Code></Error>"),
        httpx.Response(503, content=b"not xml at all <"),
    ],
)
def test_other_refusals_of_a_create_are_not_sent_again(answer: httpx.Response, slept: list[float]) -> None:
    script = Script(answer, ok())
    with pytest.raises(ClientError):
        client(script).create_training_job(TrainingJobName="j")
    assert len(script.requests) == 1 and slept == []
