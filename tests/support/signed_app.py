"""The real app over idle services (root key `test` / `test`), for tests that sign as several keys."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi.testclient import TestClient

from app.client.auth import SigV4Auth
from app.client.sigv4 import Credentials
from app.config import Settings
from app.db import migrate
from app.main import create_app
from app.services import Services, build


@contextmanager
def signed_app(settings: Settings) -> Iterator[tuple[TestClient, Services]]:
    """A TestClient that signs nothing by itself: each request names its key with `auth=signed_as(...)`."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(settings.resolved_database_url)
    services = build(settings)
    try:
        with TestClient(create_app(settings, services=services)) as client:
            yield client, services
    finally:
        services.close()


def signed_as(access_key_id: str, secret_access_key: str) -> SigV4Auth:
    """Signs requests (SigV4, `sagemaker`, us-east-1) with this key."""
    return SigV4Auth(Credentials(access_key_id, secret_access_key))
