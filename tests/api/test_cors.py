"""CORS through the real ASGI app, on all three surfaces (AWS JSON at `/`, S3, REST): none unless origins
are configured; then preflights and responses for the listed origins only, and nothing for any other."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from app.api import cors
from app.api.dispatch import SageliteApp
from app.client import sigv4
from app.config import Settings
from tests.conftest import idle_app

CONSOLE = "https://console.example.com"
OTHER = "https://evil.example.net"
KEYS = sigv4.Credentials("test", "test")
# One request per surface: (method, path, signing service or None, headers a browser would ask for).
SURFACES = {
    "aws-json": ("POST", "/", "sagemaker", "authorization,content-type,x-amz-date,x-amz-target"),
    "s3": ("PUT", "/bucket/key", "s3", "authorization,content-type,x-amz-content-sha256,x-amz-date"),
    "rest": ("GET", "/v1/training-jobs", "sagemaker", "authorization,x-amz-date"),
}


@pytest.fixture
def configured(tmp_path: Path) -> Iterator[TestClient]:
    with idle_app(
        Settings(data_dir=tmp_path / "data", cors_origins=[CONSOLE, "http://localhost:5173"])
    ) as client:
        yield client


def access_control(response: httpx.Response) -> dict[str, str]:
    return {name: value for name, value in response.headers.items() if name.startswith("access-control-")}


def preflight(api: TestClient, surface: str, origin: str) -> httpx.Response:
    method, path, _, headers = SURFACES[surface]
    asked = {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": headers,
    }
    return api.options(path, headers=asked)


def signed(api: TestClient, surface: str, origin: str) -> httpx.Response:
    """The request itself, SigV4-signed as a browser SDK would send it, from `origin`."""
    method, path, service, _ = SURFACES[surface]
    body = b'{"MaxResults": 1}' if surface == "aws-json" else b"data" if surface == "s3" else b""
    headers = {"Origin": origin, "Content-Type": "application/x-amz-json-1.1"}
    if surface == "aws-json":
        headers["X-Amz-Target"] = "SageMaker.ListTrainingJobs"
    payload = hashlib.sha256(body).hexdigest()
    headers |= sigv4.sign(
        method=method,
        url=f"http://testserver{path}",
        headers=headers,
        payload_sha256=payload,
        credentials=KEYS,
        region="us-east-1",
        service=service,
        now=dt.datetime.now(dt.UTC),
    )
    return api.request(method, path, headers=headers, content=body)


@pytest.mark.parametrize("surface", SURFACES)
def test_unconfigured_there_is_no_access_control_header_anywhere(api: TestClient, surface: str) -> None:
    assert access_control(preflight(api, surface, CONSOLE)) == {}
    answered = signed(api, surface, CONSOLE)
    assert answered.status_code < 500 and access_control(answered) == {}


@pytest.mark.parametrize("surface", SURFACES)
def test_a_listed_origin_gets_its_preflight_answered(configured: TestClient, surface: str) -> None:
    method, _, _, asked = SURFACES[surface]
    answer = preflight(configured, surface, CONSOLE)
    assert answer.status_code == 200, answer.text
    granted = access_control(answer)
    assert granted["access-control-allow-origin"] == CONSOLE
    assert granted["access-control-allow-credentials"] == "true"
    assert method in granted["access-control-allow-methods"].split(", ")
    allowed_headers = granted["access-control-allow-headers"].lower().split(", ")
    assert set(asked.split(",")) <= set(allowed_headers)
    assert "origin" in answer.headers["vary"].lower()


def test_every_header_a_sigv4_client_sends_is_allowed(configured: TestClient) -> None:
    asked = (
        "authorization,x-amz-date,x-amz-target,x-amz-content-sha256,x-amz-security-token,content-type,range"
    )
    headers = {
        "Origin": CONSOLE,
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": asked,
    }
    assert configured.options("/bucket/key", headers=headers).status_code == 200


@pytest.mark.parametrize("surface", SURFACES)
def test_a_listed_origin_can_read_the_answer_and_its_ids(configured: TestClient, surface: str) -> None:
    answered = signed(configured, surface, CONSOLE)
    assert answered.status_code < 500, answered.text
    granted = access_control(answered)
    assert granted["access-control-allow-origin"] == CONSOLE
    assert granted["access-control-allow-credentials"] == "true"
    exposed = granted["access-control-expose-headers"].lower().split(", ")
    assert {"etag", "x-amz-request-id", "x-amzn-requestid", "retry-after"} <= set(exposed)


@pytest.mark.parametrize("surface", SURFACES)
def test_any_other_origin_gets_no_access_control_header(configured: TestClient, surface: str) -> None:
    for origin in (OTHER, CONSOLE + "/", "https://console.example.com:444", "null"):
        assert access_control(preflight(configured, surface, origin)) == {}
        assert access_control(signed(configured, surface, origin)) == {}


def test_a_listed_origin_asking_for_another_method_is_refused(configured: TestClient) -> None:
    headers = {"Origin": CONSOLE, "Access-Control-Request-Method": "PATCH"}
    assert configured.options("/v1/training-jobs", headers=headers).status_code == 400


@pytest.mark.parametrize(
    "origin",
    ["*", "https://console.example.com/", "console.example.com", "https://a.example/app", "ftp://a.example"],
)
def test_origins_that_could_never_match_are_refused_at_startup(origin: str) -> None:
    with pytest.raises(ValueError, match="scheme://host"):
        cors.install(SageliteApp(), [origin])
