"""The answer to a throttled request on each surface, each with a `Retry-After` in whole seconds.

The edge asks `app.auth.throttle.Throttle` for a decision and, when refused, returns one of these
without reading the body: AWS JSON 400 `ThrottlingException`, S3 503 `SlowDown`, REST 429 problem JSON.
botocore retries the first two by default (its legacy and standard retry modes); `app.client` retries
all three.
"""

from __future__ import annotations

from starlette.responses import Response

from app.api.aws import protocol, registry
from app.api.aws.registry import JsonService
from app.api.rest import responses as rest_responses
from app.api.s3 import errors as s3_errors
from app.api.s3 import responses as s3_responses
from app.api.s3 import xmlio
from app.auth.throttle import Decision
from app.errors import Throttled

SLOW_DOWN_MESSAGE = "Please reduce your request rate."


def aws_json(decision: Decision, *, request_id: str, service: JsonService = registry.SAGEMAKER) -> Response:
    """`POST /`: HTTP 400 `{"__type": "ThrottlingException", "message": "Rate exceeded"}`."""
    return _with_retry_after(protocol.error_response(Throttled(), request_id, service=service), decision)


def s3(decision: Decision, *, request_id: str, resource: str, method: str, has_body: bool) -> Response:
    """The S3 API: HTTP 503 `<Error><Code>SlowDown</Code>...`; no body for HEAD.

    With `has_body` (a request body left unread, perhaps behind `Expect: 100-continue`), the connection
    is closed, so the client and the server do not disagree about where the next request starts."""
    error = s3_errors.S3Error("SlowDown", SLOW_DOWN_MESSAGE, 503)
    headers = {"x-amz-request-id": request_id, "x-amz-id-2": request_id}
    if has_body:
        headers["Connection"] = "close"
    if method == "HEAD":
        response = s3_responses.empty(error.http_status, headers)
    else:
        response = s3_responses.xml(xmlio.error(error, request_id, resource), error.http_status, headers)
    return _with_retry_after(response, decision)


def rest(decision: Decision) -> Response:
    """REST `/v1`: HTTP 429 problem JSON with code `ThrottlingException`."""
    error = Throttled()
    return _with_retry_after(rest_responses.problem(error.rest_status, error.code, error.message), decision)


def _with_retry_after(response: Response, decision: Decision) -> Response:
    response.headers["Retry-After"] = decision.retry_after_header
    return response
