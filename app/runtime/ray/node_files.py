"""A remote VM's files: what travels between the server and a node, and the channels a node downloads.

No path is shared between the server and a node. The server packs the VM's small start-up tree (its
/opt/ml configuration and code) into a bundle; the node downloads the channels and the saved checkpoints
itself through the server's S3 API with the job's own credentials and, once the VM has ended, uploads what the
server packages or reads (model/, output/, checkpoints/) the same way, to a staging object the server then
takes (`put_results`, `take_results`). A job without credentials (network isolation: its VMs may call no
service) hands its results back through the executor instead.
"""

from __future__ import annotations

import io
import json
import tarfile
import urllib.request
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from app.runtime.channels import Fetch

# What a node hands back after the run: the model and output the server packages, the failure file it
# reads, the checkpoints it saves.
RESULTS = ("model", "output", "checkpoints")
_CREDENTIALS_TIMEOUT_SECONDS = 30


class DownloadError(Exception):
    """A channel could not be downloaded; the message becomes the job's `ClientError:` reason."""


def pack(root: Path, *, parts: Iterable[str] | None = None) -> bytes:
    """The tree under `root` (only its top-level entries named in `parts`, when given) as a tar archive."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for entry in sorted(root.iterdir()) if root.is_dir() else []:
            if parts is None or entry.name in parts:
                archive.add(entry, arcname=entry.name, recursive=True)
    return buffer.getvalue()


def unpack(archive: bytes, root: Path) -> None:
    """Extract an archive made by `pack` under `root`; links and devices that would leave it are refused
    (tarfile's `data` filter), so a VM cannot make the server write outside the VM's folder."""
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r") as tar:
        tar.extractall(root, filter="data")


def download(fetches: Iterable[Fetch], *, data_dir: Path, env: Mapping[str, str]) -> None:
    """Download each object into `data_dir` through the server's S3 API, as the job itself (the session
    credentials its VMs are given)."""
    fetches = list(fetches)
    if not fetches:
        return
    if any(fetch.bucket == "file://" for fetch in fetches):
        raise DownloadError("file:// channels name the server's files, which a VM on a Ray node cannot read")
    client = _s3_client(env)
    for fetch in fetches:
        target = data_dir / fetch.target
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            client.download_file(fetch.bucket, fetch.key, str(target))
        except Exception as error:
            raise DownloadError(f"downloading s3://{fetch.bucket}/{fetch.key} failed: {error}") from error


def can_transfer(env: Mapping[str, str]) -> bool:
    """True when the job has credentials to move its files through the server's S3 API."""
    return "AWS_CONTAINER_AUTHORIZATION_TOKEN" in env and "AWS_ENDPOINT_URL" in env


def put_results(archive: bytes, *, uri: str, env: Mapping[str, str]) -> None:
    """Upload a VM's results (`pack`) to `uri` as the job; a missing output bucket is created for the
    job's account, as packaging the artifacts would."""
    from botocore.exceptions import ClientError

    bucket, key = _split(uri)
    client = _s3_client(env)
    try:
        client.upload_fileobj(io.BytesIO(archive), bucket, key)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "NoSuchBucket":
            raise
        client.create_bucket(Bucket=bucket)
        client.upload_fileobj(io.BytesIO(archive), bucket, key)


def take_results(*, uri: str, env: Mapping[str, str]) -> bytes:
    """Download the results a node put at `uri` (as the job), and delete the staging object."""
    bucket, key = _split(uri)
    client = _s3_client(env)
    body = io.BytesIO()
    client.download_fileobj(bucket, key, body)
    client.delete_object(Bucket=bucket, Key=key)
    return body.getvalue()


def _split(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def _s3_client(env: Mapping[str, str]) -> Any:
    import boto3
    from botocore.config import Config

    credentials = job_credentials(env)
    return boto3.client(
        "s3",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name=env.get("AWS_REGION", "us-east-1"),
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["Token"],
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 5}),
    )


def job_credentials(env: Mapping[str, str]) -> dict[str, str]:
    """The job's session credentials, from the endpoint its VMs are pointed at (read here rather than by
    botocore's container provider, which accepts plain HTTP only from loopback hosts)."""
    request = urllib.request.Request(
        env["AWS_CONTAINER_CREDENTIALS_FULL_URI"],
        headers={"Authorization": env["AWS_CONTAINER_AUTHORIZATION_TOKEN"]},
    )
    try:
        with urllib.request.urlopen(request, timeout=_CREDENTIALS_TIMEOUT_SECONDS) as response:
            answer: dict[str, str] = json.load(response)
    except (OSError, ValueError) as error:
        raise DownloadError(f"the job's credentials could not be read from the server: {error}") from error
    return answer
