"""A refused request, answered in its surface's protocol with the code and status AWS uses.

- AWS JSON (`POST /`): `{"__type", "message"}` with `x-amzn-ErrorType`; `MissingAuthenticationTokenException`
  is 403 as on SageMaker, the other authentication errors 400 as JSON-protocol services answer them.
- S3: XML `AccessDenied`, `InvalidAccessKeyId`, `SignatureDoesNotMatch`, `RequestTimeTooSkewed` (403),
  the malformed-authorization codes (400), `XAmzContentSHA256Mismatch` (400) for a body not the one signed.
- REST: problem JSON, 401 (with `WWW-Authenticate`) without credentials, 403 for anything wrong.
"""

from __future__ import annotations

import secrets
import uuid

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Scope

from app.api import throttling
from app.api.aws import protocol
from app.api.edge.surfaces import Surface, has_query_credentials
from app.api.rest.responses import problem
from app.api.s3.routing import error_response as s3_error_response
from app.auth.throttle import Decision
from app.errors import ServiceError

# reason -> (code, HTTP status) on the AWS JSON protocol.
_JSON = {
    "missing": ("MissingAuthenticationTokenException", 403),
    "unknown_key": ("UnrecognizedClientException", 400),
    "bad_token": ("UnrecognizedClientException", 400),
    "incomplete": ("IncompleteSignatureException", 400),
    "unsupported": ("IncompleteSignatureException", 400),
    "mismatch": ("InvalidSignatureException", 400),
    "expired": ("InvalidSignatureException", 400),
    "payload": ("InvalidSignatureException", 400),
}
# reason -> (code, HTTP status) on S3, for header signatures; presigned URLs differ where noted below.
_S3 = {
    "missing": ("AccessDenied", 403),
    "unknown_key": ("InvalidAccessKeyId", 403),
    "bad_token": ("InvalidToken", 400),
    "incomplete": ("AuthorizationHeaderMalformed", 400),
    "unsupported": ("InvalidRequest", 400),
    "mismatch": ("SignatureDoesNotMatch", 403),
    "expired": ("RequestTimeTooSkewed", 403),
    "payload": ("XAmzContentSHA256Mismatch", 400),
}
_S3_PRESIGNED = {
    "incomplete": ("AuthorizationQueryParametersError", 400),
    "unsupported": ("AuthorizationQueryParametersError", 400),
    "expired": ("AccessDenied", 403),
}
_S3_MESSAGES = {
    "missing": "Access Denied",
    "unknown_key": "The AWS Access Key Id you provided does not exist in our records.",
    "mismatch": "The request signature we calculated does not match the signature you provided. "
    "Check your key and signing method.",
}


class Refused(ServiceError):
    """An authentication refusal, with the code and status one surface gives it."""

    def __init__(self, code: str, message: str, http_status: int) -> None:
        super().__init__(message)
        self.code = code
        self.http_status = http_status


def refusal(surface: Surface, scope: Scope, reason: str, message: str) -> Response:
    """The response refusing this request, in the protocol of its surface."""
    if surface is Surface.S3:
        table = {**_S3, **_S3_PRESIGNED} if has_query_credentials(scope) else _S3
        code, status = table.get(reason, ("AccessDenied", 403))
        error = Refused(code, _S3_MESSAGES.get(reason, message), status)
        return s3_error_response(Request(scope), error, secrets.token_hex(8).upper())
    if surface is Surface.AWS_JSON:
        code, status = _JSON.get(reason, ("InvalidSignatureException", 400))
        return protocol.error_response(Refused(code, message, status), str(uuid.uuid4()))
    code, _ = _JSON.get(reason, ("InvalidSignatureException", 400))
    if reason == "missing":
        response = problem(401, code, message)
        response.headers["WWW-Authenticate"] = "AWS4-HMAC-SHA256"
        return response
    return problem(403, code, message)


def failure(surface: Surface, scope: Scope, error: ServiceError) -> Response:
    """A request the edge could not read (too large, malformed), in the protocol of its surface."""
    if surface is Surface.AWS_JSON:
        return protocol.error_response(error, str(uuid.uuid4()))
    if surface is Surface.S3:
        return s3_error_response(Request(scope), error, secrets.token_hex(8).upper())
    return problem(error.rest_status, error.code, error.message)


def throttled(surface: Surface, scope: Scope, decision: Decision) -> Response:
    """A request over its key's rate, answered with `Retry-After` in its surface's protocol."""
    if surface is Surface.AWS_JSON:
        return throttling.aws_json(decision, request_id=str(uuid.uuid4()))
    if surface is Surface.S3:
        request = Request(scope)
        return throttling.s3(
            decision,
            request_id=secrets.token_hex(8).upper(),
            resource=scope["path"],
            method=scope["method"],
            has_body=request.headers.get("content-length", "0") != "0"
            or "transfer-encoding" in request.headers,
        )
    return throttling.rest(decision)
