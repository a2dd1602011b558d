"""schemathesis over every REST operation of our own OpenAPI document: no operation answers 5xx. (Full
conformance, with all of schemathesis' checks, waits for typed response models and documented statuses:
issue 12.) Requests are signed (root key); the fake executor
sits behind the create routes, so no VM really starts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from starlette.types import ASGIApp, Receive, Scope, Send

from app.config import Settings
from app.db import migrate
from app.main import create_app
from app.runtime.fake_executor import FakeExecutor
from app.services import build
from tests.support.signing import signing_app

# Enough to reach every status each operation documents, within about a minute on two cores.
EXAMPLES_PER_OPERATION = 30


class ServedApp:
    """The app under test, created by the module's fixture once its data directory exists; the schema is
    loaded at import (pytest parametrizes from it), from an app that serves the same document."""

    def __init__(self) -> None:
        self.app: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.app is None:
            raise RuntimeError("the fuzzed app is served only inside the module's fixture")
        await self.app(scope, receive, send)


SERVED = ServedApp()
# create_app touches no disk: this one only answers /openapi.json.
schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(Settings(data_dir=Path("unused"))))
schema.app = signing_app(SERVED)


@pytest.fixture(scope="module", autouse=True)
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    data_dir: Path = tmp_path_factory.mktemp("fuzz") / "data"
    data_dir.mkdir(parents=True)
    config = Settings(data_dir=data_dir)
    migrate.upgrade(config.resolved_database_url)
    services = build(config, executor=FakeExecutor())
    services.start()  # a live scheduler: /healthz is healthy, and created jobs run on the fake executor
    app = create_app(config, services=services)
    try:
        with TestClient(app):  # runs the lifespan: the S3 app is attached
            SERVED.app = app
            yield
    finally:
        SERVED.app = None
        services.close()


# Whatever the document says, no input may make any operation answer 5xx: this one must pass today.
@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_rest_operation_answers_a_server_error(case: schemathesis.Case) -> None:
    case.call_and_validate(checks=[not_a_server_error])
