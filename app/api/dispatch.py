"""One port, two protocols: requests signed for `s3` go to the S3 API, everything else to the app.

See `app.api.s3.detect` for the rule. The S3 app is built in the lifespan, once the store exists.
SageMaker's JSON calls (`POST /` with `X-Amz-Target`) are the hot path: they go straight to their
endpoint, past routing and exception middleware they do not need (the endpoint renders its own errors).
"""

from __future__ import annotations

from starlette.datastructures import State
from starlette.routing import request_response
from starlette.types import ASGIApp, Receive, Scope, Send

from app.api.aws import protocol
from app.api.s3 import is_s3_request


class S3Dispatch:
    def __init__(self, app: ASGIApp, *, state: State) -> None:
        self.app = app
        self.state = state
        self._aws = request_response(protocol.endpoint)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if is_s3_request(scope):
            s3: ASGIApp = self.state.s3
            await s3(scope, receive, send)
            return
        if scope["type"] == "http" and scope["path"] == "/" and scope["method"] == "POST":
            await self._aws(scope, receive, send)
            return
        await self.app(scope, receive, send)
