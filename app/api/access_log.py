"""The access log: one line per request on every surface, and the request metrics counted with it.

It wraps the whole application (`SageliteApp.add_edge_middleware`), outside the dispatch, so the AWS JSON
protocol and the S3 API, which bypass FastAPI's middleware, are logged as REST is, refusals included.
Each line is a record of the `app.api.access_log` logger: the configured format (`--log-format`) writes
it as text (`request method=GET path=/v1/vms status=200 ...`) or as one JSON object.

Fields: `request_id` (the `x-amzn-RequestId` or `x-amz-request-id` the client got; REST answers are given
one), `method`, `path` (never the query, which may hold a presigned signature), `operation` (the AWS
target, the S3 operation or the REST route template; `unknown` when it names none, logged as a warning
with the `target` it gave), `status`, `duration_ms`, `bytes_in`, `bytes_out`, `client` (the peer
address), `account` (when the edge verified a caller). Headers are never logged: no Authorization, no
security token.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.aws import protocol
from app.api.s3 import is_s3_request
from app.api.s3.routing import operation_of as s3_operation_of
from app.auth.caller import Caller
from app.telemetry.metrics import UNKNOWN_OPERATION, Telemetry

logger = logging.getLogger(__name__)

REQUEST_ID_HEADERS = (b"x-amzn-requestid", b"x-amz-request-id")
# Caller-controlled text in a log line is bounded: a path or target is never a way to flood the log.
MAX_LOGGED_CHARS = 512
# No response was started: the client went away first (nginx's convention).
CLIENT_CLOSED = 499


@dataclass
class _Exchange:
    """What the wrapper saw of one request while it was served."""

    status: int | None = None
    bytes_in: int = 0
    bytes_out: int = 0
    request_id: str | None = None


class AccessLog:
    def __init__(
        self, app: ASGIApp, *, telemetry: Callable[[], Telemetry | None], routes: Callable[[], list[Any]]
    ) -> None:
        self._app = app
        self._telemetry = telemetry
        self._routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started = time.perf_counter()
        seen = _Exchange()
        scope.setdefault("state", {})  # the edge puts the caller here; shared with every inner scope

        async def counting_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                seen.bytes_in += len(message.get("body", b""))
            return message

        async def watching_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                seen.status = message["status"]
                seen.request_id = _request_id(message)
            elif message["type"] == "http.response.body":
                seen.bytes_out += len(message.get("body", b""))
            await send(message)

        try:
            await self._app(scope, counting_receive, watching_send)
        except BaseException:
            if seen.status is None:
                seen.status = 500  # what the server answers for an exception no handler caught
            raise
        finally:
            self._record(scope, seen, time.perf_counter() - started)

    def _record(self, scope: Scope, seen: _Exchange, seconds: float) -> None:
        operation = self._operation(scope)
        status = CLIENT_CLOSED if seen.status is None else seen.status
        telemetry = self._telemetry()
        if telemetry is not None:
            telemetry.request_done(operation=operation or UNKNOWN_OPERATION, status=status, seconds=seconds)
        caller: Caller | None = scope["state"].get("caller")
        fields: dict[str, Any] = {
            "request_id": seen.request_id,
            "method": scope["method"],
            "path": scope["path"][:MAX_LOGGED_CHARS],
            "operation": operation or UNKNOWN_OPERATION,
            "status": status,
            "duration_ms": round(seconds * 1000, 3),
            "bytes_in": seen.bytes_in,
            "bytes_out": seen.bytes_out,
            "client": (scope.get("client") or ("-",))[0],
            "account": None if caller is None else caller.account_id,
        }
        if operation is None:
            target = _header(scope, b"x-amz-target")
            fields["target"] = None if target is None else target[:MAX_LOGGED_CHARS]
            logger.warning("request for an unknown operation", extra=fields)
        else:
            logger.info("request", extra=fields)

    def _operation(self, scope: Scope) -> str | None:
        """The AWS target, the S3 operation or the REST route template the request is for, if any."""
        route = scope.get("route")
        if route is None and not is_s3_request(scope) and scope["path"] != "/":
            route = self._matching_route(scope)  # a request refused before routing still names its route
        template = getattr(route, "path", None)
        if isinstance(template, str):
            return f"{scope['method']} {template}"
        if is_s3_request(scope):
            return s3_operation_of(scope)
        named: str | None = scope.get("state", {}).get("operation")
        if named is not None:  # set by an endpoint that read the operation from the body (Query protocol)
            return named
        if scope["path"] == "/" and scope["method"] == "POST":
            return protocol.operation_of(_header(scope, b"x-amz-target"))
        return None

    def _matching_route(self, scope: Scope) -> Any:
        for route in self._routes():
            match, _ = route.matches(scope)
            if match is Match.FULL:
                return route
        return None


def _request_id(start: Message) -> str:
    """The id the response carries; REST responses carry none of their own, so they get one here."""
    headers: list[tuple[bytes, bytes]] = start.setdefault("headers", [])
    for name, value in headers:
        if name.lower() in REQUEST_ID_HEADERS:
            return value.decode("latin-1")
    request_id = str(uuid.uuid4())
    headers.append((b"x-amzn-requestid", request_id.encode()))
    return request_id


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None
