"""Shared fixtures: settings on a temp data dir, the ASGI app in-process, the real server on a free port."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from fastapi.testclient import TestClient

from app.clock import Clock, utcnow
from app.config import Settings
from app.db import migrate
from app.main import create_app
from app.services import build
from tests.support.callers import ROOT, auth_for
from tests.support.postgres import Postgres, PostgresUnavailable, postgres_for_tests
from tests.support.server import ROOT_KEY, ROOT_SECRET, Server, running_server


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


@contextmanager
def idle_app(settings: Settings, *, clock: Clock = utcnow) -> Iterator[TestClient]:
    """The real ASGI app driven in-process, over services whose scheduler never runs: a job keeps the
    status the API (or the test) gives it. Requests act as the default account's root key."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(settings.resolved_database_url)
    services = build(settings, clock=clock)
    try:
        with TestClient(create_app(settings, clock=clock, services=services)) as client:
            client.auth = auth_for(ROOT)
            yield client
    finally:
        services.close()


@pytest.fixture
def api(settings: Settings) -> Iterator[TestClient]:
    with idle_app(settings) as client:
        yield client


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """A PostgreSQL server for the whole run (see tests/support/postgres.py). Missing, it skips the tests
    that need it, except under CI=true, where it fails them: CI must run them."""
    try:
        with postgres_for_tests() as server:
            yield server
    except PostgresUnavailable as error:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs PostgreSQL: {error}")
        pytest.skip(str(error))


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    with running_server(tmp_path / "data") as running:
        yield running


def sagemaker_client(url: str) -> Any:
    return boto3.client(
        "sagemaker",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=ROOT_KEY,
        aws_secret_access_key=ROOT_SECRET,
        config=Config(retries={"max_attempts": 1}),
    )


@pytest.fixture
def sagemaker(server: Server) -> Any:
    return sagemaker_client(server.url)


def create_request(name: str, **overrides: Any) -> dict[str, Any]:
    """A minimal valid CreateTrainingJob request."""
    request: dict[str, Any] = {
        "TrainingJobName": name,
        "RoleArn": "arn:aws:iam::123456789012:role/SageMakerRole",
        "AlgorithmSpecification": {"TrainingImage": "mlp", "TrainingInputMode": "File"},
        "OutputDataConfig": {"S3OutputPath": "s3://bucket/output"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
    }
    request.update(overrides)
    return request
