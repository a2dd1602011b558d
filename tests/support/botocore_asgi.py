"""Real boto3 clients over the real ASGI app, in-process: a `before-send` hook hands each request botocore
signed to a TestClient of the app and gives botocore the app's answer to parse."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import boto3
import botocore.session
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.config import Config
from fastapi.testclient import TestClient

from tests.support.server import ROOT_KEY, ROOT_SECRET

# The TestClient's own host: botocore signs the Host header, so it must be the one the app sees.
ENDPOINT = "http://testserver"


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


class _Forward:
    def __init__(self, api: TestClient) -> None:
        self._api = api

    def __call__(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse:
        url = urlsplit(request.url)
        body = request.body if isinstance(request.body, bytes) else (request.body or "").encode()
        answer = self._api.request(
            request.method,
            url.path + (f"?{url.query}" if url.query else ""),
            headers=dict(request.headers.items()),
            content=body,
            auth=None,
        )
        return AWSResponse(request.url, answer.status_code, dict(answer.headers), _Raw(answer.content))


def client(
    api: TestClient,
    service: str,
    *,
    key: str = ROOT_KEY,
    secret: str = ROOT_SECRET,
    token: str | None = None,
    validate: bool = True,
    session: botocore.session.Session | None = None,
) -> Any:
    """A boto3 client of `service` whose requests the app `api` answers (`validate=False`: botocore sends
    what its own parameter validation would refuse, so the server's is what answers; `session`: a botocore
    session of its own, as one that loads other models)."""
    made = boto3.Session(botocore_session=session).client(
        service,
        endpoint_url=ENDPOINT,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        aws_session_token=token,
        config=Config(retries={"max_attempts": 1}, parameter_validation=validate),
    )
    made.meta.events.register("before-send", _Forward(api))
    return made
