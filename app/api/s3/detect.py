"""Is this request for the S3 API? Decided from the signature, as AWS-compatible local endpoints do.

One port serves both the SageMaker JSON API (`POST /` with `X-Amz-Target`) and S3 (path-style), so
the router needs a rule that never confuses them. Every AWS SDK signs with the service name in the
SigV4 credential scope, which is the rule:

1. `Authorization: AWS4-HMAC-SHA256 Credential=<key>/<date>/<region>/<service>/aws4_request, ...`
   (or the SigV4a form `AWS4-ECDSA-P256-SHA256 Credential=<key>/<date>/<service>/aws4_request`):
   S3 when `<service>` is `s3`. SageMaker requests say `sagemaker`.
2. Presigned URLs carry the same scope in the query: `X-Amz-Credential=<key>/<date>/<region>/s3/aws4_request`.
3. Signature V2, which only S3 still accepts: `Authorization: AWS <key>:<signature>`, or presigned
   `?AWSAccessKeyId=…&Signature=…`.

Anything else (unsigned requests, other services) is not S3 and goes to the rest of the application.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.types import Scope

_SIGV4_ALGORITHMS = ("AWS4-HMAC-SHA256", "AWS4-ECDSA-P256-SHA256")
_SERVICE = "s3"


def is_s3_request(scope: Scope) -> bool:
    """True when the request is signed (header or presigned query) for the `s3` service."""
    if scope.get("type") != "http":
        return False
    authorization = _header(scope, b"authorization")
    if authorization is not None:
        return _authorization_is_s3(authorization)
    return _query_is_s3(scope.get("query_string", b"").decode("latin-1"))


def credential_service(credential: str) -> str | None:
    """The service of a SigV4 credential `<key>/<date>[/<region>]/<service>/aws4_request`."""
    parts = credential.strip().split("/")
    if len(parts) < 4 or parts[-1] != "aws4_request":
        return None
    return parts[-2]


def _authorization_is_s3(value: str) -> bool:
    algorithm, _, params = value.strip().partition(" ")
    if algorithm == "AWS":
        return ":" in params  # Signature V2
    if algorithm not in _SIGV4_ALGORITHMS:
        return False
    for param in params.split(","):
        name, _, credential = param.strip().partition("=")
        if name == "Credential":
            return credential_service(credential) == _SERVICE
    return False


def _query_is_s3(query: str) -> bool:
    if "X-Amz-Credential" not in query and "AWSAccessKeyId" not in query:
        return False
    params = dict(parse_qsl(query, keep_blank_values=True))
    if "X-Amz-Credential" in params:
        return credential_service(params["X-Amz-Credential"]) == _SERVICE
    return "AWSAccessKeyId" in params and "Signature" in params


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None
