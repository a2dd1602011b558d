"""Authentication at the edge, through the real ASGI app: every surface refuses what does not verify, in
its own protocol, and a refused request changes nothing."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from app.client import sigv4
from app.client.auth import SigV4Auth
from app.config import Settings
from app.services import Services
from tests.conftest import create_request, idle_app
from tests.support.server import ROOT_KEY, ROOT_SECRET

JOBS = "/v1/training-jobs"
JSON_HEADERS = {"Content-Type": "application/x-amz-json-1.1"}
ROOT = sigv4.Credentials(ROOT_KEY, ROOT_SECRET)


def auth(
    credentials: sigv4.Credentials = ROOT, *, service: str = "sagemaker", age: dt.timedelta = dt.timedelta(0)
) -> SigV4Auth:
    return SigV4Auth(credentials, service=service, now=lambda: dt.datetime.now(dt.UTC) - age)


WRONG_SECRET = auth(sigv4.Credentials(ROOT_KEY, "not-the-secret"))
UNKNOWN_KEY = auth(sigv4.Credentials("AKIAUNKNOWN", "secret"))
EXPIRED = auth(age=dt.timedelta(minutes=16))


class Garbage(httpx.Auth):
    def auth_flow(self, request: httpx.Request) -> Iterator[httpx.Request]:
        request.headers["Authorization"] = "AWS4-HMAC-SHA256 garbage"
        yield request


def services(api: TestClient) -> Services:
    found: Services = api.app.state.services  # type: ignore[attr-defined]
    return found


def aws_call(api: TestClient, operation: str, body: dict[str, Any], **kwargs: Any) -> httpx.Response:
    headers = {**JSON_HEADERS, "X-Amz-Target": f"SageMaker.{operation}"}
    return api.post("/", content=json.dumps(body), headers=headers, **kwargs)


def job_names(api: TestClient) -> list[str]:
    return [s["TrainingJobName"] for s in api.get(JOBS).json()["TrainingJobSummaries"]]


# -- the cross-site request, and what stays open ----------------------------------------------------------


def test_a_cross_site_create_is_refused_401_and_creates_nothing(api: TestClient) -> None:
    request = create_request("from-a-web-page")
    request["AlgorithmSpecification"]["ContainerEntrypoint"] = ["sh", "-c", "id"]
    response = api.post(
        JOBS,
        content=json.dumps(request),
        headers={"Content-Type": "text/plain", "Origin": "https://evil.example"},
        auth=None,
    )
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "MissingAuthenticationTokenException"
    assert response.headers["www-authenticate"] == "AWS4-HMAC-SHA256"
    assert "access-control-allow-origin" not in response.headers
    assert job_names(api) == []


def test_only_liveness_and_the_api_documents_are_open(api: TestClient) -> None:
    for path in ("/healthz", "/openapi.json", "/docs", "/redoc"):
        assert api.get(path, auth=None).status_code == 200, path
    assert api.post("/healthz", auth=None).status_code == 401
    assert api.get("/healthz/", auth=None).status_code == 403  # a bucket's name, to an S3 client
    assert api.get("/v1/hosts", auth=None).status_code == 401


def test_the_caller_reaches_the_routes(api: TestClient) -> None:
    assert api.post(JOBS, json=create_request("signed")).status_code == 201
    assert job_names(api) == ["signed"]


# -- REST ---------------------------------------------------------------------------------------------------

REFUSALS: list[tuple[str, httpx.Auth | None, int, str]] = [
    ("unsigned", None, 401, "MissingAuthenticationTokenException"),
    ("garbage", Garbage(), 403, "IncompleteSignatureException"),
    ("unknown key", UNKNOWN_KEY, 403, "UnrecognizedClientException"),
    ("wrong secret", WRONG_SECRET, 403, "InvalidSignatureException"),
    ("expired", EXPIRED, 403, "InvalidSignatureException"),
]


@pytest.mark.parametrize(("case", "signer", "status", "code"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_rest_refusals_are_problem_json(
    api: TestClient, case: str, signer: httpx.Auth | None, status: int, code: str
) -> None:
    response = api.post(JOBS, json=create_request("refused"), auth=signer)
    assert (response.status_code, response.json()["code"]) == (status, code)
    if case == "expired":
        assert response.json()["detail"].startswith("Signature expired:")
    assert job_names(api) == []


def test_a_changed_body_fails_the_signature(api: TestClient) -> None:
    signed = api.build_request("POST", JOBS, json=create_request("honest"))
    next(api.auth.auth_flow(signed))  # type: ignore[union-attr]
    tampered = json.dumps(create_request("tampered")).encode()
    headers = {**signed.headers, "content-length": str(len(tampered))}
    response = api.post(JOBS, content=tampered, headers=headers, auth=None)
    assert (response.status_code, response.json()["code"]) == (403, "InvalidSignatureException")
    assert job_names(api) == []


# -- AWS JSON -----------------------------------------------------------------------------------------------

JSON_REFUSALS: list[tuple[str, httpx.Auth | None, int, str]] = [
    ("unsigned", None, 400, "MissingAuthenticationTokenException"),
    ("garbage", Garbage(), 400, "IncompleteSignatureException"),
    ("unknown key", UNKNOWN_KEY, 400, "UnrecognizedClientException"),
    ("wrong secret", WRONG_SECRET, 400, "InvalidSignatureException"),
    ("expired", EXPIRED, 400, "InvalidSignatureException"),
]


@pytest.mark.parametrize(
    ("case", "signer", "status", "code"), JSON_REFUSALS, ids=[r[0] for r in JSON_REFUSALS]
)
def test_json_protocol_refusals(
    api: TestClient, case: str, signer: httpx.Auth | None, status: int, code: str
) -> None:
    response = aws_call(api, "CreateTrainingJob", create_request("refused"), auth=signer)
    assert response.status_code == status
    assert response.headers["x-amzn-errortype"] == code
    assert response.json()["__type"] == code
    assert "x-amzn-requestid" in response.headers
    assert job_names(api) == []


def test_a_wrong_secret_stop_changes_nothing(api: TestClient) -> None:
    assert aws_call(api, "CreateTrainingJob", create_request("running")).status_code == 200
    refused = aws_call(api, "StopTrainingJob", {"TrainingJobName": "running"}, auth=WRONG_SECRET)
    assert refused.json()["__type"] == "InvalidSignatureException"
    described = aws_call(api, "DescribeTrainingJob", {"TrainingJobName": "running"}).json()
    assert described["TrainingJobStatus"] == "InProgress"


def test_signature_v4a_is_refused_with_a_clear_message(api: TestClient) -> None:
    headers = {
        **JSON_HEADERS,
        "X-Amz-Target": "SageMaker.ListTrainingJobs",
        "Authorization": "AWS4-ECDSA-P256-SHA256 Credential=test/20240101/sagemaker/aws4_request, "
        "SignedHeaders=host, Signature=00",
    }
    response = api.post("/", content=b"{}", headers=headers, auth=None)
    assert response.json()["__type"] == "IncompleteSignatureException"
    assert "(SigV4a)" in response.json()["message"]


# -- S3 -----------------------------------------------------------------------------------------------------

S3_REFUSALS: list[tuple[str, httpx.Auth | None, int, str]] = [
    ("unsigned", None, 403, "AccessDenied"),
    ("unknown key", auth(sigv4.Credentials("AKIAUNKNOWN", "x"), service="s3"), 403, "InvalidAccessKeyId"),
    ("wrong secret", auth(sigv4.Credentials(ROOT_KEY, "x"), service="s3"), 403, "SignatureDoesNotMatch"),
    ("expired", auth(service="s3", age=dt.timedelta(minutes=16)), 403, "RequestTimeTooSkewed"),
]


@pytest.mark.parametrize(("case", "signer", "status", "code"), S3_REFUSALS, ids=[r[0] for r in S3_REFUSALS])
def test_s3_refusals_are_s3_xml(
    api: TestClient, case: str, signer: httpx.Auth | None, status: int, code: str
) -> None:
    response = api.put("/a-bucket", auth=signer)
    assert response.status_code == status
    assert f"<Code>{code}</Code>".encode() in response.content
    assert response.headers["x-amz-request-id"]
    assert api.head("/a-bucket", auth=auth(service="s3")).status_code == 404


def test_signature_v2_is_refused_on_s3(api: TestClient) -> None:
    response = api.get("/a-bucket/k", headers={"Authorization": "AWS test:c2lnbmF0dXJl"}, auth=None)
    assert (response.status_code, b"<Code>InvalidRequest</Code>" in response.content) == (400, True)
    assert b"Signature Version 2" in response.content
    query = api.get("/a-bucket/k?AWSAccessKeyId=test&Signature=x&Expires=9999999999", auth=None)
    assert (query.status_code, b"<Code>InvalidRequest</Code>" in query.content) == (400, True)


def test_a_tampered_put_object_stores_nothing(api: TestClient) -> None:
    s3 = auth(service="s3")
    assert api.put("/data", auth=s3).status_code == 200
    body = b"the bytes that were signed"
    headers = {"X-Amz-Content-SHA256": hashlib.sha256(b"other bytes").hexdigest()}
    response = api.put("/data/k", content=body, headers=headers, auth=s3)
    assert (response.status_code, b"<Code>XAmzContentSHA256Mismatch</Code>" in response.content) == (
        400,
        True,
    )
    assert api.get("/data/k", auth=s3).status_code == 404
    honest = api.put("/data/k", content=body, auth=s3)
    assert honest.status_code == 200
    assert api.get("/data/k", auth=s3).content == body


def test_a_tampered_rest_upload_stores_nothing(api: TestClient) -> None:
    headers = {"X-Amz-Content-SHA256": hashlib.sha256(b"signed").hexdigest()}
    response = api.put("/v1/objects/data/k", content=b"sent instead", headers=headers)
    assert (response.status_code, response.json()["code"]) == (400, "XAmzContentSHA256Mismatch")
    assert api.get("/v1/objects/data/k").status_code == 404


# -- presigned links ----------------------------------------------------------------------------------------


def presigned(
    path: str, *, expires_in: int = 60, age: dt.timedelta = dt.timedelta(0), service: str = "sagemaker"
) -> str:
    return sigv4.presign(
        method="GET",
        url=f"http://testserver{path}",
        credentials=ROOT,
        region="us-east-1",
        service=service,
        now=dt.datetime.now(dt.UTC) - age,
        expires_in=expires_in,
    )


def test_presigned_rest_downloads_work_until_they_expire(api: TestClient) -> None:
    assert api.put("/v1/objects/data/model.bin", content=b"weights").status_code == 201
    assert api.get(presigned("/v1/objects/data/model.bin"), auth=None).content == b"weights"
    expired = api.get(presigned("/v1/objects/data/model.bin", age=dt.timedelta(seconds=61)), auth=None)
    assert (expired.status_code, expired.json()["code"]) == (403, "InvalidSignatureException")
    wrong = presigned("/v1/objects/data/model.bin").replace("model.bin", "other.bin")
    assert api.get(wrong, auth=None).status_code == 403


def test_presigned_urls_are_only_for_downloads(api: TestClient) -> None:
    response = api.get(presigned(JOBS), auth=None)
    assert response.status_code == 403
    assert "only for downloads" in response.json()["detail"]


def test_presigned_s3_gets_expire(api: TestClient) -> None:
    s3 = auth(service="s3")
    api.put("/data", auth=s3)
    api.put("/data/k", content=b"v", auth=s3)
    assert api.get(presigned("/data/k", service="s3"), auth=None).content == b"v"
    late = api.get(presigned("/data/k", service="s3", age=dt.timedelta(seconds=61)), auth=None)
    assert (late.status_code, b"<Code>AccessDenied</Code>" in late.content) == (403, True)


# -- throttling and the audit trail -------------------------------------------------------------------------


@pytest.fixture
def tight(tmp_path: Any) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path / "data", throttle_rate_per_second=0.01, throttle_burst=2)
    with idle_app(settings) as client:
        yield client


def test_each_key_has_a_token_bucket(tight: TestClient) -> None:
    assert [tight.get(JOBS).status_code for _ in range(3)] == [200, 200, 429]
    assert int(tight.get(JOBS).headers["retry-after"]) >= 1
    throttled = aws_call(tight, "ListTrainingJobs", {})
    assert (throttled.status_code, throttled.json()["__type"]) == (400, "ThrottlingException")


def test_refusals_and_mutating_calls_are_audited(api: TestClient) -> None:
    api.post(JOBS, json=create_request("audited"))
    api.get(JOBS)
    aws_call(api, "StopTrainingJob", {"TrainingJobName": "audited"}, auth=WRONG_SECRET)
    events = services(api).audit.events()
    seen = {(e.operation, e.outcome, e.access_key_id) for e in events}
    assert ("POST /v1/training-jobs", "Success", ROOT_KEY) in seen
    assert ("StopTrainingJob", "InvalidSignatureException", ROOT_KEY) in seen
    assert not any(e.operation == "GET /v1/training-jobs" for e in events)
