"""REST rendering: JSON with ISO 8601 timestamps, and errors as RFC 9457 problem details."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Match

from app.api import encoding
from app.errors import ServiceError


class JSON(JSONResponse):
    """JSON with our encoding (ISO 8601 timestamps); a JSONResponse, so documents show JSON bodies."""

    def render(self, content: Any) -> bytes:
        return encoding.rest_json(content)


def problem(status: int, code: str, detail: str, headers: dict[str, str] | None = None) -> Response:
    """Problem details titled by what happened (`NotFound`, `Conflict`); `code` is the AWS error code."""
    body = {"type": "about:blank", "title": title(status), "status": status, "detail": detail, "code": code}
    return Response(
        encoding.rest_json(body), status_code=status, headers=headers, media_type="application/problem+json"
    )


def title(status: int) -> str:
    """`NotFound` for 404, `TooManyRequests` for 429: the status's phrase, as one word."""
    return "".join(HTTPStatus(status).phrase.replace("-", " ").split())


async def service_error(_: Request, error: Exception) -> Response:
    assert isinstance(error, ServiceError)
    return problem(error.rest_status, error.code, error.message)


async def request_validation_error(_: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    details = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors())
    return problem(400, "ValidationException", details)


async def unexpected_error(_: Request, error: Exception) -> Response:
    """Anything else a route raised: 500 as problem JSON (the server's log has the traceback)."""
    return problem(500, "InternalFailure", "An internal error occurred.")


async def http_error(request: Request, error: Exception) -> Response:
    """Errors the framework raises itself (unknown route, wrong method) as problem JSON too."""
    assert isinstance(error, StarletteHTTPException)
    headers = dict(error.headers or {})
    if error.status_code == 405:
        # The router names only the methods of the last route that matched the path; several routes
        # may serve one path (GET and DELETE of a job), and a client is owed all of them.
        headers["Allow"] = ", ".join(allowed_methods(request))
    return problem(error.status_code, title(error.status_code), str(error.detail), headers)


_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this request's path (asked of the routes themselves, through
    Starlette's public `matches`, so included routers answer too)."""
    routes = request.app.router.routes
    return [
        method
        for method in _METHODS
        if any(route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes)
    ]
