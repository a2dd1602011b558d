"""One port, three protocols, one authentication step in front of them all.

- Every request but the open ones (`/healthz`, the API documents) is authenticated at the edge
  (`app.api.edge`), which answers refusals in the protocol of the request's surface; handlers only ever
  see authenticated requests, whose caller is in `request.state.caller`.
- Requests signed for `s3` (and unsigned ones addressing a bucket) go to the S3 API (see
  `app.api.s3.detect` and `app.api.edge.classify`).
- SageMaker's JSON calls (`POST /`) go straight to their endpoint, past FastAPI's routing and
  middleware they do not need: the endpoint renders every error itself, in AWS's form.
- Everything else (REST, docs) is the FastAPI application.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from starlette.routing import request_response
from starlette.types import ASGIApp, Receive, Scope, Send

from app.api.aws import protocol
from app.api.edge.gate import Edge
from app.api.edge.surfaces import Surface, classify
from app.api.edge.interim_sigv4 import KeyLookup, RootKey
from app.config import Settings


class SageliteApp(FastAPI):
    """FastAPI, with the edge and the two protocol dispatches in front of its middleware stack."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._aws = request_response(protocol.endpoint)
        self.edge = Edge()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        scope["app"] = self
        surface = classify(scope)
        if surface is not Surface.OPEN:
            admitted = await self.edge.admit(scope, receive, send, surface=surface, keys=self._keys())
            if admitted is None:
                return
            receive = admitted.receive
        if surface is Surface.S3:
            s3: ASGIApp = self.state.s3
            await s3(scope, receive, send)
        elif surface is Surface.AWS_JSON:
            await self._aws(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)

    def _keys(self) -> KeyLookup:
        keys: KeyLookup | None = getattr(self.state, "keys", None)
        if keys is None:
            settings: Settings = self.state.settings
            secret = settings.root_secret_access_key
            keys = RootKey(
                access_key_id=settings.root_access_key_id or "test",
                secret_access_key=secret.get_secret_value() if secret else "test",
                account_id=settings.account_id,
            )
            self.state.keys = keys
        return keys
