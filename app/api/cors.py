"""Cross-origin requests from browsers: none by default; the exact origins `SAGELITE_CORS_ORIGINS` lists.

Without origins, nothing is installed and no response ever carries an `Access-Control-*` header, so a
web page cannot read answers from this server, and its preflights fail. With origins, Starlette's
`CORSMiddleware` answers their preflights and marks their responses, on every surface (AWS JSON, S3,
REST): it sits in front of the dispatch, not in FastAPI's stack, which the fast lanes bypass. Requests
from any other origin pass by it untouched (Starlette would add `Access-Control-Allow-Credentials` and
the exposed headers to them too). CORS only lets a page read what the server answers; every request
still needs its own SigV4 signature.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from app.api.dispatch import SageliteApp

METHODS = ("GET", "HEAD", "PUT", "POST", "DELETE")
# What SigV4 clients send: the signature and its inputs, the JSON protocol's target, ranged downloads,
# and the AWS SDK for JavaScript's own bookkeeping headers.
HEADERS = (
    "Authorization",
    "X-Amz-Date",
    "X-Amz-Target",
    "X-Amz-Content-Sha256",
    "X-Amz-Security-Token",
    "X-Amz-User-Agent",
    "Amz-Sdk-Invocation-Id",
    "Amz-Sdk-Request",
    "Content-Type",
    "Range",
)
# What a page may read from the answers: object versions, request ids to quote, the error type, the wait.
EXPOSED = ("ETag", "x-amz-request-id", "x-amz-id-2", "x-amzn-RequestId", "x-amzn-ErrorType", "Retry-After")
PREFLIGHT_MAX_AGE = 600


def install(app: SageliteApp, origins: Sequence[str]) -> None:
    """Allow the listed origins (exact `scheme://host[:port]`, credentials included); none: do nothing."""
    if not origins:
        return
    allowed = frozenset(_checked(origin) for origin in origins)
    app.add_edge_middleware(lambda inner: ListedOriginsOnly(inner, allowed))


class ListedOriginsOnly:
    """CORS for requests from the listed origins; every other request reaches the app as if unconfigured."""

    def __init__(self, app: ASGIApp, origins: frozenset[str]) -> None:
        self._app = app
        self._origins = origins
        self._cors = CORSMiddleware(
            app,
            allow_origins=sorted(origins),
            allow_methods=METHODS,
            allow_headers=HEADERS,
            allow_credentials=True,
            expose_headers=EXPOSED,
            max_age=PREFLIGHT_MAX_AGE,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _origin(scope) in self._origins:
            await self._cors(scope, receive, send)
        else:
            await self._app(scope, receive, send)


def _origin(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"origin":
            return bytes(value).decode("latin-1")
    return None


def _checked(origin: str) -> str:
    # Browsers send `scheme://host[:port]` exactly; anything else (a trailing slash, a path, `*`) would
    # never match, or, for `*`, would hand every site the user's credentials.
    parts = urlsplit(origin)
    if (
        parts.scheme not in ("http", "https")
        or not parts.netloc
        or origin != f"{parts.scheme}://{parts.netloc}"
    ):
        raise ValueError(f"CORS origin {origin!r} is not of the form scheme://host[:port]")
    return origin
