"""HTTP for the client: one `httpx.Client`, SigV4 signing, retries with backoff, `ResponseMetadata`.

Retry policy: a request that never reached the server (connection refused, connect timeout) is tried
again whatever the operation, and so is one refused for the request rate (429, or AWS's throttling codes:
JSON `ThrottlingException` on 400, S3 `SlowDown` on 503), which the server turns away before doing any
work. Anything else that may have reached it (a broken or timed-out connection, a 5xx) is tried again
only for idempotent operations: a second CreateTrainingJob after a lost answer would fail with
ResourceInUse, or worse, succeed twice. Waits are exponential with full jitter, or what a `Retry-After`
header asks for, capped at `max_delay`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import httpx

from app.client import errors, sigv4

DEFAULT_TIMEOUT = 60.0
CHUNK = 1 << 20
_NOT_RETRIED_5XX = frozenset({501, 505})
# The error codes botocore's retry modes treat as throttling (the few any AWS-compatible server sends).
THROTTLING_CODES = frozenset(
    {"Throttling", "ThrottlingException", "ThrottledException", "TooManyRequestsException", "SlowDown"}
)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 3
    base_delay: float = 0.1
    max_delay: float = 5.0

    def delay(self, retry: int, retry_after: str | None = None) -> float:
        """Seconds to wait before retry number `retry` (1, 2, ...)."""
        if retry_after is not None:
            try:
                return min(self.max_delay, max(0.0, float(retry_after)))
            except ValueError:
                pass
        return random.uniform(0.0, min(self.max_delay, self.base_delay * 2 ** (retry - 1)))


def retryable_status(status: int) -> bool:
    return status == 429 or (status >= 500 and status not in _NOT_RETRIED_5XX)


def throttled(response: httpx.Response) -> bool:
    """Refused for the request rate, before any work was done: safe to send again, whatever the operation."""
    if response.status_code == 429:
        return True
    if response.status_code not in (400, 503):
        return False
    return _error_code(response) in THROTTLING_CODES


def _error_code(response: httpx.Response) -> str | None:
    """The AWS error code: the `x-amzn-ErrorType` header, a JSON `__type`, or S3's XML `<Code>`."""
    header: str | None = response.headers.get("x-amzn-errortype")
    if header:
        return header.split(":", 1)[0]
    body = response.read()  # an error body is small, even when the request asked for a stream
    try:
        code: object
        if body.lstrip().startswith(b"<"):
            code = ET.fromstring(body).findtext("Code")
        else:
            code = json.loads(body).get("__type")
    except (ValueError, ET.ParseError, AttributeError):
        return None
    return None if code is None else str(code).rsplit("#", 1)[-1]


@dataclass(frozen=True)
class Request:
    operation: str
    method: str
    path: str  # percent-encoded, from the root of the endpoint
    query: Sequence[tuple[str, str]] = ()
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    upload: Path | None = None  # streamed as the body, and read again on a retry
    payload_sha256: str | None = None
    idempotent: bool = False
    service: str = "sagemaker"
    stream: bool = False
    timeout: httpx.Timeout | None = None


@dataclass
class Reply:
    response: httpx.Response
    attempts: int
    gave_up: bool = False  # the last attempt was retryable too, but there were no attempts left

    def metadata(self) -> dict[str, Any]:
        """boto3's `ResponseMetadata`: RequestId (when sent), HTTPStatusCode, HTTPHeaders, RetryAttempts."""
        headers = dict(self.response.headers.items())
        metadata: dict[str, Any] = {}
        if "x-amzn-requestid" in headers:
            metadata["RequestId"] = headers["x-amzn-requestid"]
        metadata |= {
            "HTTPStatusCode": self.response.status_code,
            "HTTPHeaders": headers,
            "RetryAttempts": self.attempts - 1,
        }
        if self.gave_up:
            metadata["MaxAttemptsReached"] = True
        return metadata


class Transport:
    def __init__(
        self,
        *,
        endpoint_url: str,
        region: str,
        credentials: sigv4.Credentials | None,
        timeout: float,
        retry: RetryPolicy,
        http_transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.endpoint_url = endpoint_url.rstrip("/")
        self.region = region
        self.credentials = credentials
        self.retry = retry
        self.timeout = timeout
        self._sleep = sleep or time.sleep
        self._http = httpx.Client(timeout=timeout, transport=http_transport)

    def close(self) -> None:
        self._http.close()

    def send(self, request: Request) -> Reply:
        """Send with retries; the response is read unless `request.stream` (then the caller closes it)."""
        attempt = 0
        while True:
            attempt += 1
            last = attempt >= self.retry.max_attempts
            try:
                response = self._http.send(self._build(request), stream=request.stream)
            except httpx.TransportError as error:
                if last or not _may_retry(error, request.idempotent):
                    raise _connection_error(self.endpoint_url, error) from error
                self._sleep(self.retry.delay(attempt))
                continue
            if not (throttled(response) or (request.idempotent and retryable_status(response.status_code))):
                return Reply(response, attempt)
            if last:
                if request.stream:
                    response.read()
                return Reply(response, attempt, gave_up=True)
            response.close()
            self._sleep(self.retry.delay(attempt, response.headers.get("retry-after")))

    def presign(self, path: str, *, expires_in: int) -> str:
        """A GET link to `path` carrying its own signature (query-string SigV4), valid `expires_in` s."""
        if self.credentials is None:
            raise ValueError("presigning needs credentials (aws_access_key_id and aws_secret_access_key)")
        return sigv4.presign(
            method="GET",
            url=self.url(path),
            credentials=self.credentials,
            region=self.region,
            service="sagemaker",
            now=dt.datetime.now(dt.UTC),
            expires_in=expires_in,
        )

    def url(self, path: str, query: Sequence[tuple[str, str]] = ()) -> str:
        encoded = urlencode(list(query), quote_via=quote, safe="-_.~")
        return self.endpoint_url + path + (f"?{encoded}" if encoded else "")

    def _build(self, request: Request) -> httpx.Request:
        url = self.url(request.path, request.query)
        headers = dict(request.headers)
        content: bytes | Iterator[bytes] = request.body
        if request.upload is not None:
            headers["Content-Length"] = str(request.upload.stat().st_size)
            content = _chunks(request.upload)
        if request.payload_sha256 is not None and request.service != "s3":
            # A streamed upload is checked against the hash it declares (S3 signing adds the header itself).
            headers["X-Amz-Content-SHA256"] = request.payload_sha256
        credentials = self.credentials
        if credentials is not None:
            payload = request.payload_sha256 or hashlib.sha256(request.body).hexdigest()
            headers |= sigv4.sign(
                method=request.method,
                url=url,
                headers=headers,
                payload_sha256=payload,
                credentials=credentials,
                region=self.region,
                service=request.service,
                now=dt.datetime.now(dt.UTC),
            )
        timeout = request.timeout if request.timeout is not None else self._http.timeout
        return self._http.build_request(
            request.method, url, headers=headers, content=content, timeout=timeout
        )


def _may_retry(error: httpx.TransportError, idempotent: bool) -> bool:
    never_sent = isinstance(error, httpx.ConnectError | httpx.ConnectTimeout)
    return never_sent or idempotent


def _connection_error(endpoint_url: str, error: httpx.TransportError) -> errors.SageliteClientError:
    if isinstance(error, httpx.ConnectError | httpx.ConnectTimeout):
        return errors.EndpointConnectionError(endpoint_url, error)
    return errors.HTTPClientError(endpoint_url, error)


def _chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk
