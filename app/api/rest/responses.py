"""REST rendering: JSON with ISO 8601 timestamps, and errors as RFC 9457 problem details."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response

from app.api import encoding
from app.errors import ServiceError


class JSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return encoding.rest_json(content)


def problem(status: int, code: str, detail: str, headers: dict[str, str] | None = None) -> Response:
    body = {"type": "about:blank", "title": code, "status": status, "detail": detail, "code": code}
    return Response(
        encoding.rest_json(body), status_code=status, headers=headers, media_type="application/problem+json"
    )


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


async def http_error(_: Request, error: Exception) -> Response:
    """Errors the framework raises itself (unknown route, wrong method) as problem JSON too."""
    assert isinstance(error, StarletteHTTPException)
    title = HTTPStatus(error.status_code).phrase.replace(" ", "")
    # The router's own headers stay: `Allow` on a 405 (FastAPI names the methods of the last route that
    # matched the path; several routes serving one path are not all named yet).
    return problem(error.status_code, title, str(error.detail), dict(error.headers or {}))
