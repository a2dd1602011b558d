"""`POST /` endpoint of the AWS JSON services (`app.api.aws.registry`): find the service by its target,
check the request was signed for it, parse and validate the body against its model, call the operation,
and render the result or the error as botocore expects.

Errors are HTTP 4xx with `{"__type": code, "message": text}` and the `x-amzn-ErrorType` header (plus
`x-amzn-query-error` for services that once spoke the Query protocol); every response carries an
`x-amzn-RequestId`. Every operation acts for the caller the edge verified (`request.state.caller`); a
request without one never reaches a service.
"""

from __future__ import annotations

import functools
import logging
import uuid

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from app.api import encoding
from app.api.aws import registry
from app.api.aws.registry import JsonService
from app.api.body import read_json
from app.api.deps import caller_of
from app.errors import ServiceError, UnknownOperation, ValidationError
from app.wire import model
from app.wire.validate import validate

logger = logging.getLogger(__name__)

# SageMaker's, kept for the callers that answer before the target is known.
CONTENT_TYPE = registry.SAGEMAKER.content_type
TARGET_PREFIX = f"{registry.SAGEMAKER.target_prefix}."


class WrongCredentialScope(ServiceError):
    """The request was signed for another service than the one its target names."""

    code = "InvalidSignatureException"
    http_status = 400


async def endpoint(request: Request) -> Response:
    request_id = new_request_id()
    target = request.headers.get("x-amz-target")
    service = registry.service_of(target)
    try:
        caller = caller_of(request)
        _check_scope(request, service)
        operation = _operation(target, service)
        body = await read_json(request)
        if service.precheck is not None:
            service.precheck(operation, body)
        params = validate(operation, body, service=service.model)
        services = request.app.state.services
        handler = service.handlers[operation]
        if operation in service.read_only and service is registry.SAGEMAKER:
            result = handler(services, caller, params)
        else:  # writes wait on SQLite's lock; CloudWatch's reads go to files: both leave the event loop
            result = await run_in_threadpool(handler, services, caller, params)
        body = encoding.aws_json(result)
    except ServiceError as error:
        return error_response(error, request_id, service=service)
    except Exception:
        logger.exception("unhandled error", extra={"request_id": request_id})
        return error_response(ServiceError("An internal error occurred."), request_id, service=service)
    return Response(body, headers={"x-amzn-RequestId": request_id}, media_type=service.content_type)


def new_request_id() -> str:
    return str(uuid.uuid4())


def error_response(
    error: ServiceError, request_id: str, *, service: JsonService = registry.SAGEMAKER
) -> Response:
    code = service.validation_code if type(error) is ValidationError else error.code
    headers = {"x-amzn-RequestId": request_id, "x-amzn-ErrorType": code}
    error_type = code
    if service.query_compatible:
        fault = "Sender" if error.http_status < 500 else "Receiver"
        headers["x-amzn-query-error"] = f"{code};{fault}"
        error_type = _error_shapes(service.model).get(code, code)
    body = encoding.aws_json({"__type": error_type, "message": error.message})
    return Response(body, status_code=error.http_status, headers=headers, media_type=service.content_type)


@functools.cache
def _error_shapes(service_model: str) -> dict[str, str]:
    """Query error code → the name of the modeled error shape, which the JSON protocol's `__type` holds."""
    shapes = model.service_model(service_model).error_shapes
    return {shape.metadata.get("error", {}).get("code", shape.name): shape.name for shape in shapes}


def _check_scope(request: Request, service: JsonService) -> None:
    verified = getattr(request.state, "signature", None)
    if verified is not None and verified.service != service.signing_name:
        expected = service.signing_name
        raise WrongCredentialScope(f"Credential should be scoped to correct service: '{expected}'. ")


def _operation(target: str | None, service: JsonService) -> str:
    if not target:
        raise UnknownOperation("Missing X-Amz-Target header; expected SageMaker.<Operation>.")
    prefix, _, operation = target.partition(".")
    if prefix != service.target_prefix or operation not in service.handlers:
        raise UnknownOperation(f"Unknown operation {target}")
    return operation


def operation_of(target: str | None) -> str | None:
    """The operation an `X-Amz-Target` names, or None for a missing or unknown one."""
    try:
        return _operation(target, registry.service_of(target))
    except UnknownOperation:
        return None
