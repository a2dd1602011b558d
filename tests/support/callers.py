"""TEMPORARY: callers for API tests until the edge verifies signatures (then real signed requests
replace this module). `AsCaller` puts a fixed `Caller` where the edge will put the verified one
(`request.state.caller`), so tests through the ASGI app can act as different accounts.
"""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from starlette.types import ASGIApp, Receive, Scope, Send

from app.auth.caller import Caller

DEFAULT_ACCOUNT = "123456789012"
OTHER_ACCOUNT = "210987654321"

# The default account's root key (an admin, as the bootstrap key is), a plain user of the same account,
# and the first user of a second account.
ROOT = Caller(account_id=DEFAULT_ACCOUNT, access_key_id="AKIAROOTTESTKEY00001", is_admin=True)
USER = Caller(account_id=DEFAULT_ACCOUNT, access_key_id="AKIAUSERTESTKEY00001")
OTHER = Caller(account_id=OTHER_ACCOUNT, access_key_id="AKIAOTHERTESTKEY0001")


def role_arn(caller: Caller) -> str:
    """A role of the caller's account, which its jobs may pass (RoleArn)."""
    return f"arn:aws:iam::{caller.account_id}:role/SageMakerRole"


class AsCaller:
    """The app, with every HTTP request made as `caller`; anything else (lifespan, `state`) passes."""

    def __init__(self, app: ASGIApp, caller: Caller) -> None:
        self.app = app
        self.caller = caller

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope = {**scope, "state": {**scope.get("state", {}), "caller": self.caller}}
        await self.app(scope, receive, send)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.app, name)


def client_as(api: TestClient, caller: Caller) -> TestClient:
    """Another client of the app `api` drives (its lifespan already running), acting as `caller`."""
    inner = api.app.app if isinstance(api.app, AsCaller) else api.app
    return TestClient(AsCaller(inner, caller), base_url=str(api.base_url))
