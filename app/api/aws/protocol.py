"""`POST /` endpoint: parse the target and body, validate, call the operation, render as botocore expects.

Errors are HTTP 4xx with `{"__type": code, "message": text}` and the `x-amzn-ErrorType` header; every
response carries an `x-amzn-RequestId`. Every operation acts for the caller the edge verified
(`request.state.caller`); a request without one never reaches a service.
"""

from __future__ import annotations

import logging
import uuid

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from app.api import encoding
from app.api.aws.operations import HANDLERS, READ_ONLY
from app.api.body import parse_json, read_limited
from app.api.deps import caller_of
from app.errors import ServiceError, UnknownOperation
from app.wire.validate import validate

logger = logging.getLogger(__name__)

CONTENT_TYPE = "application/x-amz-json-1.1"
TARGET_PREFIX = "SageMaker."


async def endpoint(request: Request) -> Response:
    request_id = str(uuid.uuid4())
    try:
        caller = caller_of(request)
        operation = _operation(request.headers.get("x-amz-target"))
        params = validate(operation, parse_json(await read_limited(request)))
        services = request.app.state.services
        handler = HANDLERS[operation]
        if operation in READ_ONLY:
            result = handler(services, caller, params)
        else:
            result = await run_in_threadpool(handler, services, caller, params)
        body = encoding.aws_json(result)
    except ServiceError as error:
        return error_response(error, request_id)
    except Exception:
        logger.exception("unhandled error", extra={"request_id": request_id})
        return error_response(ServiceError("An internal error occurred."), request_id)
    return Response(body, headers={"x-amzn-RequestId": request_id}, media_type=CONTENT_TYPE)


def error_response(error: ServiceError, request_id: str) -> Response:
    body = encoding.aws_json({"__type": error.code, "message": error.message})
    headers = {"x-amzn-RequestId": request_id, "x-amzn-ErrorType": error.code}
    return Response(body, status_code=error.http_status, headers=headers, media_type=CONTENT_TYPE)


def _operation(target: str | None) -> str:
    if not target:
        raise UnknownOperation("Missing X-Amz-Target header; expected SageMaker.<Operation>.")
    prefix, _, operation = target.partition(".")
    if f"{prefix}." != TARGET_PREFIX or operation not in HANDLERS:
        raise UnknownOperation(f"Unknown operation {target}")
    return operation
