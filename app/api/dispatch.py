"""One port, two protocols: requests signed for `s3` go to the S3 API, everything else to the app.

See `app.api.s3.detect` for the rule. The S3 app is built in the lifespan, once the store exists.
"""

from __future__ import annotations

from starlette.datastructures import State
from starlette.types import ASGIApp, Receive, Scope, Send

from app.api.s3 import is_s3_request


class S3Dispatch:
    def __init__(self, app: ASGIApp, *, state: State) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if is_s3_request(scope):
            s3: ASGIApp = self.state.s3
            await s3(scope, receive, send)
            return
        await self.app(scope, receive, send)
