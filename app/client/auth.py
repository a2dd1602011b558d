"""`SigV4Auth`: SigV4 signing for any `httpx` client, e.g. `httpx.Client(auth=SigV4Auth(...))`.

Signs `host`, `content-type`, `content-md5`, `range` and every `x-amz-*` header: the ones a request's
meaning depends on, and none a proxy may rewrite. The payload hash is the body's, or what the request
declares in `x-amz-content-sha256` (`UNSIGNED-PAYLOAD`, or the hash of a file streamed as the body), and
is always sent in that header, which the server checks streamed uploads against.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Generator

import httpx

from app.client import sigv4

_SIGNED = frozenset({"host", "content-type", "content-md5", "range"})


class SigV4Auth(httpx.Auth):
    """Signs each request for one service and region with one set of credentials."""

    # The body is read only when its hash is needed: an upload that declares `x-amz-content-sha256` (a
    # file's hash, or UNSIGNED-PAYLOAD) streams. Reading happens in `auth_flow`, so sync clients only.
    requires_request_body = False

    def __init__(
        self,
        credentials: sigv4.Credentials,
        *,
        region: str = "us-east-1",
        service: str = "sagemaker",
        now: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.credentials = credentials
        self.region = region
        self.service = service
        self._now = now or (lambda: dt.datetime.now(dt.UTC))

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        payload = request.headers.get("x-amz-content-sha256") or hashlib.sha256(request.read()).hexdigest()
        headers = {
            name: value
            for name, value in request.headers.items()
            if (name.lower() in _SIGNED or name.lower().startswith("x-amz-"))
            and name.lower() != "x-amz-content-sha256"
        }
        # Declared even where the service does not require it (S3 signing adds it): a streamed upload is
        # checked against it.
        headers["X-Amz-Content-SHA256"] = request.headers["X-Amz-Content-SHA256"] = payload
        request.headers.update(
            sigv4.sign(
                method=request.method,
                url=str(request.url),
                headers=headers,
                payload_sha256=payload,
                credentials=self.credentials,
                region=self.region,
                service=self.service,
                now=self._now(),
            )
        )
        yield request
