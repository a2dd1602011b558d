"""Which surface a request is for, decided before it is authenticated, so a refusal speaks its protocol.

- open: exactly `GET|HEAD` of `/healthz` (unsigned: a signed one is verified, so an admin gets the
  details), the OpenAPI document and the docs pages, the job credentials endpoint (its own bearer token),
  and `/metrics` with a bearer token (a scraper's, checked by the route); nothing else is served without
  a signature;
- S3: signed for the `s3` service (the credential scope, see `app.api.s3.detect`), or, without credentials,
  a request that addresses a bucket (`/<bucket>[/<key>]` outside `/v1` and the open paths): S3 clients
  expect S3's XML `AccessDenied`, not problem JSON;
- the AWS Query protocol (STS, IAM): `POST /` with a form body and no `X-Amz-Target`
  (`app.api.query.detect`), dispatched by the credential scope's service;
- the AWS JSON protocol: any other `POST /`;
- the web console: `/console` and everything under it (unless signed for S3), which authenticates its
  own session cookie (`app.console.guard`); no other surface reads cookies;
- REST: everything else.
"""

from __future__ import annotations

import enum

from starlette.types import Scope

from app.api.query.detect import is_query_request
from app.api.s3 import is_s3_request
from app.auth import job_credentials

OPEN_PATHS = frozenset({"/healthz", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"})
# Authenticated by its own bearer token (a running job's), not by SigV4: the job has no keys before it asks.
BEARER_PATHS = frozenset({job_credentials.PATH})
# Open to probes; with a signature, verified like any request, so the route knows an admin.
OPEN_UNLESS_SIGNED = frozenset({"/healthz"})
# Prometheus cannot sign: it sends `Authorization: Bearer <metrics token>`, which the route checks.
METRICS_PATH = "/metrics"
CONSOLE_PATH = "/console"
# Credentials in the query: SigV4 presigned URLs and SigV2's (refused, but still credentials).
_QUERY_CREDENTIALS = (b"X-Amz-Credential=", b"X-Amz-Signature=", b"AWSAccessKeyId=", b"X-Amz-Algorithm=")
_DOWNLOAD_SUFFIXES = ("/model", "/output")


class Surface(enum.Enum):
    OPEN = "open"
    S3 = "s3"
    AWS_JSON = "aws-json"
    AWS_QUERY = "aws-query"
    REST = "rest"
    CONSOLE = "console"


def classify(scope: Scope) -> Surface:
    method, path = scope["method"], scope["path"]
    if method in ("GET", "HEAD") and _open(scope, path):
        return Surface.OPEN
    if is_s3_request(scope):
        return Surface.S3
    if path == "/" and method == "POST":
        return Surface.AWS_QUERY if is_query_request(scope) else Surface.AWS_JSON
    if path == CONSOLE_PATH or path.startswith(CONSOLE_PATH + "/"):
        return Surface.CONSOLE
    if not has_credentials(scope) and _addresses_bucket(path):
        return Surface.S3
    return Surface.REST


def _open(scope: Scope, path: str) -> bool:
    if path in OPEN_UNLESS_SIGNED and has_credentials(scope):
        return False
    if path == METRICS_PATH:
        return _bearer(scope)
    return path in OPEN_PATHS or path in BEARER_PATHS


def _bearer(scope: Scope) -> bool:
    return any(
        name == b"authorization" and value[:7].lower() == b"bearer " for name, value in scope["headers"]
    ) and not has_query_credentials(scope)


def has_credentials(scope: Scope) -> bool:
    return any(name == b"authorization" for name, _ in scope["headers"]) or has_query_credentials(scope)


def has_query_credentials(scope: Scope) -> bool:
    query: bytes = scope.get("query_string", b"")
    return any(marker in query for marker in _QUERY_CREDENTIALS)


def is_presigned(scope: Scope) -> bool:
    return b"X-Amz-Signature=" in scope.get("query_string", b"")


def presign_allowed(surface: Surface, method: str, path: str) -> bool:
    """Query-string signatures: any S3 request; on REST only the downloads a link may be handed out for."""
    if surface is Surface.S3:
        return True
    if surface is not Surface.REST or method not in ("GET", "HEAD"):
        return False
    if path.startswith("/v1/objects/"):
        return True
    parts = path.split("/")
    return len(parts) == 5 and path.startswith("/v1/training-jobs/") and path.endswith(_DOWNLOAD_SUFFIXES)


def streams_body(surface: Surface, method: str, path: str) -> bool:
    """Bodies the handler streams to the store, checked against the declared hash while they are stored;
    every other body is small, read at the edge and hashed before the signature is checked."""
    if surface is Surface.S3:
        return True
    return surface is Surface.REST and method == "PUT" and path.startswith("/v1/objects/")


def _addresses_bucket(path: str) -> bool:
    bucket = path.lstrip("/").partition("/")[0]
    return bool(bucket) and bucket != "v1" and path not in OPEN_PATHS and path != METRICS_PATH
