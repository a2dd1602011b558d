"""One port, two protocols, and a fast lane for the hot one.

- Requests signed for `s3` go to the S3 API (see `app.api.s3.detect` for the rule).
- SageMaker's JSON calls (`POST /`) go straight to their endpoint, past FastAPI's routing and
  middleware they do not need: the endpoint renders every error itself, in AWS's form.
- Everything else (REST, docs) is the FastAPI application.

Middleware that must see every surface (CORS) goes in front of this dispatch: `add_edge_middleware`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from starlette.routing import request_response
from starlette.types import ASGIApp, Receive, Scope, Send

from app.api import last_resort
from app.api.aws import protocol
from app.api.s3 import is_s3_request


class SageliteApp(FastAPI):
    """FastAPI, with the two protocol dispatches in front of its middleware stack."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._aws = request_response(protocol.endpoint)
        self._entry: ASGIApp = self._dispatch

    def add_edge_middleware(self, wrap: Callable[[ASGIApp], ASGIApp]) -> None:
        """Put `wrap(inner)` in front of every surface; the last one added sees requests first."""
        self._entry = wrap(self._entry)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await last_resort.guarded(self._entry, scope, receive, send)

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            if is_s3_request(scope):
                s3: ASGIApp = self.state.s3
                await s3(scope, receive, send)
                return
            if scope["path"] == "/" and scope["method"] == "POST":
                scope["app"] = self
                await self._aws(scope, receive, send)
                return
        await super().__call__(scope, receive, send)
