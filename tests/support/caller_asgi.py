"""TEMPORARY, until the edge verifies SigV4: an ASGI wrapper that sets `request.state.caller`.

It takes the access key id from the `Credential=` of the Authorization header and looks it up through
the services' `KeyLookup`, without checking the signature: enough to drive the routes that take a
`CallerDep` as a signed client would. Unknown keys and unsigned requests get no caller. Delete this
module once the edge sets the caller for every request.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi.testclient import TestClient
from starlette.types import ASGIApp, Receive, Scope, Send

from app.config import Settings
from app.db import migrate
from app.main import create_app
from app.services import Services, build

_CREDENTIAL = re.compile(rb"Credential=([^/,\s]+)/")


class CallerFromCredential:
    def __init__(self, app: ASGIApp, services: Services) -> None:
        self.app = app
        self.services = services

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            authorization = dict(scope["headers"]).get(b"authorization", b"")
            found = _CREDENTIAL.search(authorization)
            record = self.services.identities.lookup(found.group(1).decode()) if found else None
            if record is not None:
                scope.setdefault("state", {})["caller"] = record.caller
        await self.app(scope, receive, send)


@contextmanager
def app_with_callers(settings: Settings) -> Iterator[tuple[TestClient, Services]]:
    """The real app over idle services (root key `test` / `test`), behind `CallerFromCredential`."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(settings.resolved_database_url)
    services = build(settings)
    try:
        wrapped = CallerFromCredential(create_app(settings, services=services), services)
        with TestClient(wrapped) as client:
            yield client, services
    finally:
        services.close()


def signed_as(access_key_id: str) -> dict[str, str]:
    """An Authorization header naming the key (its signature is not checked here)."""
    credential = f"{access_key_id}/20260101/us-east-1/sagemaker/aws4_request"
    return {"Authorization": f"AWS4-HMAC-SHA256 Credential={credential}, SignedHeaders=host, Signature=0"}
