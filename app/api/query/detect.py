"""Is a `POST /` a Query-protocol call? Decided from headers alone, before the body is read or signed.

botocore's query serializer sends `Content-Type: application/x-www-form-urlencoded; charset=utf-8` and no
`X-Amz-Target`; the JSON protocols (SageMaker's 1.1, CloudWatch's 1.0) always name their operation in
`X-Amz-Target`. So an unsigned or badly signed form post is still answered in the Query protocol's XML.
"""

from __future__ import annotations

from starlette.types import Scope

from app.api.s3.detect import credential_service

FORM_CONTENT_TYPE = b"application/x-www-form-urlencoded"


def is_query_request(scope: Scope) -> bool:
    """True for a form-encoded body without an `X-Amz-Target` header."""
    content_type = b""
    for name, value in scope.get("headers", []):
        if name == b"x-amz-target":
            return False
        if name == b"content-type":
            content_type = bytes(value)
    return content_type.split(b";", 1)[0].strip().lower() == FORM_CONTENT_TYPE


def scope_service(scope: Scope) -> str | None:
    """The service the request's SigV4 credential scope names (unverified: only to pick an error's form)."""
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            _, _, credential = bytes(value).decode("latin-1").partition("Credential=")
            return credential_service(credential.split(",", 1)[0]) if credential else None
    return None
