"""A refused request, answered in its surface's protocol with the code and status AWS uses.

The codes and statuses are `app.auth.sigv4_errors`'s; this module gives them each surface's form:
- AWS JSON (`POST /`): `{"__type", "message"}` with `x-amzn-ErrorType` (400, as JSON-protocol services);
- the Query protocol (STS, IAM): `<ErrorResponse>` XML, `InvalidClientTokenId`, `SignatureDoesNotMatch`,
  `MissingAuthenticationToken` (403), `IncompleteSignature` (400);
- S3: XML `AccessDenied`, `InvalidAccessKeyId`, `SignatureDoesNotMatch`, `RequestTimeTooSkewed` (403),
  the malformed-authorization codes (400);
- REST: problem JSON with the JSON protocol's code, 401 (with `WWW-Authenticate`) without credentials, 403
  for anything wrong.
"""

from __future__ import annotations

import secrets
import uuid

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Scope

from app.api import throttling
from app.api.aws import protocol, registry
from app.api.edge.surfaces import Surface
from app.api.query import detect as query_detect
from app.api.query import protocol as query_protocol
from app.api.rest.responses import problem
from app.api.s3.routing import error_response as s3_error_response
from app.auth import sigv4_errors
from app.auth.sigv4_errors import AuthFailure
from app.auth.throttle import Decision
from app.errors import ServiceError, Throttled


class Refused(ServiceError):
    """An authentication refusal, with the code and status one surface gives it."""

    def __init__(self, code: str, message: str, http_status: int) -> None:
        super().__init__(message)
        self.code = code
        self.http_status = http_status


def refusal(surface: Surface, scope: Scope, failure: AuthFailure) -> Response:
    """The response refusing this request, in the protocol of its surface."""
    if surface is Surface.S3:
        wire = sigv4_errors.s3_error(failure)
        error = Refused(wire.code, wire.message, wire.http_status)
        return s3_error_response(Request(scope), error, secrets.token_hex(8).upper())
    if surface is Surface.AWS_QUERY:
        wire = sigv4_errors.query_error(failure)
        return _query_error(scope, Refused(wire.code, wire.message, wire.http_status))
    wire = sigv4_errors.json_error(failure)
    if surface is Surface.AWS_JSON:
        refused = Refused(wire.code, wire.message, wire.http_status)
        return protocol.error_response(refused, str(uuid.uuid4()), service=_json_service(scope))
    status = sigv4_errors.rest_status(failure)
    response = problem(status, wire.code, wire.message)
    if status == 401:
        response.headers["WWW-Authenticate"] = "AWS4-HMAC-SHA256"
    return response


def failure(surface: Surface, scope: Scope, error: ServiceError) -> Response:
    """A request the edge could not read (too large, malformed), in the protocol of its surface."""
    if surface is Surface.AWS_JSON:
        return protocol.error_response(error, str(uuid.uuid4()), service=_json_service(scope))
    if surface is Surface.AWS_QUERY:
        return _query_error(scope, error)
    if surface is Surface.S3:
        return s3_error_response(Request(scope), error, secrets.token_hex(8).upper())
    return problem(error.rest_status, error.code, error.message)


def throttled(surface: Surface, scope: Scope, decision: Decision) -> Response:
    """A request over its key's rate, answered with `Retry-After` in its surface's protocol."""
    if surface is Surface.AWS_JSON:
        return throttling.aws_json(decision, request_id=str(uuid.uuid4()), service=_json_service(scope))
    if surface is Surface.AWS_QUERY:  # STS and IAM: 400 `Throttling`, which botocore retries
        response = _query_error(scope, Throttled())
        response.headers["Retry-After"] = decision.retry_after_header
        return response
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


def _query_error(scope: Scope, error: ServiceError) -> Response:
    return query_protocol.scope_error_response(error, query_detect.scope_service(scope))


def _json_service(scope: Scope) -> registry.JsonService:
    """The AWS JSON service a request names in its `X-Amz-Target`: its refusals speak that service's form."""
    target = next((bytes(v).decode("latin-1") for k, v in scope["headers"] if k == b"x-amz-target"), None)
    return registry.service_of(target)
