"""`POST /` in the Query protocol: read the form, pick the service the request was signed for, validate
against its botocore model, call the operation and answer in XML as botocore's query parser reads it.

Every answer carries `x-amzn-RequestId`; errors are `<ErrorResponse>` documents with the service's own
codes (`ValidationError`, `InvalidAction`, `AccessDenied`, …), never SageMaker's JSON.
"""

from __future__ import annotations

import logging
import uuid
from urllib.parse import parse_qsl

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from app.api.deps import caller_of
from app.api.query import detect, documents, form
from app.api.query.errors import InvalidAction, wire_code
from app.api.query.registry import QueryService
from app.api.query.services import SERVICES
from app.errors import SerializationError, ServiceError
from app.wire.validate import validate

logger = logging.getLogger(__name__)

CONTENT_TYPE = "text/xml"


async def endpoint(request: Request) -> Response:
    request_id = str(uuid.uuid4())
    service = SERVICES.get(detect.scope_service(request.scope) or "")
    try:
        caller = caller_of(request)
        fields = _fields(await request.body())
        if service is None:
            raise InvalidAction("This endpoint serves the Query protocol for: " + ", ".join(sorted(SERVICES)))
        operation = fields.get("Action", "")
        handler = service.handlers.get(operation)
        if handler is not None:
            request.state.operation = f"{service.name}:{operation}"
        else:
            raise InvalidAction(f"Could not find operation {operation} for version {fields.get('Version')}")
        operation_model = service.operation_model(operation)
        decoded = form.decode(fields, operation_model.input_shape)
        if service.precheck is not None:
            service.precheck(operation, decoded)
        params = validate(operation, decoded, service=service.model)
        output = await run_in_threadpool(handler, request.app.state.services, caller, params)
        body = documents.result(operation_model, output, namespace=service.namespace, request_id=request_id)
    except ServiceError as error:
        return error_response(error, service=service, request_id=request_id)
    except Exception:
        logger.exception("unhandled error", extra={"request_id": request_id})
        internal = ServiceError("An internal error occurred.")
        return error_response(internal, service=service, request_id=request_id)
    return Response(body, headers={"x-amzn-RequestId": request_id}, media_type=CONTENT_TYPE)


def error_response(error: ServiceError, *, service: QueryService | None, request_id: str) -> Response:
    """The error as an `<ErrorResponse>`, in the service's namespace when the request named one."""
    body = documents.error(
        code=wire_code(error),
        message=error.message,
        sender=error.http_status < 500,
        namespace=service.namespace if service else None,
        request_id=request_id,
    )
    return Response(
        body, status_code=error.http_status, headers={"x-amzn-RequestId": request_id}, media_type=CONTENT_TYPE
    )


def scope_error_response(error: ServiceError, scope_service: str | None) -> Response:
    """An error for a request the edge refused, in the namespace its credential scope names, if any."""
    return error_response(error, service=SERVICES.get(scope_service or ""), request_id=str(uuid.uuid4()))


def _fields(body: bytes) -> dict[str, str]:
    try:
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body)))
    except (UnicodeDecodeError, ValueError) as error:
        raise SerializationError("The body is not a form (application/x-www-form-urlencoded).") from error
