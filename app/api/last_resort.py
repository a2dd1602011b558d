"""The last resort: an error nothing else rendered (raised in edge middleware, in an exception handler, in
a dispatch) still answers 500 in the form of the surface it was sent to -- AWS JSON `InternalFailure`, S3
XML `InternalError`, REST problem JSON -- never as a bare text body or a dropped connection.

Once a response has started, nothing can be rendered any more: the error is re-raised for the server,
which closes the connection (a client then sees a truncated body, never a wrong one).
"""

from __future__ import annotations

import logging
import secrets

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.aws import protocol
from app.api.edge import surfaces
from app.api.query import protocol as query_protocol
from app.api.rest import responses as rest_responses
from app.api.s3 import responses as s3_responses
from app.api.s3 import xmlio
from app.api.s3.errors import S3Error
from app.errors import ServiceError

logger = logging.getLogger(__name__)

INTERNAL_MESSAGE = "An internal error occurred."


async def guarded(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
    """Run `app`; an exception before the response starts becomes its surface's 500."""
    if scope["type"] != "http":
        await app(scope, receive, send)
        return
    started = False

    async def tracking_send(message: Message) -> None:
        nonlocal started
        if message["type"] == "http.response.start":
            started = True
        await send(message)

    try:
        await app(scope, receive, tracking_send)
    except Exception:
        if started:
            raise
        logger.exception("unhandled error", extra={"method": scope["method"], "path": scope["path"]})
        await internal_error(scope)(scope, receive, send)


def internal_error(scope: Scope) -> Response:
    """A 500 in the protocol the request was sent in."""
    surface = surfaces.classify(scope)
    if surface is surfaces.Surface.S3:
        request_id = secrets.token_hex(8).upper()
        error = S3Error("InternalError", "We encountered an internal error. Please try again.", 500)
        body = xmlio.error(error, request_id, scope["path"])
        headers = {"x-amz-request-id": request_id, "x-amz-id-2": request_id, "Connection": "close"}
        return s3_responses.xml(body, 500, headers)
    if surface is surfaces.Surface.AWS_JSON:
        return protocol.error_response(ServiceError(INTERNAL_MESSAGE), protocol.new_request_id())
    if surface is surfaces.Surface.AWS_QUERY:
        return query_protocol.scope_error_response(ServiceError(INTERNAL_MESSAGE), None)
    return rest_responses.problem(500, "InternalFailure", INTERNAL_MESSAGE)
