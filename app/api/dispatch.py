"""One port, three protocols, one authentication step in front of them all.

- Every request but the open ones (`/healthz`, the API documents, the job credentials endpoint with its own
  bearer token) is authenticated at the edge (`app.api.edge`), which answers refusals in the protocol of
  the request's surface; handlers only ever see authenticated requests, whose caller is in
  `request.state.caller`.
- Requests signed for `s3` go to the S3 API (see `app.api.s3.detect` and `app.api.edge.surfaces`).
- The web console (`/console`) skips the SigV4 edge: its routes authenticate their session cookie.
- STS and IAM calls (`POST /` with a form body, the Query protocol) go to `app.api.query`'s endpoint.
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
from app.api.edge.gate import Edge
from app.api.edge.surfaces import Surface, classify
from app.api.query import protocol as query_protocol


class SageliteApp(FastAPI):
    """FastAPI, with the edge and the two protocol dispatches in front of its middleware stack."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._aws = request_response(protocol.endpoint)
        self._query = request_response(query_protocol.endpoint)
        self._entry: ASGIApp = self._dispatch
        self.edge = Edge()

    def add_edge_middleware(self, wrap: Callable[[ASGIApp], ASGIApp]) -> None:
        """Put `wrap(inner)` in front of every surface; the last one added sees requests first."""
        self._entry = wrap(self._entry)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await last_resort.guarded(self._entry, scope, receive, send)

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        scope["app"] = self
        surface = classify(scope)
        target = self._target(surface)
        if surface in (Surface.OPEN, Surface.CONSOLE):  # the console checks its own session cookie
            await target(scope, receive, send)
        else:
            await self.edge(scope, receive, send, surface=surface, services=self.state.services, app=target)

    def _target(self, surface: Surface) -> ASGIApp:
        if surface is Surface.S3:
            s3: ASGIApp = self.state.s3
            return s3
        if surface is Surface.AWS_JSON:
            return self._aws
        if surface is Surface.AWS_QUERY:
            return self._query
        return super().__call__
