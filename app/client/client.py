"""`SageMakerClient`: boto3's SageMaker training-job methods over httpx, plus the service's own extras.

The AWS operations take and return exactly what boto3's do (keyword arguments, response dicts with
aware datetimes and `ResponseMetadata`, `ClientError`s, the `training_job_completed_or_stopped` waiter,
the `list_training_jobs` and `list_tags` paginators), and the tuning-job operations (`app.client.tuning`)
with a waiter botocore lacks and their paginators. The extras use the `/v1` routes: artifact and
object transfers, logs, metrics, a waiting loop with progress, hosts and VMs, and administration
(accounts, access keys, the audit trail; see `app.client.admin`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace, TracebackType
from typing import Any

import httpx

from app.client import admin, artifacts, errors, paginators, rest, sigv4, tuning, waiters, wire
from app.client.transport import DEFAULT_TIMEOUT, Request, RetryPolicy, Transport

DEFAULT_ENDPOINT = "http://127.0.0.1:8000"
JSON_CONTENT_TYPE = "application/x-amz-json-1.1"
# Operations that may be sent twice with the effect of once (a lost answer is retried only for these).
IDEMPOTENT = frozenset(
    {
        "DescribeTrainingJob",
        "ListTrainingJobs",
        "ListTags",
        "AddTags",
        "DeleteTags",
        "DescribeHyperParameterTuningJob",
        "ListHyperParameterTuningJobs",
        "ListTrainingJobsForHyperParameterTuningJob",
    }
)
TERMINAL = frozenset({"Completed", "Failed", "Stopped"})

Progress = Callable[[dict[str, Any]], None]


class SageMakerClient(admin.AdminMethods, tuning.TuningMethods):
    """A boto3-compatible SageMaker client for sagelite; every request is signed with the credentials given
    (a client without them is refused by the server, except for its open `/healthz`)."""

    def __init__(
        self,
        *,
        endpoint_url: str = DEFAULT_ENDPOINT,
        region_name: str = "us-east-1",
        aws_access_key_id: str | None = None,
        aws_secret_access_key: str | None = None,
        aws_session_token: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_attempts: int = 3,
        http_transport: httpx.BaseTransport | None = None,
    ) -> None:
        credentials = None
        if (aws_access_key_id is None) != (aws_secret_access_key is None):
            raise ValueError("give both aws_access_key_id and aws_secret_access_key, or neither")
        if aws_access_key_id is not None and aws_secret_access_key is not None:
            credentials = sigv4.Credentials(aws_access_key_id, aws_secret_access_key, aws_session_token)
        self._transport = Transport(
            endpoint_url=endpoint_url,
            region=region_name,
            credentials=credentials,
            timeout=timeout,
            retry=RetryPolicy(max_attempts=max(1, max_attempts)),
            http_transport=http_transport,
        )
        self.exceptions = SimpleNamespace(ClientError=errors.ClientError, **errors.MODELED)

    @property
    def endpoint_url(self) -> str:
        return self._transport.endpoint_url

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> SageMakerClient:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- the SageMaker API ---------------------------------------------------------------------------

    def create_training_job(self, **kwargs: Any) -> dict[str, Any]:
        return self._call("CreateTrainingJob", kwargs)

    def describe_training_job(self, **kwargs: Any) -> dict[str, Any]:
        return self._call("DescribeTrainingJob", kwargs)

    def list_training_jobs(self, **kwargs: Any) -> dict[str, Any]:
        return self._call("ListTrainingJobs", kwargs)

    def stop_training_job(self, **kwargs: Any) -> dict[str, Any]:
        return self._call("StopTrainingJob", kwargs)

    def delete_training_job(self, **kwargs: Any) -> dict[str, Any]:
        return self._call("DeleteTrainingJob", kwargs)

    def add_tags(self, **kwargs: Any) -> dict[str, Any]:
        return self._call("AddTags", kwargs)

    def list_tags(self, **kwargs: Any) -> dict[str, Any]:
        return self._call("ListTags", kwargs)

    def delete_tags(self, **kwargs: Any) -> dict[str, Any]:
        return self._call("DeleteTags", kwargs)

    @property
    def waiter_names(self) -> list[str]:
        return sorted(waiters.MODELS)

    def get_waiter(self, waiter_name: str) -> waiters.Waiter:
        if waiter_name not in waiters.MODELS:
            raise ValueError(f"Waiter does not exist: {waiter_name}")
        model = waiters.MODELS[waiter_name]
        return waiters.Waiter(model, getattr(self, model.operation))

    def can_paginate(self, operation_name: str) -> bool:
        return operation_name in paginators.MODELS

    def get_paginator(self, operation_name: str) -> paginators.Paginator:
        if operation_name not in paginators.MODELS:
            raise ValueError(f"Operation cannot be paginated: {operation_name}")
        model = paginators.MODELS[operation_name]
        return paginators.Paginator(model, getattr(self, model.operation))

    def _call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        headers = {"Content-Type": JSON_CONTENT_TYPE, "X-Amz-Target": f"SageMaker.{operation}"}
        request = Request(
            operation,
            "POST",
            "/",
            headers=headers,
            body=wire.request_body(params),
            idempotent=operation in IDEMPOTENT,
        )
        reply = self._transport.send(request)
        body = wire.json_or_message(reply.response.content)
        metadata = reply.metadata()
        if reply.response.status_code >= 300:
            raise errors.client_error(_aws_error(body, reply.response.status_code, metadata), operation)
        result: dict[str, Any] = wire.parse_output(body)
        result["ResponseMetadata"] = metadata
        return result

    # -- extras: the /v1 routes ----------------------------------------------------------------------

    def wait(
        self,
        TrainingJobName: str,
        *,
        on_progress: Progress | None = None,
        poll_interval: float = 2.0,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Describe the job every `poll_interval` s, calling `on_progress(description)` each time, until it
        is Completed, Failed or Stopped; returns the last description (TimeoutError after `timeout` s)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            job = self.describe_training_job(TrainingJobName=TrainingJobName)
            if on_progress is not None:
                on_progress(job)
            if job["TrainingJobStatus"] in TERMINAL:
                return job
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"{TrainingJobName} is still {job['TrainingJobStatus']} after {timeout} s")
            time.sleep(poll_interval)

    def logs(self, TrainingJobName: str, *, follow: bool = True) -> Iterator[str]:
        """The job's log lines (`[algo-1] ...`); with `follow`, until the job has ended."""
        request = Request(
            "GetTrainingJobLogs",
            "GET",
            f"/v1/training-jobs/{wire.segment(TrainingJobName)}/logs",
            query=[("follow", "true" if follow else "false")],
            idempotent=True,
            stream=True,
            timeout=httpx.Timeout(self._transport.timeout, read=None) if follow else None,
        )
        with rest.streamed(self._transport, request) as response:
            yield from response.iter_lines()

    def get_training_job_metrics(self, TrainingJobName: str) -> dict[str, Any]:
        """`{"metrics": {name: [{"timestamp", "value"}, ...]}, "final": FinalMetricDataList}`."""
        path = f"/v1/training-jobs/{wire.segment(TrainingJobName)}/metrics"
        document = rest.get_json(self._transport, "GetTrainingJobMetrics", path)
        for points in document.get("metrics", {}).values():
            for point in points:
                point["timestamp"] = wire.parse_iso(point["timestamp"])
        for metric in document.get("final", []):
            metric["Timestamp"] = wire.parse_iso(metric["Timestamp"])
        return document

    def download_training_job_artifact(
        self, *, TrainingJobName: str, destination: str | Path = ".", unpack: bool = False
    ) -> Path:
        """Save the job's `model.tar.gz` in the directory `destination`; returns its path, or with
        `unpack=True` extracts it there (plain files and directories only) and returns the directory."""
        directory = Path(destination)
        path = _artifact_path(TrainingJobName, "model")
        archive = self._download("DownloadTrainingJobArtifact", path, directory / "model.tar.gz")
        if not unpack:
            return archive
        artifacts.unpack(archive, directory)
        return directory

    def presign_model_url(self, job_name: str, *, expires_in: int = 3600) -> str:
        """A link to the job's `model.tar.gz` that curl or a browser can follow without credentials, until it
        expires (`expires_in` seconds, at most seven days): query-string SigV4 with this client's key."""
        return self._transport.presign(_artifact_path(job_name, "model"), expires_in=expires_in)

    def presign_output_url(self, job_name: str, *, expires_in: int = 3600) -> str:
        """A link to the job's `output.tar.gz`, like `presign_model_url`."""
        return self._transport.presign(_artifact_path(job_name, "output"), expires_in=expires_in)

    def upload_file(self, path: str | Path, uri: str) -> dict[str, Any]:
        """PUT a local file to `s3://bucket/key` (a key ending in `/` gets the file's name); the bucket is
        created if missing. Returns `bucket, key, size, etag, sha256, last_modified`."""
        source = Path(path)
        target = wire.parse_s3_uri(uri)
        if not target.key or target.key.endswith("/"):
            target = wire.S3Uri(target.bucket, target.key + source.name)
        sha256 = artifacts.file_sha256(source)
        request = Request(
            "UploadFile",
            "PUT",
            target.object_path,
            headers={"Content-Type": "application/octet-stream", artifacts.CHECKSUM_HEADER: sha256},
            upload=source,
            payload_sha256=sha256,
            idempotent=True,
        )
        result = rest.json_of(self._transport.send(request), "UploadFile")
        result["last_modified"] = wire.parse_iso(result["last_modified"])
        return result

    def download_file(self, uri: str, path: str | Path) -> Path:
        """GET `s3://bucket/key` into `path` (into `path/<name>` when it is a directory)."""
        source = wire.parse_s3_uri(uri)
        destination = Path(path)
        if destination.is_dir() or str(path).endswith(("/", "\\")):
            destination = destination / (source.key.rstrip("/").rpartition("/")[2] or source.bucket)
        return self._download("DownloadFile", source.object_path, destination)

    def list_objects_v2(self, **kwargs: Any) -> dict[str, Any]:
        """S3's ListObjectsV2 (Bucket, Prefix, Delimiter, MaxKeys, ContinuationToken, StartAfter)."""
        names = {"Prefix": "prefix", "Delimiter": "delimiter", "MaxKeys": "max-keys"}
        names |= {"ContinuationToken": "continuation-token", "StartAfter": "start-after"}
        query = [("list-type", "2")] + [(names[k], str(v)) for k, v in kwargs.items() if k in names]
        path = f"/{wire.segment(kwargs['Bucket'])}"
        request = Request("ListObjectsV2", "GET", path, query=query, idempotent=True, service="s3")
        reply = self._transport.send(request)
        rest.raise_for_status(reply, "ListObjectsV2")
        return rest.list_objects_v2(reply.response.content)

    def list_hosts(self, *, max_results: int | None = None, next_token: str | None = None) -> dict[str, Any]:
        """`{"hosts": [{"name", "capacity", "allocated", "free"}, ...], "NextToken"?}`: a page, by name."""
        query = rest.page_query(max_results=max_results, next_token=next_token)
        return rest.get_json(self._transport, "ListHosts", "/v1/hosts", query=query)

    def list_vms(
        self, *, job: str | None = None, max_results: int | None = None, next_token: str | None = None
    ) -> dict[str, Any]:
        """`{"vms": [...], "NextToken"?}`: a page, newest job first; `job` keeps one training job's."""
        query = [] if job is None else [("job", job)]
        query += rest.page_query(max_results=max_results, next_token=next_token)
        return rest.get_json(self._transport, "ListVms", "/v1/vms", query=query)

    def pause_vm(self, vm_id: str) -> dict[str, Any]:
        return rest.post_json(self._transport, "PauseVm", f"/v1/vms/{wire.segment(vm_id)}/pause")

    def resume_vm(self, vm_id: str) -> dict[str, Any]:
        return rest.post_json(self._transport, "ResumeVm", f"/v1/vms/{wire.segment(vm_id)}/resume")

    def _download(self, operation: str, path: str, destination: Path) -> Path:
        request = Request(operation, "GET", path, idempotent=True, stream=True)
        with rest.streamed(self._transport, request) as response:
            sha256 = response.headers.get(artifacts.CHECKSUM_HEADER)
            return artifacts.save(response.iter_bytes(), destination, sha256=sha256)


def _artifact_path(job_name: str, artifact: str) -> str:
    return f"/v1/training-jobs/{wire.segment(job_name)}/{artifact}"


def _aws_error(body: dict[str, Any], status: int, metadata: dict[str, Any]) -> dict[str, Any]:
    """botocore's parse of an AWS JSON error: `__type` (after any `#`) or the status, and the message."""
    code = str(body.get("__type", status)).split(":", 1)[0].rsplit("#", 1)[-1]
    message = body.get("message", body.get("Message", ""))
    return {"Error": {"Message": message, "Code": code}, "ResponseMetadata": metadata}
