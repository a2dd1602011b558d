"""Hostile bodies and unexpected failures: deep JSON is a 400 naming the limit, and every 5xx on every
surface is rendered in that surface's error form (AWS JSON, S3 XML, REST problem JSON)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from starlette.types import ASGIApp, Receive, Scope, Send

from app.api.aws import operations
from app.api.body import nesting_depth
from app.api.dispatch import SageliteApp
from app.config import Settings
from tests.conftest import idle_app

AWS_JSON = "application/x-amz-json-1.1"
S3_AUTH = (
    "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/s3/aws4_request, "
    "SignedHeaders=host, Signature=" + "0" * 64
)


def deep(depth: int) -> bytes:
    return b'{"TrainingJobName":"a","Tags":' + b"[" * depth + b"]" * depth + b"}"


@pytest.mark.parametrize("depth", [100, 1000, 5000])
def test_deep_json_on_the_aws_protocol_is_a_serialization_exception(api: TestClient, depth: int) -> None:
    headers = {"X-Amz-Target": "SageMaker.CreateTrainingJob", "Content-Type": AWS_JSON}
    response = api.post("/", content=deep(depth), headers=headers)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["__type"] == "SerializationException"
    assert "64" in body["message"] or depth > 1000  # orjson refuses past 1024 levels in its own words


@pytest.mark.parametrize("depth", [100, 1000, 5000])
def test_deep_json_on_rest_is_a_problem_400(api: TestClient, depth: int) -> None:
    response = api.post("/v1/training-jobs", content=deep(depth))
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "SerializationException"


def test_json_at_the_depth_limit_reaches_the_validator(api: TestClient) -> None:
    # 64 levels (the outer object is one): refused by the model's validation, not by the depth limit.
    headers = {"X-Amz-Target": "SageMaker.CreateTrainingJob", "Content-Type": AWS_JSON}
    response = api.post("/", content=deep(63), headers=headers)
    assert response.json()["__type"] != "SerializationException" or "levels" not in response.text
    response = api.post("/", content=deep(64), headers=headers)
    assert "limit of 64 levels" in response.json()["message"]


@pytest.mark.parametrize(
    ("document", "depth"),
    [(1, 0), ({}, 1), ([[], {"a": [1]}], 3), ({"a": {"b": {"c": None}}}, 3), ([[[[]]]], 4)],
)
def test_nesting_depth(document: object, depth: int) -> None:
    assert nesting_depth(document) == depth


# -- every 5xx in its protocol's form ----------------------------------------------------------------


class Boom(RuntimeError):
    """A bug somewhere: nothing renders it but the last resort."""


def _raise(*_: object, **__: object) -> object:
    raise Boom("bug")


@pytest.fixture
def fragile(settings: Settings) -> Iterator[TestClient]:
    """The app answering through a TestClient that reports 500s rather than raising them."""
    with idle_app(settings) as client:
        fragile = TestClient(client.app, raise_server_exceptions=False)
        fragile.auth = client.auth
        yield fragile


def test_a_failing_aws_operation_is_internal_failure(
    fragile: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(operations.HANDLERS, "ListTrainingJobs", _raise)
    response = fragile.post("/", content=b"{}", headers={"X-Amz-Target": "SageMaker.ListTrainingJobs"})
    _assert_aws_internal_failure(response.status_code, response.headers, response.json())


def test_a_failing_rest_route_is_a_problem_500(fragile: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    services = fragile.app.state.services  # type: ignore[attr-defined]
    monkeypatch.setattr(services.jobs, "describe", _raise)
    response = fragile.get("/v1/training-jobs/some-job")
    _assert_rest_internal_failure(response.status_code, response.headers["content-type"], response.json())


class FailingEdge:
    """Edge middleware with a bug, in front of every surface (as CORS or authentication sit)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            raise Boom("middleware bug")
        await self.app(scope, receive, send)


def test_errors_raised_in_edge_middleware_answer_in_each_surface_form(fragile: TestClient) -> None:
    app = fragile.app
    assert isinstance(app, SageliteApp)
    app.add_edge_middleware(FailingEdge)

    aws = fragile.post("/", content=b"{}", headers={"X-Amz-Target": "SageMaker.ListTrainingJobs"})
    _assert_aws_internal_failure(aws.status_code, aws.headers, aws.json())

    rest = fragile.get("/v1/training-jobs")
    _assert_rest_internal_failure(rest.status_code, rest.headers["content-type"], rest.json())

    unsigned = TestClient(app, raise_server_exceptions=False)  # the failure comes before any check
    s3 = unsigned.get("/bucket/key", headers={"Authorization": S3_AUTH})
    assert s3.status_code == 500
    assert s3.headers["content-type"].startswith("application/xml")
    error = ET.fromstring(s3.content)
    assert error.tag == "Error" and error.findtext("Code") == "InternalError"
    assert error.findtext("RequestId") == s3.headers["x-amz-request-id"]


def test_errors_raised_in_an_exception_handler_are_still_problem_json(fragile: TestClient) -> None:
    app = fragile.app
    assert isinstance(app, SageliteApp)

    async def broken_handler(*_: object) -> object:
        raise Boom("handler bug")

    app.exception_handlers[LookupError] = broken_handler
    app.middleware_stack = None  # rebuilt with the new handler on the next request
    services = app.state.services
    services.jobs.describe = _lookup_error
    try:
        response = fragile.get("/v1/training-jobs/some-job")
    finally:
        del services.jobs.describe
    _assert_rest_internal_failure(response.status_code, response.headers["content-type"], response.json())


def _lookup_error(*_: object) -> object:
    raise LookupError("bug")


def _assert_aws_internal_failure(status: int, headers: object, body: dict[str, str]) -> None:
    assert status == 500
    assert body == {"__type": "InternalFailure", "message": "An internal error occurred."}
    assert getattr(headers, "get")("x-amzn-ErrorType") == "InternalFailure"  # noqa: B009


def _assert_rest_internal_failure(status: int, content_type: str, body: dict[str, object]) -> None:
    assert status == 500
    assert content_type == "application/problem+json"
    assert (
        body["code"] == "InternalFailure" and body["title"] == "InternalServerError" and body["status"] == 500
    )


def test_a_wrong_method_names_the_allowed_ones(api: TestClient) -> None:
    response = api.put("/v1/training-jobs")
    assert response.status_code == 405
    assert response.headers["content-type"] == "application/problem+json"
    allowed = set(response.headers["allow"].replace(" ", "").split(","))
    assert "POST" in allowed and "PUT" not in allowed
