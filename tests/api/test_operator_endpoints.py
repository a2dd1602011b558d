"""`/metrics`, `/healthz` and the access log through the ASGI app: who may read what, and what is counted."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.client.auth import SigV4Auth
from app.client.sigv4 import Credentials
from app.config import Settings
from app.log_format import JsonFormatter, TextFormatter
from app.services import Services
from tests.conftest import create_request
from tests.support.callers import ROOT as ROOT_CALLER
from tests.support.callers import USER, auth_for, client_as
from tests.support.server import ROOT_KEY, ROOT_SECRET
from tests.support.signed_app import signed_app

ROOT = auth_for(ROOT_CALLER)
ROOT_S3 = SigV4Auth(Credentials(ROOT_KEY, ROOT_SECRET), service="s3")
TOKEN = "scrape-token-for-tests"
ACCESS_LOGGER = "app.api.access_log"


@pytest.fixture
def operator(settings: Settings) -> Iterator[tuple[TestClient, Services]]:
    with signed_app(Settings(data_dir=settings.data_dir, metrics_token=TOKEN)) as running:
        yield running


@pytest.fixture
def client(operator: tuple[TestClient, Services]) -> TestClient:
    return operator[0]


# -- /metrics --------------------------------------------------------------------------------------


def test_metrics_are_for_admins_and_the_token_only(operator: tuple[TestClient, Services]) -> None:
    client, _ = operator
    assert client.get("/metrics").status_code == 401  # the edge: no signature
    wrong = client.get("/metrics", headers={"Authorization": "Bearer wrong"})  # the route: not the token
    assert wrong.status_code == 401 and wrong.headers["www-authenticate"].startswith("Bearer")
    assert client_as(client, USER).get("/metrics").status_code == 403
    signed = client.get("/metrics", auth=ROOT)
    scraped = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    for answer in (signed, scraped):
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain; version=")


def test_without_a_configured_token_no_bearer_is_accepted(settings: Settings) -> None:
    with signed_app(settings) as (client, _):
        assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 401
        assert client.get("/metrics", auth=ROOT).status_code == 200


def _series(client: TestClient) -> dict[str, float]:
    text = client.get("/metrics", auth=ROOT).text
    return {
        line.rpartition(" ")[0]: float(line.rpartition(" ")[2])
        for line in text.splitlines()
        if line and not line.startswith("#")
    }


def test_requests_are_counted_by_operation_and_status(client: TestClient) -> None:
    client.post("/v1/training-jobs", json=create_request("counted"), auth=ROOT)
    client.get("/v1/training-jobs/counted", auth=ROOT)
    client.get("/v1/training-jobs/missing", auth=ROOT)
    aws = {"X-Amz-Target": "SageMaker.DescribeTrainingJob", "Content-Type": "application/x-amz-json-1.1"}
    client.post("/", content=b'{"TrainingJobName": "counted"}', headers=aws, auth=ROOT)
    client.post("/", content=b"{}", headers=aws | {"X-Amz-Target": "SageMaker.NoSuchThing"}, auth=ROOT)
    series = _series(client)
    assert series['sagelite_requests_total{operation="POST /v1/training-jobs",status="201"}'] == 1
    assert series['sagelite_requests_total{operation="GET /v1/training-jobs/{name}",status="200"}'] == 1
    assert series['sagelite_requests_total{operation="GET /v1/training-jobs/{name}",status="404"}'] == 1
    assert series['sagelite_requests_total{operation="DescribeTrainingJob",status="200"}'] == 1
    assert series['sagelite_requests_total{operation="unknown",status="400"}'] == 1
    assert series['sagelite_request_duration_seconds_count{operation="DescribeTrainingJob"}'] == 1


def test_state_gauges_are_read_at_scrape_time(client: TestClient) -> None:
    before = _series(client)
    assert before['sagelite_jobs{status="InProgress"}'] == 0 and before["sagelite_database_up"] == 1
    assert before['sagelite_vms{state="Running"}'] == 0 and before["sagelite_object_store_objects"] == 0
    client.post("/v1/training-jobs", json=create_request("queued"), auth=ROOT)
    client.put("/v1/objects/bucket-a/data.csv", content=b"12345", auth=ROOT)
    after = _series(client)
    assert after['sagelite_jobs{status="InProgress"}'] == 1 and after["sagelite_queue_depth"] == 1
    assert (after["sagelite_object_store_objects"], after["sagelite_object_store_bytes"]) == (1, 5)
    host = next(k for k in after if k.startswith('sagelite_host_capacity{host="') and 'resource="vcpus"' in k)
    assert after[host] > 0 and after[host.replace("capacity", "allocated")] == 0


# -- /healthz ------------------------------------------------------------------------------------------


def test_healthz_details_are_for_admins(operator: tuple[TestClient, Services]) -> None:
    client, _ = operator
    # Idle services: no scheduler loop runs, so the report is unhealthy, and says why to an admin only.
    assert client.get("/healthz").json() == {"status": "unhealthy"}
    assert client_as(client, USER).get("/healthz").json() == {"status": "unhealthy"}
    detailed = client.get("/healthz", auth=ROOT)
    assert detailed.status_code == 503 and detailed.headers["cache-control"] == "no-store"
    checks = detailed.json()["checks"]
    assert {name: check["status"] for name, check in checks.items()} == {
        "database": "ok",
        "scheduler": "unhealthy",
        "executor": "ok",
        "disk": "ok",
    }
    assert checks["scheduler"] == {"status": "unhealthy", "running": False, "seconds_since_last_pass": None}


# -- the access log ------------------------------------------------------------------------------------


def _access_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == ACCESS_LOGGER]


def test_every_surface_is_logged_once_with_its_operation(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=ACCESS_LOGGER)
    rest = client.get("/v1/vms", auth=ROOT)
    aws = client.post("/", content=b"{}", headers={"X-Amz-Target": "SageMaker.ListTrainingJobs"}, auth=ROOT)
    s3 = client.put("/logged-bucket", auth=ROOT_S3)
    missing = client.get("/v1/nowhere", auth=ROOT)
    records = _access_records(caplog)
    assert [(r.operation, r.status) for r in records] == [  # type: ignore[attr-defined]
        ("GET /v1/vms", 200),
        ("ListTrainingJobs", 200),
        ("CreateBucket", 200),
        ("unknown", 404),
    ]
    ids = [rest.headers["x-amzn-requestid"], aws.headers["x-amzn-requestid"], s3.headers["x-amz-request-id"]]
    assert [r.request_id for r in records[:3]] == ids  # type: ignore[attr-defined]
    assert missing.headers["x-amzn-requestid"] == records[3].request_id  # type: ignore[attr-defined]
    assert all(r.account == "123456789012" for r in records)  # type: ignore[attr-defined]
    assert records[0].bytes_out == len(rest.content) and records[1].bytes_in == 2  # type: ignore[attr-defined]


def test_an_unknown_operation_is_a_warning_naming_its_target(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=ACCESS_LOGGER)
    client.post("/", content=b"{}", headers={"X-Amz-Target": "SageMaker.CreateEverything"}, auth=ROOT)
    [record] = _access_records(caplog)
    assert (record.levelname, record.getMessage()) == ("WARNING", "request for an unknown operation")
    assert (record.operation, record.target, record.status) == ("unknown", "SageMaker.CreateEverything", 400)  # type: ignore[attr-defined]


def test_no_secret_reaches_the_access_log(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=ACCESS_LOGGER)
    secret_headers = {
        "Authorization": "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/sagemaker/aws4_request, "
        "SignedHeaders=host, Signature=SIGNATURE-IN-HEADER",
        "X-Amz-Security-Token": "SESSION-TOKEN-VALUE",
    }
    client.get(
        "/v1/objects/b/k?X-Amz-Signature=SIGNATURE-IN-QUERY&X-Amz-Credential=x", headers=secret_headers
    )
    client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    lines = [f.format(r) for r in _access_records(caplog) for f in (TextFormatter(), JsonFormatter())]
    assert len(lines) == 4
    for secret in ("SIGNATURE-IN-HEADER", "SESSION-TOKEN-VALUE", "SIGNATURE-IN-QUERY", TOKEN):
        assert not any(secret in line for line in lines), secret
