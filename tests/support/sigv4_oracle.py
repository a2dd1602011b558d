"""Requests signed by botocore's own signers (the oracle), turned into what a server receives."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore import auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from app.auth.caller import Caller
from app.auth.sigv4 import KeyRecord

NOW = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
ACCESS_KEY = "AKIAEXAMPLE0000001"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
CALLER = Caller(account_id="123456789012", access_key_id=ACCESS_KEY)
RECORD = KeyRecord(access_key_id=ACCESS_KEY, secret_access_key=SECRET, caller=CALLER)


class Keys:
    """An in-memory KeyLookup."""

    def __init__(self, *records: KeyRecord) -> None:
        self.records = {record.access_key_id: record for record in records or (RECORD,)}

    def lookup(self, access_key_id: str) -> KeyRecord | None:
        return self.records.get(access_key_id)


@dataclass(frozen=True)
class Received:
    """A request as the server's edge sees it: the keyword arguments of `verify_request`."""

    method: str
    raw_path: str
    query_string: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytes
    body_known: bool = True

    def kwargs(self) -> dict[str, Any]:
        sha256 = hashlib.sha256(self.body).hexdigest() if self.body_known else None
        return {
            "method": self.method,
            "raw_path": self.raw_path,
            "query_string": self.query_string,
            "headers": self.headers,
            "body_sha256": sha256,
        }

    def header(self, name: str) -> str | None:
        return next((v.decode("latin-1") for n, v in self.headers if n.decode().lower() == name), None)

    def with_header(self, name: str, value: str) -> Received:
        """The same request with one header's value replaced (or added)."""
        kept = [(n, v) for n, v in self.headers if n.decode().lower() != name]
        return replace(self, headers=[*kept, (name.encode(), value.encode("latin-1"))])


@contextmanager
def frozen(at: dt.datetime) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            auth, "get_current_datetime", lambda *a, **k: at.astimezone(dt.UTC).replace(tzinfo=None)
        )
        yield


def credentials(secret: str = SECRET, token: str | None = None, key: str = ACCESS_KEY) -> Credentials:
    return Credentials(key, secret, token)


def signed(
    method: str,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    body: bytes = b"",
    service: str = "sagemaker",
    region: str = "us-east-1",
    creds: Credentials | None = None,
    at: dt.datetime = NOW,
    context: Mapping[str, Any] | None = None,
) -> Received:
    """Signed in the Authorization header by SigV4Auth (S3SigV4Auth for service "s3")."""
    request = AWSRequest(method=method, url=url, headers=dict(headers or {}), data=body)
    request.context.update(context or {})
    signer = auth.S3SigV4Auth if service == "s3" else auth.SigV4Auth
    with frozen(at):
        signer(creds or credentials(), service, region).add_auth(request)
    return received(request)


def presigned(
    method: str,
    url: str,
    *,
    expires: int = 3600,
    service: str = "s3",
    region: str = "us-east-1",
    creds: Credentials | None = None,
    at: dt.datetime = NOW,
    headers: Mapping[str, str] | None = None,
) -> Received:
    """Signed in the query string by S3SigV4QueryAuth (SigV4QueryAuth for other services)."""
    request = AWSRequest(method=method, url=url, headers=dict(headers or {}))
    signer = auth.S3SigV4QueryAuth if service == "s3" else auth.SigV4QueryAuth
    with frozen(at):
        signer(creds or credentials(), service, region, expires=expires).add_auth(request)
    return received(request)


def received(request: AWSRequest) -> Received:
    prepared = request.prepare()
    parts = urlsplit(prepared.url)
    # The request's own headers keep repeated names (the prepared copy is a plain dict).
    headers = [(name.encode(), value.encode("latin-1")) for name, value in request.headers.items()]
    if not any(name.lower() == b"host" for name, _ in headers):
        headers.insert(0, (b"host", auth._host_from_url(prepared.url).encode()))
    body = prepared.body or b""
    return Received(
        method=prepared.method,
        raw_path=parts.path,
        query_string=parts.query.encode(),
        headers=headers,
        body=body if isinstance(body, bytes) else body.encode(),
    )
