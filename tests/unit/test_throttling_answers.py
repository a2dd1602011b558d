"""The three answers to a throttled request, read by botocore itself: its parsers see the codes AWS uses,
and its default retry modes (legacy and standard) retry them. REST's 429 is read by app.client."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore import endpoint as botocore_endpoint
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.exceptions import ClientError
from starlette.responses import Response

from app.api import throttling
from app.auth.throttle import Decision

REFUSED = Decision(allowed=False, retry_after_seconds=2.2)
MODES = ["legacy", "standard"]


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


def aws_response(response: Response) -> AWSResponse:
    headers = {name: value for name, value in response.headers.items()}
    return AWSResponse("https://sagelite.test/", response.status_code, headers, _Raw(bytes(response.body)))


class Answers:
    """A botocore `before-send` hook: answers each request from a list instead of the network."""

    def __init__(self, *answers: Response) -> None:
        self._answers = iter(answers)
        self.sent = 0

    def __call__(self, **_: Any) -> AWSResponse:
        self.sent += 1
        return aws_response(next(self._answers))


@pytest.fixture(autouse=True)
def no_sleeping(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    waits: list[float] = []
    monkeypatch.setattr(botocore_endpoint.time, "sleep", waits.append)
    return waits


def client(service: str, mode: str, answers: Answers) -> Any:
    made = boto3.client(
        service,
        endpoint_url="https://sagelite.test",
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"mode": mode, "total_max_attempts": 3}),
    )
    made.meta.events.register("before-send", answers)
    return made


def json_ok(body: dict[str, Any]) -> Response:
    return Response(json.dumps(body), media_type="application/x-amz-json-1.1")


def slow_down(method: str = "PUT") -> Response:
    return throttling.s3(REFUSED, request_id="R1", resource="/b/k", method=method, has_body=method == "PUT")


@pytest.mark.parametrize("mode", MODES)
def test_boto3_retries_the_json_protocol_answer(mode: str) -> None:
    answers = Answers(throttling.aws_json(REFUSED, request_id="r1"), json_ok({"TrainingJobSummaries": []}))
    result = client("sagemaker", mode, answers).list_training_jobs()
    assert answers.sent == 2 and result["ResponseMetadata"]["RetryAttempts"] == 1


@pytest.mark.parametrize("mode", MODES)
def test_boto3_reads_the_json_protocol_answer_as_throttling_exception(mode: str) -> None:
    answers = Answers(*(throttling.aws_json(REFUSED, request_id="r1") for _ in range(3)))
    with pytest.raises(ClientError) as caught:
        client("sagemaker", mode, answers).list_training_jobs()
    assert answers.sent == 3
    assert caught.value.response["Error"] == {"Code": "ThrottlingException", "Message": "Rate exceeded"}
    metadata = caught.value.response["ResponseMetadata"]
    assert metadata["HTTPStatusCode"] == 400 and metadata["RequestId"] == "r1"
    assert metadata["HTTPHeaders"]["retry-after"] == "3"


@pytest.mark.parametrize("mode", MODES)
def test_boto3_retries_the_s3_answer(mode: str) -> None:
    answers = Answers(slow_down(), Response(b"", headers={"ETag": '"e"'}))
    result = client("s3", mode, answers).put_object(Bucket="b", Key="k", Body=b"x")
    assert answers.sent == 2 and result["ResponseMetadata"]["RetryAttempts"] == 1


@pytest.mark.parametrize("mode", MODES)
def test_boto3_reads_the_s3_answer_as_slow_down(mode: str) -> None:
    answers = Answers(*(slow_down() for _ in range(3)))
    with pytest.raises(ClientError) as caught:
        client("s3", mode, answers).put_object(Bucket="b", Key="k", Body=b"x")
    assert answers.sent == 3
    assert caught.value.response["Error"]["Code"] == "SlowDown"
    assert caught.value.response["Error"]["Message"] == "Please reduce your request rate."
    headers = caught.value.response["ResponseMetadata"]["HTTPHeaders"]
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    assert headers["retry-after"] == "3" and headers["x-amz-request-id"] == "R1"


def test_a_throttled_upload_closes_the_connection_since_its_body_stays_unread() -> None:
    assert slow_down("PUT").headers["connection"] == "close"
    assert "connection" not in slow_down("GET").headers


def test_a_throttled_head_has_no_body() -> None:
    answer = slow_down("HEAD")
    assert answer.status_code == 503 and answer.body == b"" and answer.headers["retry-after"] == "3"


def test_rest_answers_429_problem_json() -> None:
    answer = throttling.rest(Decision(allowed=False, retry_after_seconds=0.01))
    assert answer.status_code == 429
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["retry-after"] == "1"
    problem = json.loads(bytes(answer.body))
    assert problem["code"] == "ThrottlingException" and problem["status"] == 429
