"""Helpers for tests that run real jobs: wait for an end, fetch what a job wrote, an S3 client."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from app.crypto.keyring import load_or_create
from app.storage.object_store import ObjectStore
from app.storage.uris import parse_s3_uri
from tests.conftest import create_request
from tests.support.polling import INTERVAL, STALL_GUARD, wait_until
from tests.support.server import ROOT_KEY, ROOT_SECRET, Server

TERMINAL = ("Completed", "Failed", "Stopped")


def wait_terminal(
    client: Any, name: str, *, timeout: float = STALL_GUARD, interval: float = INTERVAL
) -> dict[str, Any]:
    """Describe the job until it has ended; return that description. Benchmarks poll faster."""

    def describe() -> tuple[str, str, dict[str, Any]]:  # the statuses first: a failure shows them
        job: dict[str, Any] = client.describe_training_job(TrainingJobName=name)
        return job["TrainingJobStatus"], job.get("SecondaryStatus", ""), job

    _, _, job = wait_until(
        describe,
        until=lambda seen: seen[0] in TERMINAL,
        what=f"{name} to end",
        timeout=timeout,
        interval=interval,
    )
    return job


def fetch_object(server: Server, uri: str, dest: Path) -> Path:
    """Read an object straight from the server's store (the S3 API has tests of its own)."""
    parsed = parse_s3_uri(uri)
    keyring = load_or_create(server.data_dir / "master.key")
    with ObjectStore(server.data_dir / "objects", keyring=keyring) as store:
        store.get_file(parsed.bucket, parsed.key, dest)
    return dest


def s3_client(url: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=ROOT_KEY,
        aws_secret_access_key=ROOT_SECRET,
        config=Config(s3={"addressing_style": "path"}, signature_version="s3v4", retries={"max_attempts": 1}),
    )


def entrypoint_job(name: str, script: str, *, metrics: dict[str, str] | None = None) -> dict[str, Any]:
    """A CreateTrainingJob request whose VM runs `script` with python3 (ContainerEntrypoint)."""
    return create_request(
        name,
        AlgorithmSpecification={
            "TrainingImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/script:latest",
            "TrainingInputMode": "File",
            # One line: the model's pattern for an entrypoint argument (`.*`) allows no newline.
            "ContainerEntrypoint": ["python3", "-c", f"exec({textwrap.dedent(script)!r})"],
            "MetricDefinitions": [{"Name": n, "Regex": regex} for n, regex in (metrics or {}).items()],
        },
    )
